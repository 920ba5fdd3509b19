//go:build !race

package httproute

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStaticRouteAllocatesNothing(t *testing.T) {
	rt := New()
	rt.Handle("POST", "/pub", func(http.ResponseWriter, *http.Request, Params) {})
	r := httptest.NewRequest("POST", "/pub", nil)
	w := &discard{h: http.Header{}}
	if n := testing.AllocsPerRun(100, func() { rt.ServeHTTP(w, r) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}
