package httproute

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func testRouter() *Router {
	rt := New()
	echo := func(w http.ResponseWriter, r *http.Request, ps Params) {
		w.Write([]byte(r.Method + " " + ps.ByName("a") + "|" + ps.ByName("b") + "|" + ps.ByName("rest")))
	}
	rt.Handle("GET", "/ping", echo)
	rt.Handle("POST", "/pub", echo)
	rt.Handle("PUT", "/pub", echo)
	rt.Handle("GET", "/config/:a", echo)
	rt.Handle("PUT", "/config/:a", echo)
	rt.Handle("GET", "/api/topics/:a/:b", echo)
	rt.Handle("GET", "/static/*rest", echo)
	return rt
}

func TestRouting(t *testing.T) {
	rt := testRouter()
	cases := []struct {
		method, path string
		code         int
		body, header string
	}{
		{"GET", "/ping", 200, "GET ||", ""},
		{"GET", "/config/log_level", 200, "GET log_level||", ""},
		{"GET", "/api/topics/t1/c1", 200, "GET t1|c1|", ""},
		{"GET", "/static/js/app.js", 200, "GET ||/js/app.js", ""},
		{"GET", "/pub", 405, "", "OPTIONS, POST, PUT"},
		{"OPTIONS", "/pub", 200, "", "OPTIONS, POST, PUT"},
		{"DELETE", "/config/x", 405, "", "GET, OPTIONS, PUT"},
		{"GET", "/ping/", 301, "", "/ping"},
		{"POST", "/PUB", 307, "", "/pub"},
		{"GET", "/a/../ping", 301, "", "/ping"},
		{"GET", "/CONFIG/x", 301, "", "/config/x"},
		{"GET", "/config//", 301, "", "/config/"},
		{"GET", "/config/", 404, "", ""},
		{"GET", "/nope", 404, "", ""},
		{"GET", "/api/topics/t1", 404, "", ""},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, w.Code, tc.code)
			continue
		}
		switch {
		case tc.code == 200 && w.Body.String() != tc.body:
			t.Errorf("%s %s: body %q, want %q", tc.method, tc.path, w.Body.String(), tc.body)
		case tc.code == 405 || (tc.code == 200 && tc.method == "OPTIONS"):
			if got := w.Header().Get("Allow"); got != tc.header {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.header)
			}
		case tc.code == 301 || tc.code == 307:
			if got := w.Header().Get("Location"); got != tc.header {
				t.Errorf("%s %s: Location %q, want %q", tc.method, tc.path, got, tc.header)
			}
		}
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkStaticRoute(b *testing.B) {
	rt := testRouter()
	r := httptest.NewRequest("POST", "/pub", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rt.ServeHTTP(w, r)
	}
}
