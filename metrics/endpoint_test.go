package metrics

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func serves(addr string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// A reload's move to another address binds it first: an address in use
// fails the move and the old server keeps serving; an aborted move lets
// its new address go; a committed one stops the old server.
func TestEndpointMoves(t *testing.T) {
	e := NewEndpoint(New(Options{Version: "test", Started: time.Now()}), slog.New(slog.DiscardHandler))
	first := freeAddr(t)
	if err := e.Start(Address{Addr: first, Loopback: true}); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if !serves(first) {
		t.Fatal("not serving on the start address")
	}
	same, err := e.Prepare(Address{Addr: first, Loopback: true})
	if err != nil {
		t.Fatalf("preparing the address served now: %v", err)
	}
	same.Commit()
	if !serves(first) {
		t.Fatal("a move to the same address stopped the server")
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := e.Prepare(Address{Addr: busy.Addr().String(), Loopback: true}); err == nil {
		t.Fatal("a move to an address in use did not fail")
	}
	if !serves(first) {
		t.Fatal("a failed move stopped the old server")
	}

	second := freeAddr(t)
	mv, err := e.Prepare(Address{Addr: second, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if !serves(second) || !serves(first) {
		t.Fatal("a prepared move does not serve on both addresses")
	}
	mv.Abort()
	if serves(second) || !serves(first) {
		t.Fatal("an aborted move kept its new address, or lost the old one")
	}

	third := freeAddr(t)
	mv, err = e.Prepare(Address{Addr: third, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	mv.Commit()
	if serves(first) || !serves(third) {
		t.Fatal("a committed move did not move")
	}
}
