package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newOut(t *testing.T, mutate func(*Options)) (*outFile, *clock) {
	t.Helper()
	opts := NewOptions()
	opts.OutputDir = t.TempDir()
	opts.DatetimeFormat = "%Y%m%d%H%M"
	if mutate != nil {
		mutate(opts)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = opts.OutputDir
	}
	format, err := filenameFormat(opts, "events", "host.example.com", 42)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	o := &outFile{opts: opts, format: format, tag: "[events/c]", logf: func(logLevel, string, ...any) {}, now: c.now}
	t.Cleanup(func() { o.close() })
	return o, c
}

func mustWrite(t *testing.T, o *outFile, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if o.needsRotation() {
			if err := o.rotate(); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func TestFilenameFormat(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Options)
		want   string
		err    bool
	}{
		{nil, "events.host.<DATETIME>.log", false},
		{func(o *Options) { o.GZIP = true }, "events.host<REV>.<DATETIME>.log.gz", false},
		{func(o *Options) { o.GZIP, o.FilenameFormat = true, "<TOPIC><REV>.gz" }, "events<REV>.gz", false},
		{func(o *Options) { o.RotateSize = 1 }, "events.host<REV>.<DATETIME>.log", false},
		{func(o *Options) { o.RotateInterval = time.Second }, "events.host<REV>.<DATETIME>.log", false},
		{func(o *Options) { o.WorkDir = "/elsewhere" }, "events.host<REV>.<DATETIME>.log", false},
		{func(o *Options) { o.GZIP, o.FilenameFormat = true, "<TOPIC>.log" }, "", true},
		{func(o *Options) { o.RotateSize, o.FilenameFormat = 5, "<TOPIC>.log" }, "", true},
		{func(o *Options) { o.HostIdentifier = "<SHORT_HOST>-<HOSTNAME>-x" }, "events.host-host.example.com-x.<DATETIME>.log", false},
		{func(o *Options) { o.FilenameFormat = "<TOPIC>/<PID>/<HOST>/<DATETIME><REV>" }, "events/42/host/<DATETIME>", false},
	} {
		opts := NewOptions()
		if tc.mutate != nil {
			tc.mutate(opts)
		}
		if opts.WorkDir == "" {
			opts.WorkDir = opts.OutputDir
		}
		got, err := filenameFormat(opts, "events", "host.example.com", 42)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q (error %v)", opts, got, err, tc.want, tc.err)
		}
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 3, 4, 15, 6, 7, 0, time.FixedZone("XYZ", -5*3600))
	for format, want := range map[string]string{
		"%Y-%m-%d_%H":       "2026-03-04_15",
		"%y%m%d %I%p %M:%S": "260304 03PM 06:07",
		"%A %a %B %b":       "Wednesday Wed March Mar",
		"%Z %z":             "XYZ -0500",
		"100%% %q %":        "100% %q %",
		"v2-Jan-2006-15-%H": "v2-Jan-2006-15-15", // literals stay literal
		"":                  "",
	} {
		if got := strftime(format, tm); got != want {
			t.Errorf("strftime(%q) = %q, want %q", format, got, want)
		}
	}
}

