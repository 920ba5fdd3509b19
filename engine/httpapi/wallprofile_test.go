package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWallProfileEndsWithItsRequest: /debug/fgprof ends when its request's
// context does (nsqd stopping, the client gone), even before its first
// sample, with a well-formed gzipped profile; bad seconds are a 400.
func TestWallProfileEndsWithItsRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	wallProfile(w, httptest.NewRequest("GET", "/debug/fgprof?seconds=3600", nil).WithContext(ctx))
	if b := w.Body.Bytes(); w.Code != http.StatusOK || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("status %d, %d bytes: want 200 and a gzipped profile", w.Code, len(b))
	}
	for _, bad := range []string{"0", "-1", "x"} {
		w := httptest.NewRecorder()
		wallProfile(w, httptest.NewRequest("GET", "/debug/fgprof?seconds="+bad, nil))
		if w.Code != http.StatusBadRequest {
			t.Errorf("seconds=%s: status %d, want 400", bad, w.Code)
		}
	}
}
