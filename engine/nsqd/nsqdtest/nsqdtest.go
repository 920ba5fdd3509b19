// Package nsqdtest starts our nsqd in-process for tests: on 127.0.0.1
// ports from :0, broadcasting 127.0.0.1, on a fresh data path, its log
// discarded (set NSQD_TEST_LOG=1 to see it on stderr).
package nsqdtest

import (
	"io"
	"os"
	"testing"

	"github.com/nsqfast/nsq/engine/nsqd"
)

// Options returns the options Start uses when given none: a fresh
// t.TempDir data path, ports from :0 on 127.0.0.1.
func Options(t testing.TB) *nsqd.Options {
	o := nsqd.NewOptions()
	o.TCPAddress, o.HTTPAddress, o.BroadcastAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1"
	o.DataPath = t.TempDir()
	o.LogOutput = io.Discard
	if os.Getenv("NSQD_TEST_LOG") != "" {
		o.LogOutput = os.Stderr
	}
	return o
}

// Run creates and starts an nsqd with o; on failure nothing is left
// running. The caller stops it with Exit.
func Run(o *nsqd.Options) (*nsqd.NSQD, error) {
	n, err := nsqd.New(o)
	if err != nil {
		return nil, err
	}
	if err := n.Main(); err != nil {
		n.Exit()
		return nil, err
	}
	return n, nil
}

// Start runs an nsqd with o (Options(t) when nil) and stops it when the
// test ends.
func Start(t testing.TB, o *nsqd.Options) *nsqd.NSQD {
	t.Helper()
	if o == nil {
		o = Options(t)
	}
	n, err := Run(o)
	if err != nil {
		t.Fatalf("starting nsqd: %v", err)
	}
	t.Cleanup(n.Exit)
	return n
}
