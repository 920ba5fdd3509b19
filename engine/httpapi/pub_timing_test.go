//go:build !race

package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/nsqfast/nsq/engine"
)

// BenchmarkPub measures the handler alone (no network, no HTTP parsing):
// what /pub costs on top of engine.Topic.Publish.
func BenchmarkPub(b *testing.B) {
	for _, size := range []int{16, 512, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			eng, err := engine.New(engine.Options{DataPath: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = eng.Close() })
			h := New(Options{Engine: eng, Version: "1.3.0"})
			msg := bytes.Repeat([]byte("x"), size)
			body := &resettableBody{}
			req, _ := http.NewRequest("POST", "http://127.0.0.1/pub?topic=bench", nil)
			req.Body = body
			req.ContentLength = int64(size)
			w := &nopWriter{h: http.Header{}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(msg)
				w.body.Reset()
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkMPUB publishes 100 newline-separated messages per request.
func BenchmarkMPUB(b *testing.B) {
	eng, err := engine.New(engine.Options{DataPath: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close() })
	h := New(Options{Engine: eng, Version: "1.3.0"})
	msg := bytes.Repeat(append(bytes.Repeat([]byte("x"), 100), '\n'), 100)
	body := &resettableBody{}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/mpub?topic=bench", nil)
	req.Body = body
	req.ContentLength = int64(len(msg))
	w := &nopWriter{h: http.Header{}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(msg)
		w.body.Reset()
		h.ServeHTTP(w, req)
	}
}
