package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestPing(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	r := f.do("GET", "/ping", nil)
	f.expect(r, http.StatusOK, "OK")
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if r.header.Get("X-NSQ-Content-Type") != "" {
		t.Fatal("plain-text answers carry no X-NSQ-Content-Type")
	}
	if !f.logs.contains("200 GET /ping (127.0.0.1:") {
		t.Fatalf("request not logged: %q", f.logs.lines)
	}

	f.eng.SetHealth(errors.New("x"))
	f.expect(f.do("GET", "/ping", nil), http.StatusInternalServerError, "NOK - x")
	if s := f.stats(""); s.Health != "NOK - x" {
		t.Fatalf("stats health %q", s.Health)
	}
	f.eng.SetHealth(nil)
	f.expect(f.do("GET", "/ping", nil), http.StatusOK, "OK")
}

func TestInfo(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	port := f.srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndexByte(port, ':')+1:]
	want := fmt.Sprintf(`{"version":"1.3.0","broadcast_address":"bcast.example","hostname":"host.example",`+
		`"http_port":%s,"tcp_port":4150,"start_time":%d,"max_heartbeat_interval":60000000000,`+
		`"max_output_buffer_size":65536,"max_output_buffer_timeout":30000000000,"max_deflate_level":6}`,
		port, f.eng.StartTime().Unix())
	r := f.do("GET", "/info", nil)
	f.expect(r, http.StatusOK, want)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if v := r.header.Get("X-NSQ-Content-Type"); v != "nsq; version=1.0" {
		t.Fatalf("X-NSQ-Content-Type %q", v)
	}

	g := newFixture(t, fixtureConfig{mutate: func(o *Options) { o.HTTPPort = 4151; o.TCPPort = -1 }})
	if r := g.do("GET", "/info", nil); !strings.Contains(r.body, `"http_port":4151,"tcp_port":-1,`) {
		t.Fatalf("configured ports: %s", r.body)
	}
}

// v1.3.0 has a single response form: the Accept header that once chose the
// V1 form over the {"status_code","status_txt","data"} envelope changes
// nothing.
func TestAcceptHeaderIgnored(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	for _, c := range []struct{ method, target string }{
		{"POST", "/pub?topic=a"},
		{"GET", "/stats?format=json&include_mem=false&topic=a"},
		{"POST", "/topic/create?topic=a"},
		{"POST", "/topic/create"},
		{"GET", "/nope"},
		{"GET", "/pub"},
	} {
		var body []byte
		if c.method == "POST" {
			body = []byte("m")
		}
		plain := f.do(c.method, c.target, body)
		v1 := f.do(c.method, c.target, body, "Accept", "application/vnd.nsq; version=1.0")
		if plain.code != v1.code || plain.body != v1.body ||
			plain.header.Get("Content-Type") != v1.header.Get("Content-Type") ||
			v1.header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
			t.Fatalf("%s %s: %d %q vs %d %q", c.method, c.target, plain.code, plain.body, v1.code, v1.body)
		}
		if strings.Contains(v1.body, "status_code") {
			t.Fatalf("legacy envelope: %s", v1.body)
		}
	}
}

