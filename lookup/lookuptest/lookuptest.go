// Package lookuptest helps tests that need a running nsqlookupd. (The
// lookup package's own tests cannot import it, and have their own.)
package lookuptest

import (
	"io"
	"testing"
	"time"

	"github.com/nsqfast/nsq/lookup"
)

// Start runs an nsqlookupd with its TCP listener on tcpAddr
// ("127.0.0.1:0" for any port) and HTTP on a port from 127.0.0.1:0,
// broadcasting 127.0.0.1 and logging nowhere; mutate may change the
// options first. It is stopped when the test ends.
func Start(t testing.TB, tcpAddr string, mutate func(*lookup.Options)) *lookup.NSQLookupd {
	t.Helper()
	o := lookup.NewOptions()
	o.TCPAddress, o.HTTPAddress, o.BroadcastAddress = tcpAddr, "127.0.0.1:0", "127.0.0.1"
	o.LogOutput = io.Discard
	if mutate != nil {
		mutate(o)
	}
	l, err := lookup.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Main(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Exit)
	return l
}

// WaitFor polls cond every 10ms until it holds, failing the test after
// 15s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
