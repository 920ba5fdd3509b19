// Package httpapi is nsqd's HTTP API over the engine: the endpoints,
// methods, status codes, message texts and JSON documents of NSQ v1.3.0
// (publishing, /stats, topic and channel administration, runtime config,
// profiling).
//
// # Response forms
//
// As upstream, most endpoints answer in the "V1" form: on success the bare
// document (JSON, with Content-Type application/json; charset=utf-8), a
// bare string such as "OK", or an empty body; on failure the status code and
// {"message":"<TEXT>"}; always with the header "X-NSQ-Content-Type:
// nsq; version=1.0". /ping and the 400 of /debug/setblockrate answer plain
// text. v1.3.0 has no other envelope: the request's Accept header changes
// nothing (the pre-1.0 {"status_code","status_txt","data"} wrapper was
// removed upstream in v1.0.0). The documents are in wire/apidoc.
//
// Routing (405 with Allow, OPTIONS, trailing-slash and case redirects, 404)
// reproduces the httprouter configuration upstream uses; see router.
//
// # Beyond upstream
//
// /debug/pprof/allocs, /debug/pprof/mutex, /debug/pprof/trace (404 in
// upstream, although its pprof index links to them) and /debug/fgprof
// (github.com/felixge/fgprof, wall-clock profiles) are added, and so is
// GET /metrics: the numbers of /stats in the Prometheus text format (see
// metrics.go), and so are the replay endpoints (replay.go) and GET
// /topic/peek and /channel/peek, browsing without consuming (peek.go),
// and /topic/ttl and /channel/dead-letter (ttl.go).
// Nothing else differs on purpose; TestDifferential compares
// this handler with a real upstream nsqd.
//
// # Concurrency
//
// The handler returned by New is safe for concurrent use; it keeps no state
// of its own besides pools and reads the engine through its concurrency-safe
// API.
package httpapi

import (
	"errors"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/felixge/fgprof"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/netpoll"
)

// Options configures the handler. Zero values of the limits mean upstream's
// defaults, as documented on each field.
type Options struct {
	// Engine is required.
	Engine *engine.Engine
	// Clients lists the TCP clients, for the consumer and producer sections
	// of /stats. Nil means no clients.
	Clients func() []*netpoll.Client
	// Version is the upstream version reported by /info and /stats
	// ("1.3.0").
	Version string

	// BroadcastAddress and Hostname are reported by /info. An empty Hostname
	// means os.Hostname() at request time, as upstream.
	BroadcastAddress, Hostname string
	// TCPPort and HTTPPort are the bound ports reported by /info (-1 for
	// unix sockets, as upstream). HTTPPort 0 means the port of the
	// connection's local address (-1 when it is not TCP).
	TCPPort, HTTPPort int

	// MaxMsgSize bounds one message (and a /config PUT body). Default 1 MiB.
	MaxMsgSize int64
	// MaxBodySize bounds an /mpub body. Default 5 MiB.
	MaxBodySize int64
	// MaxReqTimeout bounds /pub's defer. Default 1h.
	MaxReqTimeout time.Duration

	// Reported by /info only.
	MaxHeartbeatInterval   time.Duration
	MaxOutputBufferSize    int64
	MaxOutputBufferTimeout time.Duration
	MaxDeflateLevel        int

	// NoPeek turns off GET /topic/peek and /channel/peek (403
	// PEEK_DISABLED): nsqd --allow-peek=false, for operators who must not
	// expose message bodies over HTTP.
	NoPeek bool

	// GetConfig returns the current value of a runtime option named by its
	// config-file name, for GET and after a successful PUT of
	// /config/{opt}. Values are written as upstream writes them: a string
	// bare, anything else as JSON (upstream's log_level is the integer
	// level, nsqlookupd_tcp_addresses a list). Nil, or false, answers 400
	// INVALID_OPTION.
	GetConfig func(opt string) (any, bool)
	// SetConfig applies a PUT /config/{opt} body. It is only called for the
	// two options upstream lets one change (nsqlookupd_tcp_addresses, whose
	// body has been checked to be a JSON list of strings, and log_level,
	// checked to be a level name); an error answers 400 INVALID_VALUE.
	SetConfig func(opt string, body []byte) error

	// Logf receives one INFO line per logged request, as upstream, and
	// errors. Nil discards them.
	Logf func(level engine.LogLevel, format string, args ...any)
}

func (o *Options) setDefaults() {
	if o.MaxMsgSize <= 0 {
		o.MaxMsgSize = 1 << 20
	}
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = 5 << 20
	}
	if o.MaxReqTimeout <= 0 {
		o.MaxReqTimeout = time.Hour
	}
}

