// Package owners names the owners of files: uid and gid to user and group
// names, cached, so that a flood of files by one owner is not a flood of
// NSS lookups, and bounded, since the ids are the attacker's to choose.
package owners

import (
	"os/user"
	"strconv"
	"sync"
)

// Names caches uid and gid lookups: a flood of files by one owner must
// not mean a flood of NSS lookups.
type Names struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

// New returns an empty cache.
func New() *Names {
	return &Names{users: map[uint32]string{}, groups: map[uint32]string{}}
}

// User is the name of uid, "" when it has none.
func (o *Names) User(uid uint32) string {
	return o.lookup(o.users, uid, func(id string) string {
		if u, err := user.LookupId(id); err == nil {
			return u.Username
		}
		return ""
	})
}

// Group is the name of gid, "" when it has none.
func (o *Names) Group(gid uint32) string {
	return o.lookup(o.groups, gid, func(id string) string {
		if g, err := user.LookupGroupId(id); err == nil {
			return g.Name
		}
		return ""
	})
}

func (o *Names) lookup(cache map[uint32]string, id uint32, find func(string) string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if name, ok := cache[id]; ok {
		return name
	}
	if len(cache) > 4096 {
		clear(cache) // attacker-chosen ids must not grow it without bound
	}
	name := find(strconv.FormatUint(uint64(id), 10))
	cache[id] = name
	return name
}
