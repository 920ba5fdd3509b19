package e2e

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

// flagSpec is a flag as -h lists it: its kind and default.
type flagSpec struct{ kind, def string }

var (
	flagLine    = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	defaultNote = regexp.MustCompile(`\(default ("[^"]*"|\S+)\)$`)
)

// helpFlags parses the flag package's usage listing.
func helpFlags(t *testing.T, usage string) map[string]flagSpec {
	t.Helper()
	flags := map[string]flagSpec{}
	ls := strings.Split(usage, "\n")
	for i, l := range ls {
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		spec := flagSpec{kind: m[2]}
		if i+1 < len(ls) {
			if d := defaultNote.FindStringSubmatch(ls[i+1]); d != nil {
				spec.def = d[1]
			}
		}
		flags[m[1]] = spec
	}
	if len(flags) == 0 {
		t.Fatalf("no flags in:\n%s", usage)
	}
	return flags
}

// Every tool has upstream's flags: the same names, kinds and defaults.
func TestDifferentialFlags(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			needUpstream(t, tool)
			up := run(t, upstream(tool), nil, "-h")
			our := ourTool(t, tool, nil, "-h")
			if c := up.wait(t); c != 0 {
				t.Fatalf("upstream -h: %d", c)
			}
			our.mustExit(t)
			want, got := helpFlags(t, up.stderr.String()), helpFlags(t, our.stderr.String())
			// Upstream's --rotate-size usage names its placeholder in
			// backquotes, which the listing shows as the kind.
			if s, ok := want["rotate-size"]; ok && s.kind == "rotate-size" {
				want["rotate-size"] = flagSpec{"int", s.def}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("flags differ:\nours     %v\nupstream %v", got, want)
			}
		})
	}
}

// Both tools of a pair are run by the same scenario, each on its own
// topic or channel of one nsqd (ours, in-process).
type side struct {
	name string // "upstream" or "ours"
	bin  func(tool string) string
}

func sides(t *testing.T, tool string) []side {
	needUpstream(t, tool)
	return []side{
		{"upstream", upstream},
		{"ours", func(tool string) string { return ours + "/" + tool }},
	}
}

// The same input published by both to_nsq gives the same messages; the
// same messages printed by both nsq_tail give the same output.
func TestDifferentialToNSQAndTail(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	input := "one\n\ntwo\nthree with spaces\n\n" + strings.Repeat("long", 20000) + "\n"
	var published [][]string
	for _, s := range sides(t, "to_nsq") {
		topic := "in_" + s.name
		tooltest.CreateChannel(t, httpAddr, topic, "c")
		c := tooltest.Consume(t, tcp, topic, "c")
		p := run(t, s.bin("to_nsq"), strings.NewReader(input), "--topic="+topic, "--nsqd-tcp-address="+tcp)
		p.mustExit(t)
		tooltest.WaitFor(t, "drained", func() bool { return tooltest.Drained(t, httpAddr, topic, "c", 4) })
		published = append(published, c.Bodies())
	}
	if !slices.Equal(published[0], published[1]) || len(published[0]) != 4 {
		t.Fatalf("to_nsq published\n%q\nupstream's\n%q", published[1], published[0])
	}

	tooltest.CreateChannel(t, httpAddr, "a", "tail_upstream")
	tooltest.CreateChannel(t, httpAddr, "a", "tail_ours")
	tooltest.Publish(t, tcp, "a", tooltest.Bodies("a", 300))
	var outputs []string
	for _, s := range sides(t, "nsq_tail") {
		p := run(t, s.bin("nsq_tail"), nil, "--topic=a", "--channel=tail_"+s.name, "--print-topic", "--n=300", "--nsqd-tcp-address="+tcp)
		p.mustExit(t)
		outputs = append(outputs, p.stdout.String())
	}
	if outputs[0] != outputs[1] {
		t.Fatalf("nsq_tail printed\n%.300s\nupstream\n%.300s", outputs[1], outputs[0])
	}
}

// nsq_stat prints the same report of the same channel.
func TestDifferentialStat(t *testing.T) {
	n := tooltest.StartNSQD(t)
	httpAddr := n.HTTPAddr().String()
	tooltest.CreateChannel(t, httpAddr, "t", "c")
	tooltest.Publish(t, n.TCPAddr().String(), "t", tooltest.Bodies("x", 1234))
	var outputs []string
	for _, s := range sides(t, "nsq_stat") {
		p := run(t, s.bin("nsq_stat"), nil, "--topic=t", "--channel=c", "--nsqd-http-address="+httpAddr, "--interval=10ms", "--count=3")
		p.mustExit(t)
		outputs = append(outputs, p.stdout.String())
	}
	if outputs[0] != outputs[1] {
		t.Fatalf("ours:\n%s\nupstream:\n%s", outputs[1], outputs[0])
	}
}

