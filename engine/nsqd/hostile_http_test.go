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

// slowHTTPClients is how many slow clients TestHostileHTTPSlowClients
// sends to each server: 500 by default (the test's descriptors, both
// ends in this process, stay far below a 20,000 limit);
// HOSTILE_HTTP_CLIENTS sets another count, e.g. 10000 with `ulimit -n`
// raised (docs/OPERATIONS.md, Limits, says how it was run).
func slowHTTPClients(t testing.TB) int {
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
	k := slowHTTPClients(t)

	var cs []net.Conn
	for _, addr := range []string{n.HTTPAddr().String(), l.HTTPAddr().String()} {
		for i := 0; i < k; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			t.Cleanup(func() { c.Close() })
			cs = append(cs, c)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one byte of "GET /stats HTTP/1.1\r\nX-Slow: xxxx..." a second
		defer wg.Done()
		head := "GET /stats HTTP/1.1\r\nX-Slow: "
		open := append([]net.Conn(nil), cs...)
		for i := 0; len(open) > 0; i++ {
			b := []byte{'x'}
			if i < len(head) {
				b[0] = head[i]
			}
			kept := open[:0]
			for _, c := range open {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(b); err == nil {
					kept = append(kept, c)
				}
			}
			open = kept
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()

	// Meanwhile: HTTP publishes and nsqlookupd's API.
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

	var closed atomic.Int64
	var rg sync.WaitGroup
	for _, c := range cs {
		rg.Add(1)
		go func() {
			defer rg.Done()
			// Go's server answers a read timeout with nothing, or, when
			// the request line was cut short by it, with this 400.
			const cut = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
			if got := readToEnd(t, c); len(got) != 0 && string(got) != cut {
				t.Errorf("slow HTTP client got %q, want nothing or Go's 400", got)
			}
			closed.Add(1)
		}()
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	<-pubDone
	if int(closed.Load()) != len(cs) {
		t.Fatalf("%d of %d slow clients closed", closed.Load(), len(cs))
	}
	if httpPubs.Load() == 0 {
		t.Fatalf("no HTTP publish went through")
	}
	// The consumer gets the HTTP publishes too: add them to what it must
	// receive.
	good.sent.Add(httpPubs.Load())
	for i := int64(0); i < httpPubs.Load(); i++ {
		good.c.mu.Lock()
		if good.c.seen[fmt.Sprintf("http-%d", i)] > 1 {
			t.Errorf("http-%d received twice", i)
		}
		good.c.mu.Unlock()
	}
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
