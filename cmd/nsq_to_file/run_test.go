package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.StartTool(t, run, args...)
}

// lines splits file contents into lines, all files together, sorted.
func allLines(fs map[string]string) []string {
	var out []string
	for _, c := range fs {
		out = append(out, strings.Split(strings.TrimSuffix(c, "\n"), "\n")...)
	}
	slices.Sort(out)
	return out
}

// gzip and rotation by size: every message is in exactly one file, each
// file but the last of a name holds just over --rotate-size bytes, and
// nothing is acknowledged before it is on disk.
func TestGzipRotateSize(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	out := t.TempDir()
	bodies := tooltest.Bodies("message-", 3000) // 10-14 bytes each
	tooltest.Publish(t, tcp, "events", bodies)

	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=events", "--output-dir="+out,
		"--gzip", "--gzip-level=1", "--rotate-size=4000", "--sync-interval=20ms",
		"--host-identifier=testhost", "--datetime-format=fixed", "--max-in-flight=100")
	tooltest.WaitFor(t, "every message acknowledged", func() bool {
		return tooltest.Drained(t, http, "events", "nsq_to_file", 3000)
	})
	r.Stop(t)

	fs := tooltest.ReadFiles(t, out)
	names := keys(fs)
	if len(names) < 8 {
		t.Fatalf("%d files: %v", len(names), names)
	}
	for i, name := range names {
		if want := "events.testhost" + revision(uint(i)) + ".fixed.log.gz"; name != want {
			t.Fatalf("file %d is %s, want %s", i, name, want)
		}
		size := len(fs[name])
		if i < len(names)-1 && (size <= 4000 || size > 4000+15) {
			t.Errorf("%s holds %d bytes", name, size)
		}
	}
	if got := allLines(fs); !slices.Equal(got, tooltest.Strings(bodies)) {
		t.Fatalf("%d lines read back, want %d (or not the same)", len(got), len(bodies))
	}
}

// Rotation by time through a work directory; SIGHUP closes (and moves) the
// file; topics come from nsqlookupd, filtered by --topic-pattern.
func TestWorkDirIntervalHupAndDiscovery(t *testing.T) {
	l := tooltest.StartLookupd(t)
	lh := l.HTTPAddr().String()
	n := tooltest.StartNSQD(t, l.TCPAddr().String())
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	work, out := t.TempDir(), t.TempDir()

	tooltest.Publish(t, tcp, "logs.a", tooltest.Bodies("a1-", 100))
	tooltest.Publish(t, tcp, "other", tooltest.Bodies("o-", 10))
	tooltest.WaitFor(t, "topics registered", func() bool {
		return tooltest.Producers(t, lh, "logs.a") == 1 && tooltest.Producers(t, lh, "other") == 1
	})

	r := start(t, "--lookupd-http-address="+lh, "--topic-pattern=^logs\\.", "--topic-refresh=20ms",
		"--work-dir="+work, "--output-dir="+out, "--filename-format=<TOPIC>/<HOST><REV>.<DATETIME>.log",
		"--host-identifier=h", "--datetime-format=d", "--sync-interval=20ms", "--rotate-interval=1h",
		"--channel=archive")
	tooltest.WaitFor(t, "logs.a acknowledged", func() bool { return tooltest.Drained(t, http, "logs.a", "archive", 100) })

	// SIGHUP: the file is closed and moved to the output directory.
	r.Signal(syscall.SIGHUP)
	tooltest.WaitFor(t, "the first file moved out", func() bool { return len(tooltest.ReadFiles(t, out)) == 1 })

	// A topic that appears later is found; the first topic's next
	// messages go to the next revision.
	tooltest.Publish(t, tcp, "logs.b", tooltest.Bodies("b-", 30))
	tooltest.Publish(t, tcp, "logs.a", tooltest.Bodies("a2-", 50))
	tooltest.WaitFor(t, "logs.b acknowledged", func() bool { return tooltest.Drained(t, http, "logs.b", "archive", 30) })
	tooltest.WaitFor(t, "logs.a acknowledged", func() bool { return tooltest.Drained(t, http, "logs.a", "archive", 150) })
	r.Stop(t)

	if w := tooltest.ReadFiles(t, work); len(w) != 0 {
		t.Fatalf("left in the work dir: %v", keys(w))
	}
	got := tooltest.ReadFiles(t, out)
	want := map[string][][]byte{
		"logs.a/h-000000.d.log": tooltest.Bodies("a1-", 100),
		"logs.a/h-000001.d.log": tooltest.Bodies("a2-", 50),
		"logs.b/h-000000.d.log": tooltest.Bodies("b-", 30),
	}
	if !slices.Equal(keys(got), []string{"logs.a/h-000000.d.log", "logs.a/h-000001.d.log", "logs.b/h-000000.d.log"}) {
		t.Fatalf("files %v", keys(got))
	}
	for name, bodies := range want {
		if lines := allLines(map[string]string{name: got[name]}); !slices.Equal(lines, tooltest.Strings(bodies)) {
			t.Errorf("%s: %d lines, want %d", name, len(lines), len(bodies))
		}
	}
	if _, ok := tooltest.Channel(t, http, "other", "archive"); ok {
		t.Errorf("topic other, not matching the pattern, was read")
	}
	if !strings.Contains(r.Stderr.String(), "WARNING: skipping topic other (doesn't match pattern ^logs\\.)") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// Rotation by --rotate-interval: after it, the next sync tick opens the
// next file (without --skip-empty-files, even with nothing to write).
func TestRotateInterval(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	out := t.TempDir()
	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=t", "--output-dir="+out, "--rotate-interval=30ms",
		"--sync-interval=10ms", "--datetime-format=d", "--host-identifier=h")
	total := 0
	for batch := range 3 {
		before := len(tooltest.ReadFiles(t, out))
		tooltest.Publish(t, tcp, "t", tooltest.Bodies(string(rune('a'+batch)), 20))
		total += 20
		tooltest.WaitFor(t, "batch acknowledged", func() bool { return tooltest.Drained(t, http, "t", "nsq_to_file", uint64(total)) })
		tooltest.WaitFor(t, "a new file", func() bool { return len(tooltest.ReadFiles(t, out)) > before })
	}
	r.Stop(t)
	fs := tooltest.ReadFiles(t, out)
	if len(fs) < 3 {
		t.Fatalf("%d files", len(fs))
	}
	if got := allLines(fs); len(slices.DeleteFunc(got, func(s string) bool { return s == "" })) != 60 {
		t.Fatalf("%d lines", len(got))
	}
}

