package baseline

import (
	"strings"
	"testing"
	"time"
)

// An announced hash accepts its file once, with that content, in time; it
// survives a restart, used up or not, whatever bytes the path holds.
func TestApprovals(t *testing.T) {
	b := openTest(t)
	good, odd, late := "/srv/www/release.php", "/srv/www/r\xff\xfelease.php", "/srv/www/late.php"
	sum := strings.Repeat("ab", 32)
	b.Announce(map[string]string{good: sum, odd: sum}, time.Hour)
	b.Announce(map[string]string{late: sum}, time.Minute)
	if b.ConsumeApproval(good, strings.Repeat("cd", 32)) {
		t.Error("another content was accepted")
	}
	if !b.ConsumeApproval(good, sum) {
		t.Error("the announced content was not accepted")
	}
	if b.ConsumeApproval(good, sum) {
		t.Error("an announcement was used twice")
	}
	b.Save()
	b.reopen()
	if b.ConsumeApproval(good, sum) {
		t.Error("an announcement used before the restart was used again")
	}
	b.clock.advance(2 * time.Minute)
	if b.ConsumeApproval(late, sum) {
		t.Error("an announcement past its time was used")
	}
	if !b.ConsumeApproval(odd, sum) {
		t.Errorf("the announcement of %q was lost across the restart", odd)
	}
}