func TestRouter(t *testing.T) {
	f := newFixture(t, fixtureConfig{})

	// 405 with httprouter's Allow list
	for _, c := range []struct{ method, target, allow string }{
		{"GET", "/pub", "OPTIONS, POST"},
		{"PUT", "/pub", "OPTIONS, POST"},
		{"GET", "/mpub", "OPTIONS, POST"},
		{"POST", "/stats", "GET, OPTIONS"},
		{"HEAD", "/ping", "GET, OPTIONS"},
		{"GET", "/topic/create", "OPTIONS, POST"},
		{"DELETE", "/channel/unpause", "OPTIONS, POST"},
		{"POST", "/config/log_level", "GET, OPTIONS, PUT"},
		{"DELETE", "/debug/pprof/symbol", "GET, OPTIONS, POST"},
		{"GET", "/debug/setblockrate", "OPTIONS, PUT"},
	} {
		r := f.do(c.method, c.target, nil)
		if c.method == "HEAD" {
			if r.code != http.StatusMethodNotAllowed || r.body != "" {
				t.Fatalf("HEAD: %d %q", r.code, r.body)
			}
		} else {
			f.expectV1Error(r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		}
		if a := r.header.Get("Allow"); a != c.allow {
			t.Fatalf("%s %s: Allow %q, want %q", c.method, c.target, a, c.allow)
		}
	}

	// OPTIONS
	r := f.do("OPTIONS", "/ping", nil)
	f.expect(r, http.StatusOK, "")
	if a := r.header.Get("Allow"); a != "GET, OPTIONS" {
		t.Fatalf("OPTIONS Allow %q", a)
	}
	f.expectV1Error(f.do("OPTIONS", "/nope", nil), http.StatusNotFound, "NOT_FOUND")

	// 404
	for _, p := range []string{"/nope", "/", "/config/", "/debug/pprof/nope", "/topic", "/pub/x"} {
		f.expectV1Error(f.do("GET", p, nil), http.StatusNotFound, "NOT_FOUND")
	}
	f.expectV1Error(f.do("POST", "/PING", nil), http.StatusNotFound, "NOT_FOUND")
	if !f.logs.contains("404 GET /nope (") || !f.logs.contains("405 GET /pub (") {
		t.Fatalf("router answers not logged: %q", f.logs.lines)
	}

	// redirects: trailing slash, case, dirty paths; 301 for GET, 307 else
	for _, c := range []struct {
		method, target string
		code           int
		location       string
	}{
		{"GET", "/ping/", 301, "/ping"},
		{"GET", "/PING", 301, "/ping"},
		{"GET", "//ping", 301, "/ping"},
		{"GET", "/debug/../ping", 301, "/ping"},
		{"GET", "/debug/pprof", 301, "/debug/pprof/"},
		{"GET", "/Stats?format=json", 301, "/stats?format=json"},
		{"POST", "/pub/?topic=a", 307, "/pub?topic=a"},
		{"POST", "/Topic/Create?topic=a", 307, "/topic/create?topic=a"},
		{"GET", "/config/log_level/", 301, "/config/log_level"},
		{"GET", "/Config/Log_level", 301, "/config/Log_level"},
		{"GET", "/config//", 301, "/config/"},
	} {
		r := f.raw(c.method, c.target)
		if r.code != c.code || r.header.Get("Location") != c.location {
			t.Fatalf("%s %s: %d %q, want %d %q", c.method, c.target, r.code, r.header.Get("Location"), c.code, c.location)
		}
	}
}

func TestPanicAnswers500(t *testing.T) {
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.GetConfig = func(string) (any, bool) { panic("boom") }
	}})
	f.expectV1Error(f.do("GET", "/config/x", nil), http.StatusInternalServerError, "INTERNAL_ERROR")
	if !f.logs.contains("panic in HTTP handler - boom") {
		t.Fatalf("panic not logged: %q", f.logs.lines)
	}
}

func TestInvalidQuery(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	for _, target := range []string{
		"/topic/create?topic=a;b",
		"/topic/create?topic=%zz",
		"/stats?format=json&x=%",
		"/topic/delete?topic=a;",
		"/channel/create?topic=a&channel=%g",
	} {
		method := "POST"
		if strings.HasPrefix(target, "/stats") {
			method = "GET"
		}
		f.expectV1Error(f.raw(method, target), http.StatusBadRequest, "INVALID_REQUEST")
	}
	f.expectV1Error(f.do("POST", "/pub?topic=a;b", []byte("m")), http.StatusBadRequest, "INVALID_REQUEST")
	// escapes are decoded as url.ParseQuery decodes them
	f.expect(f.do("POST", "/pub?%74opic=a%2Bb+c", []byte("m")), http.StatusBadRequest, `{"message":"INVALID_TOPIC"}`)
	f.expect(f.do("POST", "/pub?%74opic=esc%2Dd", []byte("m")), http.StatusOK, "OK")
	if _, ok := f.eng.ExistingTopic("esc-d"); !ok {
		t.Fatal("escaped topic name not decoded")
	}
}