// server holds the options; its methods are the endpoints.
type server struct {
	o   Options
	eng *engine.Engine
}

// New returns nsqd's HTTP API handler. It panics if o.Engine is nil.
func New(o Options) http.Handler {
	if o.Engine == nil {
		panic("httpapi: Options.Engine is required")
	}
	o.setDefaults()
	s := &server{o: o, eng: o.Engine}

	notFound := s.logged(s.v1(fail(http.StatusNotFound, "NOT_FOUND")))
	notAllowed := s.logged(s.v1(fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")))
	rt := newRouter(
		func(w http.ResponseWriter, r *http.Request) { notFound(w, r, "") },
		func(w http.ResponseWriter, r *http.Request) { notAllowed(w, r, "") },
	)

	rt.add("GET", "/ping", s.logged(plainText(s.ping)))
	rt.add("GET", "/info", s.logged(s.v1(s.info)))

	// the publishing paths are not logged, as upstream
	rt.add("POST", "/pub", s.v1(s.pub))
	rt.add("POST", "/mpub", s.v1(s.mpub))
	rt.add("GET", "/stats", s.logged(s.v1(s.stats)))
	// not in upstream; not logged, as scrapers call it all the time
	rt.add("GET", "/metrics", s.promMetrics)

	rt.add("POST", "/topic/create", s.logged(s.v1(s.createTopic)))
	rt.add("POST", "/topic/delete", s.logged(s.v1(s.deleteTopic)))
	rt.add("POST", "/topic/empty", s.logged(s.v1(s.emptyTopic)))
	rt.add("POST", "/topic/pause", s.logged(s.v1(s.pauseTopic(true))))
	rt.add("POST", "/topic/unpause", s.logged(s.v1(s.pauseTopic(false))))
	rt.add("POST", "/channel/create", s.logged(s.v1(s.createChannel)))
	rt.add("POST", "/channel/delete", s.logged(s.v1(s.deleteChannel)))
	rt.add("POST", "/channel/empty", s.logged(s.v1(s.emptyChannel)))
	rt.add("POST", "/channel/rewind", s.logged(s.v1(s.rewindChannel)))
	rt.add("POST", "/channel/pause", s.logged(s.v1(s.pauseChannel(true))))
	rt.add("POST", "/channel/unpause", s.logged(s.v1(s.pauseChannel(false))))
	// not in upstream: browsing without consuming (peek.go)
	rt.add("GET", "/topic/peek", s.logged(s.v1(s.peekTopic)))
	rt.add("GET", "/channel/peek", s.logged(s.v1(s.peekChannel)))
	// not in upstream: message TTL and dead-letter topics (ttl.go)
	rt.add("GET", "/topic/ttl", s.logged(s.v1(s.topicTTL)))
	rt.add("POST", "/topic/ttl", s.logged(s.v1(s.topicTTL)))
	rt.add("GET", "/channel/dead-letter", s.logged(s.v1(s.channelDeadLetter)))
	rt.add("POST", "/channel/dead-letter", s.logged(s.v1(s.channelDeadLetter)))
	rt.add("GET", "/config/:opt", s.logged(s.v1(s.getConfig)))
	rt.add("PUT", "/config/:opt", s.logged(s.v1(s.putConfig)))

	std := func(h http.Handler) handle {
		return func(w http.ResponseWriter, r *http.Request, _ string) { h.ServeHTTP(w, r) }
	}
	rt.add("GET", "/debug/pprof/", std(http.HandlerFunc(pprof.Index)))
	rt.add("GET", "/debug/pprof/cmdline", std(http.HandlerFunc(pprof.Cmdline)))
	rt.add("GET", "/debug/pprof/symbol", std(http.HandlerFunc(pprof.Symbol)))
	rt.add("POST", "/debug/pprof/symbol", std(http.HandlerFunc(pprof.Symbol)))
	rt.add("GET", "/debug/pprof/profile", std(http.HandlerFunc(pprof.Profile)))
	for _, name := range []string{"heap", "goroutine", "block", "threadcreate"} {
		rt.add("GET", "/debug/pprof/"+name, std(pprof.Handler(name)))
	}
	// Not in upstream (which answers 404 for them although its pprof index
	// page links to them): the remaining runtime profiles, and fgprof.
	for _, name := range []string{"allocs", "mutex"} {
		rt.add("GET", "/debug/pprof/"+name, std(pprof.Handler(name)))
	}
	rt.add("GET", "/debug/pprof/trace", std(http.HandlerFunc(pprof.Trace)))
	rt.add("GET", "/debug/fgprof", std(http.HandlerFunc(wallProfile)))
	rt.add("PUT", "/debug/setblockrate", s.logged(s.setBlockRate))
	rt.add("POST", "/debug/freememory", s.logged(s.freeMemory))

	return &recoverer{
		s:        s,
		next:     rt,
		internal: s.logged(s.v1(fail(http.StatusInternalServerError, "INTERNAL_ERROR"))),
	}
}

// recoverer answers 500 INTERNAL_ERROR when a handler panics, as upstream's
// router PanicHandler.
type recoverer struct {
	s        *server
	next     http.Handler
	internal handle
}

func (rc *recoverer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			rc.s.logf(engine.LogError, "panic in HTTP handler - %s", p)
			rc.internal(w, r, "")
		}
	}()
	rc.next.ServeHTTP(w, r)
}

