package nsqd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/lookup"
	"github.com/nsqfast/nsq/lookup/lookuptest"
	"github.com/nsqfast/nsq/wire/httproute"
)

// httpRaw opens a raw connection to addr and sends head (a request line
// and headers, without the blank line that ends them when open is set).
func httpRaw(t testing.TB, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// readHTTPResponse reads one response from c and its whole body.
func readHTTPResponse(t testing.TB, c net.Conn) (int, string, *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b), r
}

// expectHTTPClosed asserts the server closes c with nothing more sent.
func expectHTTPClosed(t testing.TB, c net.Conn, r *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if b, err := r.ReadByte(); err == nil {
		t.Fatalf("connection still open: got %q", b)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection not closed")
	}
}

// A chunked body that never ends: /pub and /mpub answer upstream's 413
// once --max-msg-size (or --max-body-size) bytes and one more are in, and
// the connection is closed; one that stalls gets upstream's 500 for a body
// that could not be read once the body timeout passes.
func TestHostileHTTPChunkedBodies(t *testing.T) {
	n := startNSQD(t, func(o *Options) {
		o.MaxMsgSize = 64 << 10
		o.MaxBodySize = 256 << 10
		o.HTTPLimits.BodyTimeout = time.Second
	})
	good := startGoodPair(t, n, "")
	addr := n.HTTPAddr().String()
	chunk := fmt.Sprintf("%x\r\n%s\r\n", 4096, strings.Repeat("x", 4096))

	for _, tc := range []struct{ path, want string }{
		{"/pub?topic=h", `{"message":"MSG_TOO_BIG"}`},
		{"/mpub?topic=h", `{"message":"BODY_TOO_BIG"}`},
		// "xxxx" as a count is too many messages: upstream's 413 BAD_BODY
		{"/mpub?topic=h&binary=true", `{"message":"BAD_BODY"}`},
	} {
		c := httpRaw(t, addr, "POST "+tc.path+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // endless: until the server stops reading
			defer wg.Done()
			for {
				_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}()
		code, body, r := readHTTPResponse(t, c)
		if code != http.StatusRequestEntityTooLarge || body != tc.want {
			t.Fatalf("%s endless: %d %s, want 413 %s", tc.path, code, body, tc.want)
		}
		expectHTTPClosed(t, c, r)
		c.Close()
		wg.Wait()
	}

	for _, path := range []string{"/pub?topic=h", "/mpub?topic=h"} {
		c := httpRaw(t, addr, "POST "+path+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		code, body, r := readHTTPResponse(t, c)
		if code != http.StatusInternalServerError || body != `{"message":"INTERNAL_ERROR"}` {
			t.Fatalf("%s stalled: %d %s, want 500 INTERNAL_ERROR", path, code, body)
		}
		expectHTTPClosed(t, c, r)
	}
	good.check()
	if got := topicMessageCount(t, n, "h"); got != 0 {
		t.Fatalf("topic h has %d messages, want 0", got)
	}
}

// slowHTTPClientCount is how many slow clients TestHostileHTTPSlowClients
// sends to each server: 500 by default (the test's descriptors, both
// ends in this process, stay far below a 20,000 limit);
// HOSTILE_HTTP_CLIENTS sets another count, e.g. 10000 with `ulimit -n`
// raised (docs/OPERATIONS.md, Limits, says how it was run).
func slowHTTPClientCount(t testing.TB) int {
	if v := os.Getenv("HOSTILE_HTTP_CLIENTS"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k <= 0 {
			t.Fatalf("HOSTILE_HTTP_CLIENTS=%q", v)
		}
		return k
	}
	return 500
}

// Many concurrent slow HTTP clients, each sending one byte of its request
// headers a second, against nsqd's and nsqlookupd's HTTP servers: both
// close every one once the header timeout passes (with no answer, or
// Go's 400 for a request line cut short), while /pub over HTTP and the
// go-nsq pair keep delivering and nsqlookupd keeps answering. Headers
// past the limit get 431.
func TestHostileHTTPSlowClients(t *testing.T) {
	lim := httproute.ServerLimits{ReadHeaderTimeout: 2 * time.Second}
	n := startNSQD(t, func(o *Options) { o.HTTPLimits = lim })
	l := lookuptest.Start(t, "127.0.0.1:0", func(o *lookup.Options) { o.HTTPLimits = lim })
	good := startGoodPair(t, n, "")
	k := slowHTTPClientCount(t)

	slow := startSlowHTTPClients(t, []string{n.HTTPAddr().String(), l.HTTPAddr().String()}, k)

	// Meanwhile: HTTP publishes and nsqlookupd's API.
	stop := make(chan struct{})
	var httpPubs atomic.Int64
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Post(httpURL(n, "/pub?topic=good"), "application/octet-stream", strings.NewReader(fmt.Sprintf("http-%d", i)))
			if err != nil {
				t.Errorf("/pub: %v", err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "OK" {
				t.Errorf("/pub: %d %s", resp.StatusCode, b)
				return
			}
			httpPubs.Add(1)
			resp, err = http.Get("http://" + l.HTTPAddr().String() + "/ping")
			if err != nil {
				t.Errorf("nsqlookupd /ping: %v", err)
				return
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "OK" {
				t.Errorf("nsqlookupd /ping: %d %s", resp.StatusCode, b)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	slow.wait()
	close(stop)
	<-pubDone
	if httpPubs.Load() == 0 {
		t.Fatalf("no HTTP publish went through")
	}
	// The consumer gets the HTTP publishes too: each must arrive once.
	good.sent.Add(httpPubs.Load())
	good.check()

	// Headers past 64 KiB: 431, from both.
	for _, addr := range []string{n.HTTPAddr().String(), l.HTTPAddr().String()} {
		c := httpRaw(t, addr, "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("y", 70<<10)+"\r\n\r\n")
		code, _, _ := readHTTPResponse(t, c)
		if code != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%s: headers past 64 KiB: %d, want 431", addr, code)
		}
	}
}

// slowHTTPClients are k connections to each address, each sending one
// byte of its request headers a second.
type slowHTTPClients struct {
	t      testing.TB
	cs     []net.Conn
	stop   chan struct{}
	wg, rg sync.WaitGroup
	closed atomic.Int64
	start  time.Time
	last   atomic.Int64 // ns after start of the last close seen
}

func startSlowHTTPClients(t testing.TB, addrs []string, k int) *slowHTTPClients {
	t.Helper()
	sc := &slowHTTPClients{t: t, stop: make(chan struct{}), start: time.Now()}
	for _, addr := range addrs {
		for i := 0; i < k; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			t.Cleanup(func() { c.Close() })
			sc.cs = append(sc.cs, c)
		}
	}
	sc.wg.Add(1)
	go func() { // one byte of "GET /stats HTTP/1.1\r\nX-Slow: xxxx..." a second
		defer sc.wg.Done()
		trickle(sc.cs, "GET /stats HTTP/1.1\r\nX-Slow: ", sc.stop)
	}()
	for _, c := range sc.cs {
		sc.rg.Add(1)
		go func() {
			defer sc.rg.Done()
			// Go's server answers a read timeout with nothing, or, when
			// the request line was cut short by it, with this 400.
			const cut = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
			if got := readToEnd(t, c); len(got) != 0 && string(got) != cut {
				t.Errorf("slow HTTP client got %q, want nothing or Go's 400", got)
			}
			sc.closed.Add(1)
			d := int64(time.Since(sc.start))
			for {
				old := sc.last.Load()
				if d <= old || sc.last.CompareAndSwap(old, d) {
					break
				}
			}
		}()
	}
	return sc
}

// wait returns once the servers have closed every slow client.
func (sc *slowHTTPClients) wait() {
	sc.t.Helper()
	sc.rg.Wait()
	close(sc.stop)
	sc.wg.Wait()
	if int(sc.closed.Load()) != len(sc.cs) {
		sc.t.Fatalf("%d of %d slow clients closed", sc.closed.Load(), len(sc.cs))
	}
}

// TestHostileHTTPSlowClientsExternal runs the slow clients against HTTP
// servers of other processes (HOSTILE_HTTP_ADDRS, comma-separated; each in
// turn), so that this process holds only the clients' descriptors: the
// full 10,000 of issue 17 fit under a 20,000-descriptor limit that way.
// bench/scripts/slow_http_clients.sh starts bin/nsqd and bin/nsqlookupd
// and runs it. Meanwhile GET /ping on the same server must keep answering.
func TestHostileHTTPSlowClientsExternal(t *testing.T) {
	addrs := os.Getenv("HOSTILE_HTTP_ADDRS")
	if addrs == "" {
		t.Skip("HOSTILE_HTTP_ADDRS not set")
	}
	k := 10000
	if os.Getenv("HOSTILE_HTTP_CLIENTS") != "" {
		k = slowHTTPClientCount(t)
	}
	for _, addr := range strings.Split(addrs, ",") {
		sc := startSlowHTTPClients(t, []string{addr}, k)
		pings, worst := 0, time.Duration(0)
		for sc.closed.Load() < int64(len(sc.cs)) {
			t0 := time.Now()
			resp, err := http.Get("http://" + addr + "/ping")
			if err != nil {
				t.Fatalf("%s /ping during the slow clients: %v", addr, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "OK" {
				t.Fatalf("%s /ping: %d %s", addr, resp.StatusCode, b)
			}
			pings++
			worst = max(worst, time.Since(t0))
			time.Sleep(10 * time.Millisecond)
		}
		sc.wait()
		t.Logf("%s: %d slow clients, all closed by the server %.1fs after the first dial; %d /ping answered meanwhile, slowest %v",
			addr, k, time.Duration(sc.last.Load()).Seconds(), pings, worst.Round(time.Millisecond))
		for _, c := range sc.cs {
			c.Close()
		}
	}
}
