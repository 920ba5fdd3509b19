package httpapi

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDifferential sends the same requests, in the same order, to this
// handler and to a real upstream nsqd v1.3.0, and compares status lines,
// the headers clients look at, and bodies (with times, ports and memory
// figures masked). It runs only when NSQD_UPSTREAM_BIN names an upstream
// nsqd binary (build one with "go build ./apps/nsqd" in the v1.3.0
// source tree).
//
// Values owned by the engine are masked too: backend_depth (the engine
// keeps every durable message on disk, so it reports the whole depth where
// upstream reports what overflowed its memory queue).
func TestDifferential(t *testing.T) {
	bin := os.Getenv("NSQD_UPSTREAM_BIN")
	if bin == "" {
		t.Skip("set NSQD_UPSTREAM_BIN to an upstream nsqd v1.3.0 binary")
	}
	host, _ := os.Hostname()
	cfg := &fakeConfig{level: 2, lookupd: []string{}}
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.MaxMsgSize, o.MaxBodySize = 16, 64
		o.Hostname, o.BroadcastAddress = host, host
		o.GetConfig, o.SetConfig = cfg.get, cfg.set
	}})
	upstream := startUpstream(t, bin, "--max-msg-size=16", "--max-body-size=64")

	mpub := func(msgs ...string) string {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(msgs)))
		for _, m := range msgs {
			b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
			b = append(b, m...)
		}
		return string(b)
	}
	u32 := func(v ...uint32) string {
		var b []byte
		for _, x := range v {
			b = binary.BigEndian.AppendUint32(b, x)
		}
		return string(b)
	}
	cases := []struct{ method, target, body string }{
		{"GET", "/ping", ""}, {"HEAD", "/ping", ""}, {"OPTIONS", "/pub", ""}, {"OPTIONS", "/config/x", ""},
		{"GET", "/pub", ""}, {"PUT", "/pub", ""}, {"GET", "/ping/", ""}, {"GET", "/PING", ""}, {"POST", "/PING", ""},
		{"GET", "//ping", ""}, {"GET", "/debug/../ping", ""}, {"GET", "/Stats?format=json", ""},
		{"POST", "/pub/?topic=a", "x"}, {"POST", "/Topic/Create?topic=zz", ""}, {"GET", "/config/log_level/", ""},
		{"GET", "/Config/Log_level", ""}, {"GET", "/config//", ""}, {"GET", "/config/", ""}, {"GET", "/debug/pprof", ""},
		{"GET", "/nope", ""}, {"OPTIONS", "/nope", ""}, {"DELETE", "/debug/pprof/symbol", ""}, {"GET", "/topic/create", ""},
		{"GET", "/", ""}, {"GET", "/pub/x", ""}, {"POST", "/stats", ""},
		{"POST", "/pub", "m"}, {"POST", "/pub?topic=", "m"}, {"POST", "/pub?topic=a*b", "m"}, {"POST", "/pub?topic=a", ""},
		{"POST", "/pub?topic=a", strings.Repeat("x", 17)}, {"POST", "/pub?topic=a", strings.Repeat("x", 16)},
		{"POST", "/pub?topic=a;b", "m"}, {"POST", "/pub?topic=%zz", "m"}, {"POST", "/pub?%74opic=esc%2Dd", "m"},
		{"POST", "/pub?topic=a&topic=b", "m"}, {"POST", "/pub?topic=d&defer=x", "m"}, {"POST", "/pub?topic=d&defer=-1", "m"},
		{"POST", "/pub?topic=d&defer=3600001", "m"}, {"POST", "/pub?topic=d&defer=1000", "m"},
		{"POST", "/mpub?topic=m", "a\nbb\n\nccc\n\n"}, {"POST", "/mpub?topic=m&binary=false", "d\r\neeee"},
		{"POST", "/mpub?topic=m", strings.Repeat("x", 65)}, {"POST", "/mpub?topic=m", "a\n" + strings.Repeat("x", 17) + "\nb"},
		{"POST", "/mpub", "a"}, {"POST", "/mpub?topic=m&binary=true", mpub("one", "two\nl", "three")},
		{"POST", "/mpub?topic=m&binary=1", ""}, {"POST", "/mpub?topic=m&binary=1", u32(0)}, {"POST", "/mpub?topic=m&binary=1", u32(13)},
		{"POST", "/mpub?topic=m&binary=1", u32(1, 0)}, {"POST", "/mpub?topic=m&binary=1", mpub(strings.Repeat("x", 17))},
		{"POST", "/mpub?topic=m&binary=1", mpub("12345")[:10]}, {"POST", "/mpub?topic=m&binary=yes", mpub("y") + "trail"},
		{"POST", "/topic/create", ""}, {"POST", "/topic/create?topic=t", ""}, {"POST", "/topic/create?topic=a/b", ""},
		{"POST", "/topic/pause?topic=t", ""}, {"POST", "/topic/pause?topic=nope", ""}, {"POST", "/topic/pause?topic=a*", ""},
		{"POST", "/topic/empty?topic=a*", ""}, {"POST", "/topic/empty?topic=nope", ""}, {"POST", "/topic/delete?topic=a*", ""},
		{"POST", "/topic/delete", ""}, {"POST", "/channel/create?topic=t&channel=c", ""}, {"POST", "/channel/create?topic=nope&channel=c", ""},
		{"POST", "/channel/create?topic=t", ""}, {"POST", "/channel/create?topic=t&channel=", ""},
		{"POST", "/channel/create?topic=a*&channel=c", ""}, {"POST", "/channel/pause?topic=t&channel=c", ""},
		{"POST", "/channel/empty?topic=t&channel=nope", ""}, {"POST", "/channel/delete?topic=t&channel=nope", ""},
		{"POST", "/channel/create?topic=t&channel=e%23ephemeral", ""}, {"POST", "/pub?topic=t", "hello"},
		{"GET", "/stats?format=json&include_mem=false", ""}, {"GET", "/stats?format=json", ""},
		{"GET", "/stats?format=json&topic=nope", ""}, {"GET", "/stats?format=json&channel=c&include_clients=false", ""},
		{"GET", "/stats?format=json&channel=nope", ""}, {"GET", "/stats", ""}, {"GET", "/stats?include_mem=0&topic=nope", ""},
		{"GET", "/stats?format=json&x=%", ""}, {"POST", "/channel/delete?topic=t&channel=c", ""},
		{"POST", "/topic/unpause?topic=t", ""}, {"POST", "/topic/delete?topic=t", ""}, {"POST", "/topic/delete?topic=t", ""},
		{"GET", "/config/log_level", ""}, {"GET", "/config/nsqlookupd_tcp_addresses", ""}, {"GET", "/config/nope", ""},
		{"PUT", "/config/log_level", ""}, {"PUT", "/config/log_level", "warning"}, {"PUT", "/config/log_level", "WARN"},
		{"PUT", "/config/nope", "x"}, {"PUT", "/config/nsqlookupd_tcp_addresses", `"x"`},
		{"PUT", "/debug/setblockrate", ""}, {"PUT", "/debug/setblockrate?rate=0", ""}, {"POST", "/debug/freememory", ""},
		{"GET", "/info", ""},
	}
	ours := f.srv.Listener.Addr().String()
	for _, c := range cases {
		want := rawExchange(t, upstream, c.method, c.target, c.body)
		got := rawExchange(t, ours, c.method, c.target, c.body)
		if got != want {
			t.Errorf("%s %s %q:\nupstream %s\nours     %s", c.method, c.target, c.body, want, got)
		}
	}
}

