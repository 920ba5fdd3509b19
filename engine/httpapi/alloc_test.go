//go:build !race

package httpapi

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/nsqfast/nsq/engine"
)

// nopWriter is a reusable http.ResponseWriter.
type nopWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }
func (w *nopWriter) Write(b []byte) (int, error) { return w.body.Write(b) }

// WriteString is there as on net/http's writer, which io.WriteString uses.
func (w *nopWriter) WriteString(s string) (int, error) { return w.body.WriteString(s) }

// resettableBody is a request body that can be replayed.
type resettableBody struct{ bytes.Reader }

func (*resettableBody) Close() error { return nil }

func TestPubAllocs(t *testing.T) {
	eng, err := engine.New(engine.Options{DataPath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	h := New(Options{Engine: eng, Version: "1.3.0"})

	msg := bytes.Repeat([]byte("x"), 512)
	body := &resettableBody{}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/pub?topic=allocs", nil)
	req.Body = body
	req.ContentLength = int64(len(msg))
	w := &nopWriter{h: http.Header{}}
	serve := func() {
		body.Reset(msg)
		w.body.Reset()
		h.ServeHTTP(w, req)
	}
	serve() // creates the topic, warms the pool
	if w.code != http.StatusOK || w.body.String() != "OK" {
		t.Fatalf("%d %q", w.code, w.body.String())
	}
	// The handler itself allocates nothing: the body is read into a pooled
	// buffer, the query is scanned in place, the headers are shared.
	if n := testing.AllocsPerRun(1000, serve); n > 0 {
		t.Fatalf("/pub allocates %.1f times per request", n)
	}
}
