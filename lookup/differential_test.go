package lookup

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/wire/lookupv1"
)

// TestDifferential runs one script of TCP sessions and HTTP requests
// against this nsqlookupd and against a real upstream nsqlookupd v1.3.0,
// and compares every answer: TCP responses and how connections end; HTTP
// status, the headers clients look at, and bodies (with ports, peer
// addresses and times masked, and JSON arrays sorted, since upstream
// lists in random map order). It runs only when NSQLOOKUPD_UPSTREAM_BIN
// names an upstream binary ("go build ./apps/nsqlookupd" in the v1.3.0
// source tree).
func TestDifferential(t *testing.T) {
	bin := os.Getenv("NSQLOOKUPD_UPSTREAM_BIN")
	if bin == "" {
		t.Skip("set NSQLOOKUPD_UPSTREAM_BIN to an upstream nsqlookupd v1.3.0 binary")
	}
	ours := startLookupd(t, nil)
	theirs := startUpstream(t, bin)
	a := transcript(t, ours.TCPAddr().String(), ours.HTTPAddr().String())
	b := transcript(t, theirs[0], theirs[1])
	t.Logf("%d answers compared", len(a))
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			t.Errorf("step %d:\n ours     %s\n upstream %s", i, x, y)
		}
	}
}

// startUpstream runs the upstream binary on free 127.0.0.1 ports and
// returns its TCP and HTTP addresses.
func startUpstream(t *testing.T, bin string) [2]string {
	t.Helper()
	var addrs [2]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	cmd := exec.Command(bin, "--tcp-address="+addrs[0], "--http-address="+addrs[1], "--broadcast-address=127.0.0.1",
		"--tombstone-lifetime=1h")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitFor(t, "upstream nsqlookupd", func() bool {
		resp, err := http.Get("http://" + addrs[1] + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return addrs
}

// step is one action of the script: bytes to send on a named TCP
// connection (then how many answers to read, or that it must close), or
// an HTTP request.
type step struct {
	conn   string
	send   string
	reads  int
	closed bool

	method, target string
}

func tcp(conn, send string, reads int) step { return step{conn: conn, send: send, reads: reads} }
func tcpClose(conn, send string, reads int) step {
	return step{conn: conn, send: send, reads: reads, closed: true}
}
func web(method, target string) step { return step{method: method, target: target} }

func identifyAs(tcpPort, httpPort int) string {
	body := fmt.Sprintf(`{"broadcast_address":"127.0.0.1","hostname":"diff-host","http_port":%d,"tcp_port":%d,"version":"1.3.0"}`, httpPort, tcpPort)
	return string(lookupv1.AppendIdentify(nil, []byte(body)))
}

var script = []step{
	web("GET", "/ping"), web("GET", "/info"), web("GET", "/topics"), web("GET", "/nodes"), web("GET", "/debug"),
	web("GET", "/lookup"), web("GET", "/lookup?topic=none"), web("GET", "/channels"), web("GET", "/channels?topic=none"),
	web("GET", "/lookup?topic=%zz"), web("GET", "/lookup?topic=a;b"),
	web("POST", "/ping"), web("HEAD", "/ping"), web("OPTIONS", "/ping"), web("OPTIONS", "/topic/create"), web("OPTIONS", "/nope"),
	web("GET", "/nope"), web("GET", "/"), web("PUT", "/topics"), web("GET", "/topic/create"), web("DELETE", "/debug/pprof/symbol"),
	web("GET", "/ping/"), web("GET", "/PING"), web("GET", "//ping"), web("GET", "/debug/../nodes?x=1"), web("POST", "/Topic/Create?topic=zz"),
	web("POST", "/topic/create/"), web("GET", "/debug/"), web("GET", "/debug/pprof/"), web("GET", "/Debug/Pprof/Heap"),
	web("GET", "/lookup/"), web("POST", "/Lookup"), web("GET", "/debug/pprof/nope"),

	web("POST", "/topic/create"), web("POST", "/topic/create?topic=a*b"), web("POST", "/topic/create?topic=t1"),
	web("GET", "/lookup?topic=t1"), web("GET", "/topics"),
	web("POST", "/channel/create"), web("POST", "/channel/create?topic=t2"), web("POST", "/channel/create?topic=t2&channel="),
	web("POST", "/channel/create?topic=t2&channel=c!"), web("POST", "/channel/create?topic=t2&channel=c1"),
	web("GET", "/lookup?topic=t2"), web("GET", "/channels?topic=t2"),
	web("POST", "/channel/delete?topic=t2&channel=c9"), web("POST", "/channel/delete?topic=t2"), web("POST", "/channel/delete?topic=t2&channel=c1"),
	web("GET", "/channels?topic=t2"), web("POST", "/topic/delete"), web("POST", "/topic/delete?topic=t2"), web("POST", "/topic/delete?topic=a*"),
	web("POST", "/topic/tombstone"), web("POST", "/topic/tombstone?topic=t1"), web("POST", "/topic/tombstone?topic=t1&node=x:1"),

	tcpClose("bad", "  V2", 1),
	tcp("a", lookupv1.Magic+"PING\n", 1),
	tcp("a", "PING with params\r\n", 1),
	tcp("a", identifyAs(4150, 4151), 1),
	tcp("a", "REGISTER t\nREGISTER t c\nREGISTER t c2#ephemeral\nREGISTER e#ephemeral x\n", 4),
	web("GET", "/lookup?topic=t"), web("GET", "/channels?topic=t"), web("GET", "/topics"), web("GET", "/nodes"), web("GET", "/debug"),
	tcp("a", "UNREGISTER t c2#ephemeral\nUNREGISTER t c\nUNREGISTER never seen\n", 3),
	web("GET", "/channels?topic=t"),
	tcp("a", "UNREGISTER e#ephemeral x\nUNREGISTER e#ephemeral\n", 2),
	web("GET", "/topics"), web("GET", "/channels?topic=e%23ephemeral"),
	web("POST", "/topic/tombstone?topic=t&node=127.0.0.1:4151"),
	web("GET", "/lookup?topic=t"), web("GET", "/nodes"), web("GET", "/debug"),
	tcp("a", "REGISTER t c\nUNREGISTER t\n", 2),
	web("GET", "/lookup?topic=t"), web("GET", "/debug"),
	tcpClose("a", "IDENTIFY\n", 1),
	web("GET", "/lookup?topic=t"), web("GET", "/nodes"), web("GET", "/topics"), web("GET", "/debug"),

	tcpClose("b", lookupv1.Magic+"REGISTER t\n", 1),
	tcpClose("c", lookupv1.Magic+"FOO bar\n", 1),
	tcpClose("d", lookupv1.Magic+"\n", 1),
	tcpClose("e", lookupv1.Magic+identifyAs(1, 2)+"REGISTER\n", 2),
	tcpClose("f", lookupv1.Magic+identifyAs(1, 2)+"REGISTER  t\n", 2),
	tcpClose("g", lookupv1.Magic+identifyAs(1, 2)+"UNREGISTER t c*\n", 2),
	tcpClose("h", lookupv1.Magic+string(lookupv1.AppendIdentify(nil, []byte("{"))), 1),
	tcpClose("i", lookupv1.Magic+string(lookupv1.AppendIdentify(nil, []byte(`{"broadcast_address":"x","tcp_port":1,"http_port":2}`))), 1),
	tcpClose("j", lookupv1.Magic+string(lookupv1.AppendIdentify(nil, []byte(`{"tcp_port":"1"}`))), 1),
	tcpClose("k", lookupv1.Magic+string(lookupv1.AppendIdentify(nil, []byte(`null`))), 1),
	tcpClose("l", lookupv1.Magic+identifyAs(7, 8)+"REGISTER  \n", 2),
	web("GET", "/nodes"),
}

var (
	reRemote = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}`)
	reTimes  = regexp.MustCompile(`"(last_update|tombstoned_at)":-?\d+`)
	reHost   = regexp.MustCompile(`"hostname":"[^"]*"`)
)

// transcript runs the script against one nsqlookupd.
func transcript(t *testing.T, tcpAddr, httpAddr string) []string {
	_, tcpPort, _ := net.SplitHostPort(tcpAddr)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	mask := func(s string) string {
		// Placeholders stay valid JSON, for normalizeJSON.
		s = strings.ReplaceAll(s, `"tcp_port":`+tcpPort, `"tcp_port":"<tcp>"`)
		s = strings.ReplaceAll(s, `"http_port":`+httpPort, `"http_port":"<http>"`)
		s = reRemote.ReplaceAllString(s, "127.0.0.1:<port>")
		s = reTimes.ReplaceAllString(s, `"$1":"<time>"`)
		return reHost.ReplaceAllString(s, `"hostname":"<h>"`)
	}
	conns := map[string]*v1Client{}
	var out []string
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, s := range script {
		if s.method != "" {
			req, _ := http.NewRequest(s.method, "http://"+httpAddr+s.target, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(strings.ToLower(s.target), "pprof") {
				body = nil // the pages differ between builds
			}
			h := resp.Header
			out = append(out, fmt.Sprintf("%s %s -> %d ct=%q xnsq=%q allow=%q loc=%q keys=%s %s", s.method, s.target, resp.StatusCode,
				h.Get("Content-Type"), h.Get("X-Nsq-Content-Type"), h.Get("Allow"), h.Get("Location"),
				keyOrder(string(body)), normalizeJSON(mask(string(body)))))
			continue
		}
		c := conns[s.conn]
		if c == nil {
			c = dialRawV1(t, tcpAddr)
			conns[s.conn] = c
		}
		c.send(s.send)
		for range s.reads {
			out = append(out, fmt.Sprintf("%s: %s", s.conn, mask(c.read())))
		}
		if s.closed {
			c.expectClosed()
			out = append(out, s.conn+": closed")
			// Wait for the server to drop the peer before HTTP looks.
			id := c.conn.LocalAddr().String()
			waitFor(t, "the peer to be dropped", func() bool {
				resp, err := http.Get("http://" + httpAddr + "/debug")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return !strings.Contains(string(b), id)
			})
		}
	}
	return out
}

var reKey = regexp.MustCompile(`"[a-z_:#A-Za-z0-9]*":`)

// keyOrder lists the keys of a JSON document in the order they are
// written (normalizeJSON loses it), collapsing repeats.
func keyOrder(s string) string {
	return strings.Join(slices.Compact(reKey.FindAllString(s, -1)), "")
}

// normalizeJSON sorts every array of a JSON document (upstream lists in
// random order); anything else is returned as is.
func normalizeJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	var sortAll func(v any) any
	sortAll = func(v any) any {
		switch x := v.(type) {
		case []any:
			for i := range x {
				x[i] = sortAll(x[i])
			}
			slices.SortFunc(x, func(a, b any) int {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return strings.Compare(string(ja), string(jb))
			})
		case map[string]any:
			for k := range x {
				x[k] = sortAll(x[k])
			}
		}
		return v
	}
	b, _ := json.Marshal(sortAll(v))
	return string(b)
}
