package nsqd

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestExitEndsLongProfiles: a CPU profile and a wall-clock profile asked
// for 60 seconds are under way when nsqd stops; both end at once with
// what they sampled (a gzipped pprof profile, status 200) instead of
// holding up the stop, or being cut off without an answer.
func TestExitEndsLongProfiles(t *testing.T) {
	n := startNSQD(t, nil)
	type result struct {
		path   string
		status int
		body   []byte
		err    error
	}
	client := &http.Client{Timeout: 30 * time.Second} // well under the 60 s asked for
	paths := []string{"/debug/pprof/profile?seconds=60", "/debug/fgprof?seconds=60"}
	done := make(chan result, len(paths))
	for _, p := range paths {
		go func() {
			resp, err := client.Get(httpURL(n, p))
			if err != nil {
				done <- result{path: p, err: err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			done <- result{p, resp.StatusCode, body, err}
		}()
	}
	waitFor(t, "both profiles under way", func() bool {
		resp, err := http.Get(httpURL(n, "/debug/pprof/goroutine?debug=2"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "pprof.Profile(") && strings.Contains(string(b), "httpapi.wallProfile(")
	})
	n.Exit()
	for range paths {
		r := <-done
		if r.err != nil || r.status != http.StatusOK || len(r.body) < 2 || r.body[0] != 0x1f || r.body[1] != 0x8b {
			t.Errorf("%s: status %d, %d bytes %q, error %v; want 200 and a gzipped profile", r.path, r.status, len(r.body), r.body[:min(len(r.body), 80)], r.err)
		}
	}
}
