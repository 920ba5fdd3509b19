// Package benchtest helps the bench packages' tests run scenarios against
// our nsqd in-process.
package benchtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
)

// OurNSQD returns a suite.Broker Start function: each call starts a fresh
// in-process nsqd (its own data path, ports from :0); the stop function
// it returns stops it.
func OurNSQD(t testing.TB) func(ctx context.Context) (broker.Target, func() error, error) {
	return func(ctx context.Context) (broker.Target, func() error, error) {
		n, err := nsqdtest.Run(nsqdtest.Options(t))
		if err != nil {
			return nil, nil, err
		}
		return broker.Remote{TCP: n.TCPAddr().String(), HTTP: n.HTTPAddr().String()}, func() error { n.Exit(); return nil }, nil
	}
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// NSQDBinary builds cmd/nsqd once per test binary (without the race
// detector: it runs as its own process) and returns its path. It skips
// under -short. A package that calls it removes the binary with
// RemoveBinaries from its TestMain.
func NSQDBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the nsqd binary")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "nsq-bench-test-")
		if buildErr != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command(gobin, "build", "-o", filepath.Join(binDir, "nsqd"), "github.com/nsqfast/nsq/cmd/nsqd")
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building cmd/nsqd: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(binDir, "nsqd")
}

// RemoveBinaries removes what NSQDBinary built.
func RemoveBinaries() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}
