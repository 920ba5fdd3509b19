package admin_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
)

// upstreamAdmin starts upstream's nsqadmin binary (NSQADMIN_UPSTREAM_BIN,
// or /tmp/upstream-nsqadmin) with args and returns its base URL; the test
// is skipped without the binary.
func upstreamAdmin(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("NSQADMIN_UPSTREAM_BIN")
	if bin == "" {
		bin = "/tmp/upstream-nsqadmin"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no upstream nsqadmin binary (set NSQADMIN_UPSTREAM_BIN; build it with: cd nsq && go build -o /tmp/upstream-nsqadmin ./apps/nsqadmin): %v", err)
	}
	addr := admintest.FreeAddr(t)
	cmd := exec.Command(bin, append([]string{"--http-address=" + addr}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	admintest.WaitFor(t, "upstream nsqadmin", func() bool {
		resp, err := http.Get(base + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

type answer struct {
	code        int
	contentType string
	v1          string
	body        string
}

func fetch(t *testing.T, method, u, body string) answer {
	t.Helper()
	a := admintest.Request(t, method, u, body)
	return answer{a.Code, a.Header.Get("Content-Type"), a.Header.Get("X-Nsq-Content-Type"),
		connected.ReplaceAllString(a.Body, `"connected":0`)}
}

// canonical sorts every list of objects that have a "node" key by it
// (upstream lists equal hostnames in arrival order), and re-encodes.
func canonical(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
			slices.SortStableFunc(x, func(a, b any) int {
				am, _ := a.(map[string]any)
				bm, _ := b.(map[string]any)
				an, _ := am["node"].(string)
				bn, _ := bm["node"].(string)
				if an == bn {
					ar, _ := am["remote_address"].(string)
					br, _ := bm["remote_address"].(string)
					return strings.Compare(ar, br)
				}
				return strings.Compare(an, bn)
			})
		}
		return x
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

// TestDifferential runs upstream's nsqadmin and ours against the same
// cluster (of our nsqd and nsqlookupd) and compares their answers: byte
// for byte with one nsqd, and with lists put in one order with two.
func TestDifferential(t *testing.T) {
	c, _ := single(t, nil)
	theirs := upstreamAdmin(t, "--lookupd-http-address="+c.LookupdHTTP()[0])
	ours := c.URL("")
	paths := []string{
		"/api/topics", "/api/topics?inactive=true", "/api/topics/orders", "/api/topics/orders/billing",
		"/api/topics/orders/archive", "/api/topics/orders/nope", "/api/topics/unknown", "/api/topics/unknown/c",
		"/api/nodes", "/api/nodes/" + c.Node(0), "/api/nodes/127.0.0.1:1", "/api/counter",
		"/api/nope", "/nope", "/static/nope.js", "/ping",
		"/config/log_level", "/config/nsqlookupd_http_addresses", "/config/nsqd_http_addresses",
		"/config/statsd_prefix", "/config/statsd_interval", "/config/http_client_request_timeout",
		"/config/admin_users", "/config/acl_http_header", "/config/allow_config_from_cidr",
		"/config/proxy_graphite", "/config/graphite_url", "/config/base_path", "/config/nope",
		"/api/graphite?metric=depth", "/api/graphite?metric=rate",
	}
	// a client's "connected" is computed to the second when read: read
	// both within one second
	for _, p := range paths {
		var a, b answer
		for range 5 {
			start := time.Now().Truncate(time.Second)
			a, b = fetch(t, "GET", theirs+p, ""), fetch(t, "GET", ours+p, "")
			if time.Now().Truncate(time.Second).Equal(start) {
				break
			}
		}
		if a != b {
			t.Errorf("GET %s:\nupstream %d %q %q\n%s\nours     %d %q %q\n%s", p, a.code, a.contentType, a.v1, a.body, b.code, b.contentType, b.v1, b.body)
		}
	}
	calls := []struct{ method, path, body string }{
		{"POST", "/api/topics/orders", `{"action":"explode"}`},
		{"POST", "/api/topics/orders/billing", `not json`},
		{"POST", "/api/topics", `{"topic":"bad name"}`},
		{"POST", "/api/topics", `{"topic":"ok","channel":"bad name"}`},
		{"POST", "/api/topics", `[`},
		{"DELETE", "/api/nodes/" + c.Node(0), `{"topic":"bad name"}`},
		{"DELETE", "/api/nodes/" + c.Node(0), `x`},
		{"PUT", "/config/log_level", `loud`},
		{"PUT", "/config/log_level", ``},
		{"PUT", "/config/graphite_url", `x`},
		{"PATCH", "/api/topics/orders", ``},
		{"OPTIONS", "/api/topics/orders", ``},
		{"GET", "/api/topics/", ``},
		{"GET", "/API/topics", ``},
	}
	for _, call := range calls {
		a := fetch(t, call.method, theirs+call.path, call.body)
		b := fetch(t, call.method, ours+call.path, call.body)
		if a != b {
			t.Errorf("%s %s %q:\nupstream %+v\nours     %+v", call.method, call.path, call.body, a, b)
		}
	}
}

// TestDifferentialTwoNodes: the same with two nsqd (and topics whose
// channels live on one nsqd each, where upstream's sums are right).
func TestDifferentialTwoNodes(t *testing.T) {
	c := admintest.Start(t, admintest.Config{NSQDs: 2, Lookupds: 2})
	// topic "t" exists on both nsqd before its channels do, so each
	// channel lives on one nsqd (nsqd copy the channels nsqlookupd knows
	// only when they create a topic); topic "shared" has its channel on
	// both, where upstream's topic document differs (see below)
	for i := range 2 {
		mustDo(t, "POST", c.NSQDURL(i, "/topic/create?topic=t"), "")
		c.CreateChannel(t, i, "shared", "both")
	}
	c.WaitRegistered(t, "t", "", 2)
	c.CreateChannel(t, 0, "t", "a")
	c.CreateChannel(t, 1, "t", "b")
	c.Publish(t, 0, "t", "1", "2")
	c.Publish(t, 1, "t", "3")
	c.Publish(t, 1, "shared", "x")
	c.CreateChannel(t, 1, "solo", "s")
	c.Consume(t, 0, "t", "a", true, nil)
	admintest.WaitFor(t, "in flight", func() bool { return c.Channel(t, 0, "t", "a").InFlightCount == 1 })
	c.WaitRegistered(t, "t", "b", 2)
	c.WaitRegistered(t, "solo", "s", 1)
	c.WaitRegistered(t, "shared", "both", 2)
	lookupds := c.LookupdHTTP()
	theirs := upstreamAdmin(t, "--lookupd-http-address="+lookupds[0], "--lookupd-http-address="+lookupds[1])
	paths := []string{"/api/topics", "/api/topics/t", "/api/topics/t/a", "/api/topics/t/b", "/api/topics/solo",
		"/api/topics/shared", "/api/topics/shared/both",
		"/api/nodes", "/api/nodes/" + c.Node(0), "/api/nodes/" + c.Node(1), "/api/counter"}
	for _, p := range paths {
		var a, b answer
		for range 5 {
			start := time.Now().Truncate(time.Second)
			a, b = fetch(t, "GET", theirs+p, ""), fetch(t, "GET", c.URL(p), "")
			if time.Now().Truncate(time.Second).Equal(start) {
				break
			}
		}
		if p == "/api/topics/shared" {
			// a channel on several nsqd: upstream sums it into the first
			// nsqd's own entry (which then appears in place of that nsqd's
			// channel under "nodes"), and lists only the other nsqd under
			// the sum's "nodes"; we leave each nsqd's entry alone and list
			// them all (docs/COMPATIBILITY.md). The sums must agree.
			a.body, b.body = withoutChannelNodes(a.body), withoutChannelNodes(b.body)
		}
		a.body, b.body = canonical(a.body), canonical(b.body)
		if p == "/api/nodes" {
			// each producer's remote_addresses list the nsqlookupd in
			// whichever order they answered upstream, and its
			// remote_address is the first one's
			a.body, b.body = sortNodes(sortRemote(a.body)), sortNodes(sortRemote(b.body))
		}
		if a != b {
			t.Errorf("GET %s:\nupstream %+v\nours     %+v", p, a, b)
		}
	}

	// nsqd mode
	theirs = upstreamAdmin(t, "--nsqd-http-address="+c.Node(0), "--nsqd-http-address="+c.Node(1))
	ours := c.StartAdmin(t, func(o *admin.Options) {
		o.NSQLookupdHTTPAddresses = nil
		o.NSQDHTTPAddresses = []string{c.Node(0), c.Node(1)}
	})
	for _, p := range []string{"/api/topics", "/api/topics/t", "/api/topics/t/a", "/api/topics/solo", "/api/nodes", "/api/nodes/" + c.Node(1), "/api/counter", "/api/topics?inactive=true"} {
		a, b := fetch(t, "GET", theirs+p, ""), fetch(t, "GET", "http://"+ours.HTTPAddr().String()+p, "")
		a.body, b.body = canonical(a.body), canonical(b.body)
		if p == "/api/nodes" {
			a.body, b.body = sortNodes(a.body), sortNodes(b.body)
		}
		if a != b {
			t.Errorf("nsqd mode GET %s:\nupstream %+v\nours     %+v", p, a, b)
		}
	}
}

func sortRemote(s string) string {
	var doc map[string]any
	if json.Unmarshal([]byte(s), &doc) != nil {
		return s
	}
	nodes, _ := doc["nodes"].([]any)
	for _, n := range nodes {
		m := n.(map[string]any)
		if ra, ok := m["remote_addresses"].([]any); ok {
			slices.SortFunc(ra, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
		// as the first nsqlookupd to answer sees the nsqd
		delete(m, "remote_address")
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// sortNodes orders producers by HTTP port: upstream lists those with the
// same hostname in the order their answers arrived.
func sortNodes(s string) string {
	var doc map[string]any
	if json.Unmarshal([]byte(s), &doc) != nil {
		return s
	}
	nodes, _ := doc["nodes"].([]any)
	slices.SortFunc(nodes, func(a, b any) int {
		return int(a.(map[string]any)["http_port"].(float64) - b.(map[string]any)["http_port"].(float64))
	})
	b, _ := json.Marshal(doc)
	return string(b)
}

// withoutChannelNodes drops, from a topic document, each summed channel's
// "nodes" and each nsqd's "channels".
func withoutChannelNodes(s string) string {
	var doc map[string]any
	if json.Unmarshal([]byte(s), &doc) != nil {
		return s
	}
	chans, _ := doc["channels"].([]any)
	for _, c := range chans {
		delete(c.(map[string]any), "nodes")
	}
	nodes, _ := doc["nodes"].([]any)
	for _, n := range nodes {
		delete(n.(map[string]any), "channels")
	}
	b, _ := json.Marshal(doc)
	return string(b)
}
