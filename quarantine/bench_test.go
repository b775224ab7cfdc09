package quarantine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkMove measures one quarantine of a small webshell on the same
// filesystem as the vault (rename, copy of the scanned bytes, fsyncs,
// metadata): the time between the decision and the alert.
func BenchmarkMove(b *testing.B) {
	v, err := Open(filepath.Join(b.TempDir(), "quarantine"))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	root := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(root, fmt.Sprintf("%d.php", i))
		i++
		if err := os.WriteFile(path, []byte(shell), 0o644); err != nil {
			b.Fatal(err)
		}
		req := scanned(b, path, shell)
		b.StartTimer()
		if _, err := v.Move(req); err != nil {
			b.Fatal(err)
		}
	}
}