// nsq_to_file writes the same files: names (gzip, rotation by size,
// <REV>) and contents.
func TestDifferentialToFile(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	tooltest.CreateChannel(t, httpAddr, "t", "upstream")
	tooltest.CreateChannel(t, httpAddr, "t", "ours")
	tooltest.Publish(t, tcp, "t", tooltest.Bodies("file-line-", 3000))
	var results []map[string]string
	for _, s := range sides(t, "nsq_to_file") {
		out := t.TempDir()
		p := run(t, s.bin("nsq_to_file"), nil, "--topic=t", "--channel="+s.name, "--nsqd-tcp-address="+tcp,
			"--output-dir="+out, "--gzip", "--rotate-size=5000", "--host-identifier=h", "--datetime-format=fixed",
			"--sync-interval=20ms", "--max-in-flight=50")
		tooltest.WaitFor(t, "drained", func() bool { return tooltest.Drained(t, httpAddr, "t", s.name, 3000) })
		p.stop(t)
		results = append(results, tooltest.ReadFiles(t, out))
	}
	if !maps.Equal(results[0], results[1]) {
		t.Fatalf("files differ:\nours     %v\nupstream %v", slices.Sorted(maps.Keys(results[1])), slices.Sorted(maps.Keys(results[0])))
	}
	if len(results[0]) < 5 {
		t.Fatalf("only %d files", len(results[0]))
	}
}

// nsq_to_nsq relays the same bodies through the JSON filters.
func TestDifferentialToNSQFilter(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	in := []string{
		`{"type":"click","id":1,"user":"u1","x":1.5}`, `{"type":"click","id":12345678901234567890}`,
		`{"type":"click","id":3,"extra":[1,2],"x":-0}`, `not json`, `{"type":7,"id":5}`, `{"type":"7","id":8}`,
		`{"type":"click","id":6,"x":2.25,"user":{"n":"u6","a":[1.0,2]}}`, `{"type":"click"}`,
	}
	var bodies [][]byte
	for _, s := range in {
		bodies = append(bodies, []byte(s))
	}
	var results [][]string
	for _, s := range sides(t, "nsq_to_nsq") {
		tooltest.CreateChannel(t, httpAddr, "src_"+s.name, "nsq_to_nsq")
		tooltest.CreateChannel(t, httpAddr, "dst_"+s.name, "c")
		c := tooltest.Consume(t, tcp, "dst_"+s.name, "c")
		tooltest.Publish(t, tcp, "src_"+s.name, bodies)
		p := run(t, s.bin("nsq_to_nsq"), nil, "--topic=src_"+s.name, "--destination-topic=dst_"+s.name,
			"--nsqd-tcp-address="+tcp, "--destination-nsqd-tcp-address="+tcp,
			"--require-json-field=type", "--whitelist-json-field=id", "--whitelist-json-field=user", "--whitelist-json-field=x")
		tooltest.WaitFor(t, "relayed", func() bool { return tooltest.Drained(t, httpAddr, "src_"+s.name, "nsq_to_nsq", uint64(len(in))) })
		p.stop(t)
		tooltest.WaitFor(t, "consumed", func() bool { return tooltest.Drained(t, httpAddr, "dst_"+s.name, "c", 1) })
		results = append(results, tooltest.Sorted(c.Bodies()))
	}
	if !slices.Equal(results[0], results[1]) || len(results[0]) != 7 {
		t.Fatalf("ours:\n%q\nupstream:\n%q", results[1], results[0])
	}
}

// nsq_to_http makes the same requests, GET and POST.
func TestDifferentialToHTTP(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	bodies := tooltest.Bodies("p q&r=", 50)
	for _, mode := range []string{"post", "get"} {
		tooltest.CreateChannel(t, httpAddr, mode, "upstream")
		tooltest.CreateChannel(t, httpAddr, mode, "ours")
		tooltest.Publish(t, tcp, mode, bodies)
		var results [][]string
		for _, s := range sides(t, "nsq_to_http") {
			var mu sync.Mutex
			var reqs []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				reqs = append(reqs, strings.Join([]string{r.Method, r.URL.String(), r.Header.Get("User-Agent"),
					r.Header.Get("Content-Type"), r.Header.Get("X-Custom"), string(b)}, " | "))
				mu.Unlock()
			}))
			target := "--post=" + srv.URL + "/p"
			if mode == "get" {
				target = "--get=" + srv.URL + "/g?m=%s"
			}
			p := run(t, s.bin("nsq_to_http"), nil, "--topic="+mode, "--channel="+s.name, "--nsqd-tcp-address="+tcp, target, "--header=X-Custom: v")
			tooltest.WaitFor(t, "sent", func() bool { return tooltest.Drained(t, httpAddr, mode, s.name, 50) })
			p.stop(t)
			srv.Close()
			mu.Lock()
			results = append(results, tooltest.Sorted(reqs))
			mu.Unlock()
		}
		if !slices.Equal(results[0], results[1]) || len(results[0]) != 50 {
			t.Fatalf("%s: ours:\n%s\nupstream:\n%s", mode, strings.Join(results[1][:3], "\n"), strings.Join(results[0][:3], "\n"))
		}
	}
}
