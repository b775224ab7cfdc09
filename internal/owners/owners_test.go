package owners

import (
	"os/user"
	"strconv"
	"testing"
)

// Names are those of the system's databases, "" for an id without one; the
// cache stays bounded however many ids an attacker makes files with.
func TestNames(t *testing.T) {
	n := New()
	if got := n.User(0); got != "root" {
		t.Errorf("User(0) = %q, want root", got)
	}
	if g, err := user.LookupGroupId("0"); err == nil && n.Group(0) != g.Name {
		t.Errorf("Group(0) = %q, want %q", n.Group(0), g.Name)
	}
	const unknown = 3999999999
	if _, err := user.LookupId(strconv.Itoa(unknown)); err == nil {
		t.Skip("uid 3999999999 exists here")
	}
	if got := n.User(unknown); got != "" {
		t.Errorf("User(%d) = %q, want empty", uint32(unknown), got)
	}
	for id := uint32(100000); id < 110000; id++ {
		n.User(id)
	}
	if len(n.users) > 4097 {
		t.Errorf("the cache holds %d names after 10,000 ids", len(n.users))
	}
}