func TestCommandLine(t *testing.T) {
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, a...) }, []tooltest.Case{
		{Args: []string{"--topic=t"}, Code: 1, Stderr: "--nsqd-tcp-address or --lookupd-http-address required"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--gzip-level=10"}, Code: 1, Stderr: "invalid --gzip-level value (10), should be 1-9"},
		{Args: []string{"--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--topic or --topic-pattern required"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic-pattern=x"}, Code: 1, Stderr: "--lookupd-http-address must be specified when no --topic specified"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "--gzip", "--filename-format=<TOPIC>.log"}, Code: 1, Stderr: "missing <REV> in --filename-format"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "--channel="}, Code: 1, Stderr: "--channel is required"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "--log-level=loud"}, Code: 1, Stderr: "--log-level is invalid"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "--consumer-opt=nope,1"}, Code: 1, Stderr: "invalid --consumer-opt"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "--topic-pattern=("}, Code: 1, Stderr: "--topic-pattern is invalid"},
		{Args: []string{"--nsqd-tcp-address=a:1", "--topic=t", "extra"}, Code: 1, Stderr: "unknown arguments: [extra]"},
		{Args: []string{"--rotate-size=x"}, Code: 2, Stderr: "invalid value"},
		{Args: []string{"--version"}, Code: 0, Stdout: "nsq_to_file v1.3.0\n"},
	})
}

// A write that fails is fatal: exit status 1, nothing acknowledged that
// is not on disk.
func TestWriteFailureIsFatal(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	out := filepath.Join(t.TempDir(), "file-not-dir")
	os.WriteFile(out, nil, 0o644)
	tooltest.Publish(t, tcp, "t", tooltest.Bodies("x", 5))
	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=t", "--output-dir="+out)
	if code := r.Wait(t); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(r.Stderr.String(), "FATAL: [t/nsq_to_file] unable to create dir") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	tooltest.WaitFor(t, "5 messages back in the channel", func() bool {
		c, ok := tooltest.Channel(t, http, "t", "nsq_to_file")
		return ok && c.Depth == 5 && c.InFlightCount == 0
	})
}
