package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

// numbered is n lines "<prefix>-0" ... and the input they make.
func numbered(prefix string, n int) ([]string, string) {
	ls := make([]string, n)
	for i := range ls {
		ls[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return ls, strings.Join(ls, "\n") + "\n"
}

// to_nsq | nsqd | nsq_tail: exactly the lines in, in order.
func TestToNSQIntoNSQTail(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp := n.TCPAddr().String()
	tooltest.CreateChannel(t, n.HTTPAddr().String(), "lines", "tail")
	want, input := numbered("line", 5000)

	ourTool(t, "to_nsq", strings.NewReader(input), "--topic=lines", "--nsqd-tcp-address="+tcp).mustExit(t)
	tail := ourTool(t, "nsq_tail", nil, "--topic=lines", "--channel=tail", "--n=5000", "--nsqd-tcp-address="+tcp)
	tail.mustExit(t) // by itself, after --n lines
	if got := tail.stdout.Lines(); !slices.Equal(got, want) {
		t.Fatalf("nsq_tail printed %d lines, want %d in order", len(got), len(want))
	}
}

// Real signals reach the tools: SIGHUP makes nsq_to_file close (and move)
// its file, SIGTERM stops every tool cleanly.
func TestSignals(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	work, out := t.TempDir(), t.TempDir()
	tooltest.CreateChannel(t, httpAddr, "t", "nsq_to_file")
	tooltest.Publish(t, tcp, "t", tooltest.Bodies("m", 10))
	ntf := ourTool(t, "nsq_to_file", nil, "--topic=t", "--nsqd-tcp-address="+tcp, "--work-dir="+work, "--output-dir="+out, "--sync-interval=20ms")
	tail := ourTool(t, "nsq_tail", nil, "--topic=t", "--nsqd-tcp-address="+tcp)
	stat := ourTool(t, "nsq_stat", nil, "--topic=t", "--channel=nsq_to_file", "--nsqd-http-address="+httpAddr, "--interval=10ms")
	tooltest.WaitFor(t, "nsq_to_file acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "t", "nsq_to_file", 10) })
	ntf.cmd.Process.Signal(syscall.SIGHUP)
	tooltest.WaitFor(t, "the file moved out", func() bool { return len(tooltest.ReadFiles(t, out)) == 1 })
	for _, p := range []*proc{ntf, tail, stat} {
		p.stop(t)
	}
	if got := lines(tooltest.ReadFiles(t, out)); len(got) != 10 {
		t.Fatalf("%d lines written", len(got))
	}
}

// Every tool against upstream's nsqd and nsqlookupd: to_nsq into one nsqd,
// nsq_tail, nsq_stat, nsq_to_http and nsq_to_nsq (to a second nsqd) find
// it through nsqlookupd, nsq_to_file discovers the relayed topic there.
func TestAgainstUpstreamDaemons(t *testing.T) {
	needUpstream(t, "nsqd", "nsqlookupd")
	l := startUpstreamLookupd(t)
	a, b := startUpstreamNSQD(t, l.tcp), startUpstreamNSQD(t, l.tcp)
	for _, ch := range []string{"tail", "http", "relay"} {
		tooltest.CreateChannel(t, a.http, "src", ch)
	}
	want, input := numbered("u", 2000)
	ourTool(t, "to_nsq", strings.NewReader(input), "--topic=src", "--nsqd-tcp-address="+a.tcp).mustExit(t)
	tooltest.WaitFor(t, "src registered", func() bool { return tooltest.Producers(t, l.http, "src") == 1 })

	tail := ourTool(t, "nsq_tail", nil, "--topic=src", "--channel=tail", "--n=2000", "--lookupd-http-address="+l.http)
	tail.mustExit(t)
	if got := tooltest.Sorted(tail.stdout.Lines()); !slices.Equal(got, tooltest.Sorted(want)) {
		t.Fatalf("nsq_tail: %d lines", len(got))
	}

	stat := ourTool(t, "nsq_stat", nil, "--topic=src", "--channel=http", "--lookupd-http-address="+l.http, "--interval=10ms", "--count=1")
	stat.mustExit(t)
	if got := stat.stdout.Lines(); len(got) != 3 || !strings.HasSuffix(got[2], "|    2000    2000       0     0     0 |       0       0         2000       0") {
		t.Fatalf("nsq_stat:\n%s", stat.stdout)
	}

	var mu sync.Mutex
	var posted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posted = append(posted, r.URL.Query().Get("m"))
		mu.Unlock()
	}))
	defer srv.Close()
	toHTTP := ourTool(t, "nsq_to_http", nil, "--topic=src", "--channel=http", "--lookupd-http-address="+l.http, "--get="+srv.URL+"/?m=%s")
	tooltest.WaitFor(t, "nsq_to_http done", func() bool { return tooltest.Drained(t, a.http, "src", "http", 2000) })
	toHTTP.stop(t)
	mu.Lock()
	got := tooltest.Sorted(posted)
	mu.Unlock()
	if !slices.Equal(got, tooltest.Sorted(want)) {
		t.Fatalf("nsq_to_http: %d requests", len(got))
	}

	tooltest.CreateChannel(t, b.http, "relayed", "nsq_to_file")
	relay := ourTool(t, "nsq_to_nsq", nil, "--topic=src", "--channel=relay", "--lookupd-http-address="+l.http,
		"--destination-nsqd-tcp-address="+b.tcp, "--destination-topic=relayed")
	tooltest.WaitFor(t, "nsq_to_nsq done", func() bool { return tooltest.Drained(t, a.http, "src", "relay", 2000) })
	relay.stop(t)

	out := t.TempDir()
	tooltest.WaitFor(t, "relayed registered", func() bool { return tooltest.Producers(t, l.http, "relayed") == 1 })
	toFile := ourTool(t, "nsq_to_file", nil, "--topic-pattern=^relayed$", "--lookupd-http-address="+l.http, "--topic-refresh=50ms",
		"--output-dir="+out, "--gzip", "--sync-interval=50ms")
	tooltest.WaitFor(t, "nsq_to_file done", func() bool { return tooltest.Drained(t, b.http, "relayed", "nsq_to_file", 2000) })
	toFile.stop(t)
	files := tooltest.ReadFiles(t, out)
	if got := lines(files); !slices.Equal(got, tooltest.Sorted(want)) {
		t.Fatalf("nsq_to_file: %d lines in %v", len(got), filepath.Join(out, "*"))
	}
	for name := range files {
		if !strings.HasPrefix(name, "relayed.") || !strings.HasSuffix(name, ".log.gz") {
			t.Errorf("file %s", name)
		}
	}
}