// startUpstream runs an upstream nsqd on free local ports and returns its
// HTTP address.
func startUpstream(t *testing.T, bin string, args ...string) string {
	t.Helper()
	httpAddr, tcpAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--data-path=" + dir, "--http-address=" + httpAddr,
		"--tcp-address=" + tcpAddr}, args...)...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, func() error {
		resp, err := http.Get("http://" + httpAddr + "/ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return httpAddr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"(start_time|connect_ts|http_port|tcp_port)":\d+`), `"$1":N`},
	{regexp.MustCompile(`"memory":\{[^}]*\}`), `"memory":{...}`},
	{regexp.MustCompile(`"backend_depth":\d+`), `"backend_depth":N`},
	{regexp.MustCompile(`be-depth: \d+ *`), `be-depth: N `},
	{regexp.MustCompile(`(uptime|start_time) \S+`), `$1 X`},
	{regexp.MustCompile(`(   [a-z_0-9]+ +\t)\d+`), `${1}N`},
}

// rawExchange sends one request with the target as given and renders the
// answer as "status | content-type | x-nsq-content-type | allow | location
// | masked body".
func rawExchange(t *testing.T, addr, method, target, body string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", method, target, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
	b := sb.String()
	for _, m := range masks {
		b = m.re.ReplaceAllString(b, m.with)
	}
	h := resp.Header
	return fmt.Sprintf("%d | %s | %s | %s | %s | %s", resp.StatusCode, h.Get("Content-Type"),
		h.Get("X-NSQ-Content-Type"), h.Get("Allow"), h.Get("Location"), b)
}
