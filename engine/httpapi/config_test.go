package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeConfig stores options the way upstream's do: the log level as its
// integer, the lookupd addresses as a list.
type fakeConfig struct {
	mu      sync.Mutex
	level   int
	lookupd []string
	failSet bool
}

var levels = map[string]int{"debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}

func (c *fakeConfig) get(opt string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch opt {
	case "log_level":
		return c.level, true
	case "nsqlookupd_tcp_addresses":
		return append([]string{}, c.lookupd...), true
	case "broadcast_address":
		return "bcast.example", true
	}
	return nil, false
}

func (c *fakeConfig) set(opt string, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failSet {
		return errors.New("refused")
	}
	switch opt {
	case "log_level":
		c.level = levels[strings.ToLower(string(body))]
	case "nsqlookupd_tcp_addresses":
		c.lookupd = nil
		return json.Unmarshal(body, &c.lookupd)
	}
	return nil
}

func TestConfig(t *testing.T) {
	cfg := &fakeConfig{level: 2, lookupd: []string{}}
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.GetConfig, o.SetConfig = cfg.get, cfg.set
		o.MaxMsgSize = 64
	}})
	r := f.do("GET", "/config/log_level", nil)
	f.expect(r, http.StatusOK, "2")
	if r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	f.expect(f.do("GET", "/config/nsqlookupd_tcp_addresses", nil), http.StatusOK, "[]")
	// a string value is written bare, as upstream
	r = f.do("GET", "/config/broadcast_address", nil)
	f.expect(r, http.StatusOK, "bcast.example")
	if r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("string content type %q", r.header.Get("Content-Type"))
	}
	f.expectV1Error(f.do("GET", "/config/nope", nil), http.StatusBadRequest, "INVALID_OPTION")

	f.expect(f.do("PUT", "/config/log_level", []byte("WARN")), http.StatusOK, "3")
	f.expect(f.do("GET", "/config/log_level", nil), http.StatusOK, "3")
	f.expect(f.do("PUT", "/config/nsqlookupd_tcp_addresses", []byte(`["a:4160","b:4160"]`)), http.StatusOK, `["a:4160","b:4160"]`)
	if !f.logs.contains("200 PUT /config/nsqlookupd_tcp_addresses (") {
		t.Fatalf("not logged: %q", f.logs.lines)
	}

	for _, c := range []struct {
		opt, body string
		code      int
		text      string
	}{
		{"log_level", "", 413, "INVALID_VALUE"},
		{"log_level", strings.Repeat("x", 65), 413, "INVALID_VALUE"},
		{"log_level", "warning", 400, "INVALID_VALUE"},
		{"log_level", "info\n", 400, "INVALID_VALUE"},
		{"nsqlookupd_tcp_addresses", `"a:4160"`, 400, "INVALID_VALUE"},
		{"nsqlookupd_tcp_addresses", `[1]`, 400, "INVALID_VALUE"},
		{"broadcast_address", "x", 400, "INVALID_OPTION"},
		{"nope", "x", 400, "INVALID_OPTION"},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		f.expectV1Error(f.do("PUT", "/config/"+c.opt, body), c.code, c.text)
	}
	f.expect(f.do("GET", "/config/log_level", nil), http.StatusOK, "3")

	cfg.failSet = true
	f.expectV1Error(f.do("PUT", "/config/log_level", []byte("debug")), http.StatusBadRequest, "INVALID_VALUE")

	// without callbacks every option is invalid
	g := newFixture(t, fixtureConfig{})
	g.expectV1Error(g.do("GET", "/config/log_level", nil), http.StatusBadRequest, "INVALID_OPTION")
	g.expectV1Error(g.do("PUT", "/config/log_level", []byte("info")), http.StatusBadRequest, "INVALID_OPTION")
}

func TestDebug(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	for _, p := range []string{
		"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/heap",
		"/debug/pprof/goroutine?debug=1", "/debug/pprof/block", "/debug/pprof/threadcreate",
		"/debug/pprof/allocs", "/debug/pprof/mutex", "/debug/pprof/profile?seconds=1",
		"/debug/pprof/trace?seconds=0.1", "/debug/fgprof?seconds=1",
	} {
		if r := f.do("GET", p, nil); r.code != http.StatusOK || r.body == "" {
			t.Fatalf("%s: %d %.200s", p, r.code, r.body)
		}
	}
	if r := f.do("POST", "/debug/pprof/symbol", []byte("0x1")); r.code != http.StatusOK {
		t.Fatalf("POST symbol: %d", r.code)
	}

	// upstream answers these 500 INTERNAL_ERROR after doing the work
	r := f.do("PUT", "/debug/setblockrate", nil)
	f.expect(r, http.StatusBadRequest, `invalid block rate : strconv.Atoi: parsing "": invalid syntax`)
	if r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-NSQ-Content-Type") != "" {
		t.Fatalf("headers %v", r.header)
	}
	f.expectV1Error(f.do("PUT", "/debug/setblockrate?rate=0", nil), http.StatusInternalServerError, "INTERNAL_ERROR")
	f.expectV1Error(f.do("POST", "/debug/freememory", nil), http.StatusInternalServerError, "INTERNAL_ERROR")
}
