package procstatus

import (
	"os"
	"testing"
)

func TestRead(t *testing.T) {
	self, err := Read(0)
	if err != nil {
		t.Fatal(err)
	}
	if self.RSS <= 0 || self.HWM < self.RSS || self.Anon <= 0 || self.Anon > self.RSS {
		t.Errorf("Read(0) = %+v: want 0 < RssAnon <= VmRSS <= VmHWM", self)
	}
	byPid, err := Read(os.Getpid())
	if err != nil || byPid.RSS <= 0 {
		t.Errorf("Read(own pid) = %+v, %v", byPid, err)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Error("Read of a pid that cannot exist: no error")
	}
}