// A new filename (the hour, here the minute, changed) starts again at
// revision 0; rotation by size counts revisions up.
func TestRotateByNameAndSize(t *testing.T) {
	o, c := newOut(t, func(o *Options) { o.RotateSize = 10 })
	mustWrite(t, o, "aaaaaa", "bbbbbb", "cc") // 7+7 > 10 after the second
	c.t = c.t.Add(time.Minute)
	mustWrite(t, o, "dd")
	if err := o.close(); err != nil {
		t.Fatal(err)
	}
	got := tooltest.ReadFiles(t, o.opts.OutputDir)
	want := map[string]string{
		"events.host-000000.202603040506.log": "aaaaaa\nbbbbbb\n",
		"events.host-000001.202603040506.log": "cc\n",
		"events.host-000000.202603040507.log": "dd\n",
	}
	if !maps(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Appending (no gzip, no interval): an existing small file is appended
// to, one already over --rotate-size is skipped.
func TestAppendToExisting(t *testing.T) {
	o, _ := newOut(t, func(o *Options) { o.RotateSize = 10 })
	dir := o.opts.OutputDir
	os.WriteFile(filepath.Join(dir, "events.host-000000.202603040506.log"), []byte("0123456789abc\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "events.host-000001.202603040506.log"), []byte("old\n"), 0o644)
	mustWrite(t, o, "new")
	o.close()
	if got := tooltest.ReadFiles(t, dir)["events.host-000001.202603040506.log"]; got != "old\nnew\n" {
		t.Fatalf("appended file: %q", got)
	}
}

// With a work directory, files are moved to the output directory when
// closed, never over an existing file.
func TestWorkDir(t *testing.T) {
	work := t.TempDir()
	o, c := newOut(t, func(o *Options) {
		o.WorkDir = work
		o.RotateInterval = time.Minute
		o.FilenameFormat = "<TOPIC>/<REV>.<DATETIME>"
	})
	out := o.opts.OutputDir
	os.MkdirAll(filepath.Join(out, "events"), 0o755)
	os.WriteFile(filepath.Join(out, "events", "-000000.202603040506"), []byte("taken\n"), 0o644)
	mustWrite(t, o, "one") // skips revision 0, taken in the output dir
	if o.rel != filepath.Join("events", "-000001.202603040506") {
		t.Fatalf("opened %s", o.rel)
	}
	// Revision 1 gets taken in the output dir meanwhile: the move picks 2.
	os.WriteFile(filepath.Join(out, "events", "-000001.202603040506"), []byte("taken too\n"), 0o644)
	c.t = c.t.Add(61 * time.Second) // the interval, and the name
	mustWrite(t, o, "two")
	o.close()
	if w := tooltest.ReadFiles(t, work); len(w) != 0 {
		t.Fatalf("left in the work dir: %v", w)
	}
	want := map[string]string{
		"events/-000000.202603040506": "taken\n",
		"events/-000001.202603040506": "taken too\n",
		"events/-000002.202603040506": "one\n",
		"events/-000000.202603040507": "two\n",
	}
	if got := tooltest.ReadFiles(t, out); !maps(got, want) {
		t.Fatalf("output %v, want %v", got, want)
	}
}

// With gzip every sync ends a member; the file reads back whole.
func TestGzipMembers(t *testing.T) {
	o, _ := newOut(t, func(o *Options) { o.GZIP = true; o.GZIPLevel = 1 })
	mustWrite(t, o, "a", "b")
	if err := o.sync(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, o, "c")
	o.sync()
	o.sync() // nothing written since: no empty member
	name := filepath.Join(o.opts.OutputDir, o.rel)
	o.close()
	b, _ := os.ReadFile(name)
	if got := gzipMembers(t, b); !slices.Equal(got, []string{"a\nb\n", "c\n"}) {
		t.Fatalf("members %q", got)
	}
	if got := tooltest.ReadFiles(t, o.opts.OutputDir); len(got) != 1 || got[keys(got)[0]] != "a\nb\nc\n" {
		t.Fatalf("files %v", got)
	}
}

// gzipMembers is the content of each gzip member of b.
func gzipMembers(t *testing.T, b []byte) []string {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	zr, err := gzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for {
		zr.Multistream(false)
		m, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, string(m))
		if err := zr.Reset(br); err == io.EOF {
			return members
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// The periodic check opens the next file at once, or with
// --skip-empty-files closes the file and opens none.
func TestTick(t *testing.T) {
	for _, skip := range []bool{false, true} {
		o, c := newOut(t, func(o *Options) { o.SkipEmptyFiles = skip })
		if closeNow, err := o.tick(); err != nil || closeNow != skip {
			t.Fatalf("skip %v: tick with no file: %v, %v", skip, closeNow, err)
		}
		if (o.f != nil) == skip {
			t.Fatalf("skip %v: file open %v", skip, o.f != nil)
		}
		mustWrite(t, o, "x")
		if closeNow, _ := o.tick(); closeNow {
			t.Fatalf("skip %v: rotation not due", skip)
		}
		c.t = c.t.Add(time.Hour)
		if closeNow, _ := o.tick(); closeNow != skip {
			t.Fatalf("skip %v: name changed", skip)
		}
		o.close()
		if n := len(tooltest.ReadFiles(t, o.opts.OutputDir)); n != map[bool]int{false: 2, true: 1}[skip] {
			t.Fatalf("skip %v: %d files", skip, n)
		}
	}
}
