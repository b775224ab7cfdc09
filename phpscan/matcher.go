package phpscan

import "bytes"

// matcher finds every occurrence of a few dozen tokens in a text, without
// regard to ASCII case, in one pass: an Aho-Corasick automaton with its
// whole transition table laid out, over classes of bytes (the bytes the
// tokens hold, letters of either case alike, and one class for the rest).
// Each byte costs two table loads and no branch that depends on the text,
// which is what the prefilter needs: it reads every PHP file that
// reaches the scanner. None of the modules this project may use has one
// (YARA's is behind cgo and reports matches one callback at a time).
type matcher struct {
	class [256]uint8 // byte → class; 0 for bytes no token holds
	width uint32     // number of classes
	// next is the transition table: next[state+class] is the next
	// state, premultiplied by width, with outBit set when tokens end
	// there.
	next []uint32
	outs [][]int32 // by state/width: the tokens that end in that state
	lens []int     // by token: its length
}

const outBit = 1 << 31

// newMatcher builds the automaton for toks (none empty).
func newMatcher(toks [][]byte) *matcher {
	m := &matcher{lens: make([]int, len(toks))}
	lower := make([][]byte, len(toks))
	width := uint32(1)
	for i, t := range toks {
		if len(t) == 0 {
			panic("phpscan: empty matcher token")
		}
		lower[i] = bytes.ToLower(t)
		m.lens[i] = len(t)
		for _, c := range lower[i] {
			if m.class[c] == 0 {
				m.class[c] = uint8(width)
				width++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	m.width = width
	// The trie: child[state*width+class], 0 for none (the root is never
	// a child).
	child := make([]int32, width)
	var outs [][]int32
	outs = append(outs, nil)
	for i, t := range lower {
		s := int32(0)
		for _, c := range t {
			k := int32(width)*s + int32(m.class[c])
			if child[k] == 0 {
				child[k] = int32(len(outs))
				outs = append(outs, nil)
				child = append(child, make([]int32, width)...)
			}
			s = child[k]
		}
		outs[s] = append(outs[s], int32(i))
	}
	// Breadth first: each state's failure state is done before it, so
	// its missing transitions and its outputs are copied from there.
	states := len(outs)
	fail := make([]int32, states)
	m.next = make([]uint32, states*int(width))
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := int32(0); c < int32(width); c++ {
			k := s*int32(width) + c
			if t := child[k]; t != 0 {
				if s != 0 {
					fail[t] = int32(m.next[fail[s]*int32(width)+c] &^ outBit / width)
				}
				outs[t] = append(outs[t], outs[fail[t]]...)
				m.next[k] = uint32(t) * width
				queue = append(queue, t)
			} else if s != 0 {
				m.next[k] = m.next[fail[s]*int32(width)+c] &^ outBit
			}
		}
	}
	for k, v := range m.next {
		if len(outs[v/width]) > 0 {
			m.next[k] = v | outBit
		}
	}
	m.outs = outs
	return m
}

// contains reports whether s holds any of the tokens.
func (m *matcher) contains(s []byte) bool {
	st := uint32(0)
	for _, c := range s {
		st = m.next[st+uint32(m.class[c])]
		if st&outBit != 0 {
			return true
		}
	}
	return false
}
