package httproute

import (
	"net/http"
	"time"
)

// ServerLimits bound what one HTTP client can make nsqd's, nsqlookupd's
// or nsqadmin's HTTP server hold: a connection (and its goroutine) and
// the bytes of its request headers. Upstream v1.3.0 sets none of them
// (a client that sends one header byte a minute, or a chunked body that
// never ends, holds its connection for ever). Zero fields take the
// defaults below; docs/OPERATIONS.md lists them.
type ServerLimits struct {
	// ReadHeaderTimeout is how long a request's line and headers may take
	// to arrive, from its first byte. Default 10s.
	ReadHeaderTimeout time.Duration
	// BodyTimeout is how long a request's body may take to arrive, from
	// the end of its headers; past it the read fails (the handler answers
	// its read error, or the server closes the connection). Default 60s:
	// a 5 MiB --max-body-size MPUB must come at 88 KB/s or faster.
	BodyTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request. Default 120s (Go's HTTP clients drop theirs after 90s,
	// so they close first).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers. Default 64 KiB
	// (Go's default, and upstream's, is 1 MiB; no client of these APIs
	// sends more than a few hundred bytes). Past it: 431.
	MaxHeaderBytes int
}

// The defaults of ServerLimits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

func (l ServerLimits) withDefaults() ServerLimits {
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.BodyTimeout == 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// Apply sets srv's timeouts and header limit, and wraps its Handler so
// that a request's body must arrive within BodyTimeout.
//
// Why not http.Server.ReadTimeout: it also runs while the handler does,
// and when it passes, the server's background read cancels the request's
// context, which would cut a long handler short (a CPU profile of
// /debug/pprof/profile?seconds=60). The body deadline is set only on
// requests that have a body (Content-Length above 0, or chunked), and the
// next request's deadlines replace it.
func (l ServerLimits) Apply(srv *http.Server) {
	l = l.withDefaults()
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	d := l.BodyTimeout
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}
