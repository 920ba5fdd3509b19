// Package apptest holds the checks that nsqd's, nsqlookupd's and
// nsqadmin's command tests share: flags against upstream's list, option
// tags against flags and config keys, config files, and the start, stop
// and bind-failure paths of app.Run.
package apptest

import (
	"bytes"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/app"
)

// Flag is one of upstream's flags: its name, its default as the flag
// package prints it, and whether it takes the boolean syntax.
type Flag struct {
	Name, Def string
	Bool      bool
}

// Run is a command's main without the process (each command's run).
type Run func(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int

// CheckFlags checks that fs has each of upstream's flags with its default
// and kind, and no other flag than ours (name to default). When a default
// is printed differently, sameMeaning (nil: never) may accept it; it is
// given the flag's name and upstream's default.
func CheckFlags(t *testing.T, fs *flag.FlagSet, upstream []Flag, ours map[string]string, sameMeaning func(name, upstreamDef string) error) {
	t.Helper()
	seen := map[string]bool{}
	for _, u := range upstream {
		seen[u.Name] = true
		f := fs.Lookup(u.Name)
		if f == nil {
			t.Errorf("--%s: missing", u.Name)
			continue
		}
		if f.DefValue != u.Def {
			if sameMeaning == nil {
				t.Errorf("--%s: default %q, upstream's is %q", u.Name, f.DefValue, u.Def)
			} else if err := sameMeaning(u.Name, u.Def); err != nil {
				t.Errorf("--%s: default %q, upstream's is %q: %v", u.Name, f.DefValue, u.Def, err)
			}
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		if isBool := ok && b.IsBoolFlag(); isBool != u.Bool {
			t.Errorf("--%s: boolean syntax is %v, upstream's is %v", u.Name, isBool, u.Bool)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if seen[f.Name] {
			return
		}
		def, ok := ours[f.Name]
		switch {
		case !ok:
			t.Errorf("--%s: not an upstream flag", f.Name)
		case f.DefValue != def:
			t.Errorf("--%s: default %q, want %q", f.Name, f.DefValue, def)
		}
	})
}

// CheckConfigKeys checks every field of opts (a pointer to an options
// struct) tagged with a flag: fs has that flag, and the field's config key
// is upstream's, which is the flag's name with '_' for '-' unless keys
// names it. It also checks that n fields are tagged.
func CheckConfigKeys(t *testing.T, opts any, fs *flag.FlagSet, keys map[string]string, n int) {
	t.Helper()
	typ := reflect.TypeOf(opts).Elem()
	tagged := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		tagged++
		if fs.Lookup(name) == nil {
			t.Errorf("%s: no --%s", f.Name, name)
		}
		want := keys[name]
		if want == "" {
			want = strings.ReplaceAll(name, "-", "_")
		}
		if app.ConfigKey(f) != want {
			t.Errorf("%s: config key %q, want %q", f.Name, app.ConfigKey(f), want)
		}
	}
	if tagged != n {
		t.Errorf("%d tagged options, want %d", tagged, n)
	}
}

// WriteConfig writes text to a config file in a temporary directory and
// returns its path.
func WriteConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.cfg")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// CheckRunAndStop runs the command with args and a SIGTERM already
// waiting: it must start, stop and exit 0, its log matching each of logs.
func CheckRunAndStop(t *testing.T, run Run, args []string, logs ...string) {
	t.Helper()
	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGTERM
	var stderr bytes.Buffer
	if code := run(args, io.Discard, &stderr, stop); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, re := range logs {
		if !regexp.MustCompile(re).MatchString(stderr.String()) {
			t.Errorf("log lacks %s:\n%s", re, stderr.String())
		}
	}
}

// CheckBindFailure runs the command with the address flag addrFlag set to
// an address in use (and args): it must exit 1 with upstream's FATAL line,
// which starts with what.
func CheckBindFailure(t *testing.T, run Run, addrFlag, what string, args ...string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	args = append([]string{"--" + addrFlag + "=" + ln.Addr().String()}, args...)
	code := run(args, io.Discard, &stderr, nil)
	if want := "FATAL: " + what + "listen (" + ln.Addr().String() + ") failed - "; code != 1 || !strings.Contains(stderr.String(), want) {
		t.Errorf("exit %d, want 1 and %q: %s", code, want, stderr.String())
	}
}

// ConfigError is a config file's text, more arguments (none when empty),
// and what the error of parsing them must contain.
type ConfigError struct{ Config, Args, Want string }

// CheckConfigErrors parses each case's config file (and arguments) with
// parse, which must fail as the case says.
func CheckConfigErrors(t *testing.T, parse func(args []string) error, cases []ConfigError) {
	t.Helper()
	for _, c := range cases {
		args := []string{"--config=" + WriteConfig(t, c.Config)}
		if c.Args != "" {
			args = append(args, c.Args)
		}
		if err := parse(args); err == nil || !strings.Contains(err.Error(), c.Want) {
			t.Errorf("%s: err %v, want %q", c.Config, err, c.Want)
		}
	}
}

// CheckVersionAndUsage checks --version (upstream's line on stdout, exit
// 0), an unknown flag (exit 2, the flag package's complaint) and -h
// (exit 0) of the command name.
func CheckVersionAndUsage(t *testing.T, run Run, name string) {
	t.Helper()
	var out bytes.Buffer
	if code := run([]string{"--version"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("--version: exit %d", code)
	}
	if want := name + " v1.3.0 (built w/" + runtime.Version() + ")\n"; out.String() != want {
		t.Errorf("--version: %q, want %q", out.String(), want)
	}
	var stderr bytes.Buffer
	if code := run([]string{"--bogus"}, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), "flag provided but not defined: -bogus") {
		t.Errorf("bad flag: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"-h"}, io.Discard, io.Discard, nil); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
