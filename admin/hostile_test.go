package admin_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
	"github.com/nsqfast/nsq/wire/httproute"
)

// nsqadmin's HTTP server bounds what one client holds (docs/OPERATIONS.md,
// Limits): a request body past 2 MiB is not read, headers past 64 KiB get
// 431, and a client that sends its headers a byte at a time is closed at
// the header timeout, while the API keeps answering.
func TestHostileAdminHTTP(t *testing.T) {
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) {
		o.HTTPLimits = httproute.ServerLimits{ReadHeaderTimeout: time.Second}
	}})
	addr := c.Admin.HTTPAddr().String()

	// A topic name of 3 MiB: the decoder stops at 2 MiB; nothing created.
	big := `{"topic":"` + strings.Repeat("t", 3<<20) + `"}`
	code, body := admintest.Do(t, "POST", c.URL("/api/topics"), big)
	if code != http.StatusBadRequest || body != `{"message":"http: request body too large"}` {
		t.Fatalf("3 MiB body: %d %s", code, body)
	}
	if got := admintest.MustDo(t, "GET", c.URL("/api/topics"), ""); got != `{"topics":null,"message":""}` {
		t.Fatalf("topics after the refused body: %s", got)
	}

	// Headers past 64 KiB.
	hc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	_, _ = io.WriteString(hc, "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("y", 70<<10)+"\r\n\r\n")
	_ = hc.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(hc), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers past 64 KiB: %v %v", resp, err)
	}

	// A slow client: one header byte, then silence; closed at the header
	// timeout while /ping answers.
	sc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	_, _ = io.WriteString(sc, "G")
	type result struct {
		b       []byte
		timeout bool
	}
	closed := make(chan result)
	go func() {
		_ = sc.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, err := io.ReadAll(sc)
		ne, ok := err.(net.Error)
		closed <- result{b, ok && ne.Timeout()}
	}()
	if got := admintest.MustDo(t, "GET", c.URL("/ping"), ""); got != "OK" {
		t.Fatalf("/ping during the slow client: %q", got)
	}
	const cut = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	r := <-closed
	if r.timeout {
		t.Fatalf("the slow client was not closed")
	}
	if len(r.b) != 0 && string(r.b) != cut {
		t.Fatalf("the slow client got %q", r.b)
	}
}
