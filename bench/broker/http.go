package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nsqfast/nsq/wire/apidoc"
)

// ErrNotFound is returned by Profile when the broker does not serve the
// profile (upstream nsqd has no /debug/fgprof).
var ErrNotFound = errors.New("broker: endpoint not served by this broker")

var client = &http.Client{Timeout: 0} // profiles take as long as asked; callers pass contexts

func do(ctx context.Context, method, addr, path string, query url.Values, w io.Writer) error {
	u := url.URL{Scheme: "http", Host: addr, Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w", method, path, ErrNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	if w == nil {
		w = io.Discard
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Ping asks GET /ping, with a one-second timeout.
func Ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return do(ctx, "GET", addr, "/ping", nil, nil)
}

// Stats fetches GET /stats?format=json, with the memory section when
// includeMem.
func Stats(ctx context.Context, addr string, includeMem bool) (*apidoc.Stats, error) {
	q := url.Values{"format": {"json"}}
	if includeMem {
		q.Set("include_mem", "true")
	}
	var w bytes.Buffer
	if err := do(ctx, "GET", addr, "/stats", q, &w); err != nil {
		return nil, err
	}
	var s apidoc.Stats
	if err := json.Unmarshal(w.Bytes(), &s); err != nil {
		return nil, fmt.Errorf("/stats: %w", err)
	}
	return &s, nil
}

// FreeMemory asks POST /debug/freememory (a forced GC and release of
// memory to the OS, in ours and upstream's nsqd).
func FreeMemory(ctx context.Context, addr string) error {
	return do(ctx, "POST", addr, "/debug/freememory", nil, nil)
}

// Profile writes the profile served at path (/debug/pprof/profile,
// /debug/fgprof) over the given seconds to w. It returns an error wrapping
// ErrNotFound when the broker does not serve it.
func Profile(ctx context.Context, addr, path string, seconds int, w io.Writer) error {
	return do(ctx, "GET", addr, path, url.Values{"seconds": {strconv.Itoa(seconds)}}, w)
}
