package app

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type level int

func (l *level) Set(s string) error {
	switch s {
	case "debug":
		*l = 1
	case "info":
		*l = 2
	default:
		return os.ErrInvalid
	}
	return nil
}
func (l *level) String() string { return "" }

type opts struct {
	Addr    string        `flag:"tcp-address" cfg:"tcp_address"`
	Timeout time.Duration `flag:"sync-timeout"`
	Every   int64         `flag:"sync-every"`
	On      bool          `flag:"snappy"`
	Lookups []string      `flag:"lookupd" cfg:"lookupds"`
	Pcts    []float64     `flag:"pct"`
	Level   level         `flag:"log-level"`
	Hidden  int
}

func TestParseConfigAndFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.cfg")
	_ = os.WriteFile(file, []byte(`tcp_address = "1.2.3.4:1"
sync_timeout = 1500
sync_every = "7"
snappy = 0
lookupds = "a:1, b:2"
pct = [0.5, 1]
log_level = "debug"
unknown_key = 3
`), 0o644)
	var o opts
	var cfg string
	var version bool
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.StringVar(&cfg, "config", "", "")
	fs.BoolVar(&version, "version", false, "")
	fs.StringVar(&o.Addr, "tcp-address", "", "")
	fs.Var(&o.Level, "log-level", "")
	if err := Parse(fs, []string{"--config=" + file, "--tcp-address=flag:2"}, &cfg, &version, &o, "log_level"); err != nil {
		t.Fatal(err)
	}
	if o.Addr != "flag:2" || o.Timeout != 1500*time.Millisecond || o.Every != 7 || !o.On ||
		strings.Join(o.Lookups, "|") != "a:1|b:2" || len(o.Pcts) != 2 || o.Level != 1 {
		t.Fatalf("%+v", o)
	}
	// A checked key is validated even when the flag overrides it.
	_ = os.WriteFile(file, []byte(`log_level = "loud"`), 0o644)
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	fs2.StringVar(&cfg, "config", "", "")
	fs2.BoolVar(&version, "version", false, "")
	fs2.Var(&o.Level, "log-level", "")
	err := Parse(fs2, []string{"--config=" + file, "--log-level=info"}, &cfg, &version, &o, "log_level")
	if err == nil || err.Error() != "failed parsing log_level loud" {
		t.Fatalf("got %v", err)
	}
}

type fakeDaemon struct{}

func (*fakeDaemon) Main() error { return nil }
func (*fakeDaemon) Exit()       {}

// TestNewDaemonNoTypedNil: a constructor that fails with a typed nil gives
// Process.New a nil Daemon, and one that succeeds gives its daemon.
func TestNewDaemonNoTypedNil(t *testing.T) {
	failing := NewDaemon(func() (*fakeDaemon, error) { return nil, errors.New("bad options") })
	if d, err := failing(); d != nil || err == nil {
		t.Fatalf("failing constructor: %v, %v; want a nil Daemon and the error", d, err)
	}
	want := &fakeDaemon{}
	if d, err := NewDaemon(func() (*fakeDaemon, error) { return want, nil })(); d != Daemon(want) || err != nil {
		t.Fatalf("constructor: %v, %v", d, err)
	}
}