func (s *server) logf(level engine.LogLevel, format string, args ...any) {
	if s.o.Logf != nil {
		s.o.Logf(level, format, args...)
	}
}

// apiError is a failed call: the status code and the message text.
type apiError struct {
	code int
	text string
}

func (e *apiError) Error() string { return e.text }

func errf(code int, text string) error { return &apiError{code, text} }

// The errors more than one endpoint returns. They are immutable.
var (
	errInvalidRequest    = errf(http.StatusBadRequest, "INVALID_REQUEST")
	errMissingTopic      = errf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	errInvalidTopic      = errf(http.StatusBadRequest, "INVALID_TOPIC")
	errTopicNotFound     = errf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	errChannelNotFound   = errf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
	errInternal          = errf(http.StatusInternalServerError, "INTERNAL_ERROR")
	errExiting           = errf(http.StatusServiceUnavailable, "EXITING")
	errMsgTooBig         = errf(http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	errBodyTooBig        = errf(http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
	errInvalidOption     = errf(http.StatusBadRequest, "INVALID_OPTION")
	errInvalidValue      = errf(http.StatusBadRequest, "INVALID_VALUE")
	errInvalidValueLarge = errf(http.StatusRequestEntityTooLarge, "INVALID_VALUE")
)

// codeOf is the status code of an endpoint's error (500 for an error that
// is not an apiError).
func codeOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code
	}
	return http.StatusInternalServerError
}

// endpoint is an API call: it returns a document (string and []byte are
// written as they are, nil as an empty body, anything else as JSON) or an
// error.
type endpoint func(w http.ResponseWriter, r *http.Request, param string) (any, error)

func fail(code int, text string) endpoint {
	err := errf(code, text)
	return func(http.ResponseWriter, *http.Request, string) (any, error) { return nil, err }
}

// statusRecorder lets logged see the code a V1 or plain-text response used.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.code == 0 {
		sr.code = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

// logged logs one INFO line per request, in upstream's format:
// "<status> <method> <uri> (<remote>) <elapsed>".
func (s *server) logged(h handle) handle {
	if s.o.Logf == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, param string) {
		start := time.Now()
		sr := &statusRecorder{ResponseWriter: w}
		h(sr, r, param)
		code := sr.code
		if code == 0 {
			code = http.StatusOK
		}
		s.logf(engine.LogInfo, "%d %s %s (%s) %s", code, r.Method, r.URL.RequestURI(), r.RemoteAddr, time.Since(start))
	}
}

// wallProfile serves /debug/fgprof: a wall-clock profile of every goroutine
// over ?seconds= (default 30), in ?format= pprof (default) or folded. Unlike
// fgprof's own handler it ends early, with what it sampled so far, when the
// request's context is done (the client left, or nsqd is stopping), so an
// open profile does not hold up a shutdown.
func wallProfile(w http.ResponseWriter, r *http.Request) {
	secs := 30
	if v := r.URL.Query().Get("seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, "bad seconds: "+v, http.StatusBadRequest)
			return
		}
		secs = n
	}
	format := fgprof.FormatPprof
	if f := r.URL.Query().Get("format"); f != "" {
		format = fgprof.Format(f)
	}
	start := time.Now()
	stop := fgprof.Start(w, format)
	t := time.NewTimer(time.Duration(secs) * time.Second)
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
		// fgprof divides by its sample count: stopped before its first
		// sample (it takes 99 a second) it panics. Let it take a few.
		if d := minWallProfile - time.Since(start); d > 0 {
			time.Sleep(d)
		}
	}
	_ = stop()
}

// minWallProfile is the shortest wall-clock profile wallProfile takes.
const minWallProfile = 50 * time.Millisecond
