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

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
	"github.com/nsqfast/nsq/wire/apidoc"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// upstreamAdmin starts upstream's nsqadmin binary (NSQADMIN_UPSTREAM_BIN,
// or /tmp/upstream-nsqadmin) with args and returns its base URL; the test
// is skipped without the binary.
func upstreamAdmin(t *testing.T, args ...string) string {
	t.Helper()
	bin := upstreamBinary(t, "NSQADMIN_UPSTREAM_BIN", "nsqadmin")
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

// upstreamBinary is the path of an upstream v1.3.0 binary: env, else
// /tmp/upstream-<name>; the test is skipped without it.
func upstreamBinary(t *testing.T, env, name string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		bin = "/tmp/upstream-" + name
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no upstream %s binary (set %s): %v", name, env, err)
	}
	return bin
}

// startProcess runs bin with args until the test ends and waits until
// http://<httpAddr>/ping answers.
func startProcess(t *testing.T, httpAddr, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	admintest.WaitFor(t, bin+" up", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestUpstreamDaemons: our nsqadmin against upstream's nsqlookupd and
// nsqd answers as upstream's nsqadmin does, and its actions act on them.
func TestUpstreamDaemons(t *testing.T) {
	nsqdBin := upstreamBinary(t, "NSQD_UPSTREAM_BIN", "nsqd")
	lookupdBin := upstreamBinary(t, "NSQLOOKUPD_UPSTREAM_BIN", "nsqlookupd")
	lTCP, lHTTP := admintest.FreeAddr(t), admintest.FreeAddr(t)
	startProcess(t, lHTTP, lookupdBin, "--tcp-address="+lTCP, "--http-address="+lHTTP, "--broadcast-address=127.0.0.1")
	nTCP, nHTTP := admintest.FreeAddr(t), admintest.FreeAddr(t)
	startProcess(t, nHTTP, nsqdBin, "--tcp-address="+nTCP, "--http-address="+nHTTP, "--data-path="+t.TempDir(),
		"--broadcast-address=127.0.0.1", "--lookupd-tcp-address="+lTCP)
	nsqd := "http://" + nHTTP
	mustDo(t, "POST", nsqd+"/topic/create?topic=orders", "")
	mustDo(t, "POST", nsqd+"/channel/create?topic=orders&channel=billing", "")
	mustDo(t, "POST", nsqd+"/channel/create?topic=orders&channel=archive", "")
	mustDo(t, "POST", nsqd+"/mpub?topic=orders", "a\nb\nc")
	cfg := gonsq.NewConfig()
	cfg.UserAgent = "admin-test/1.0"
	cons, err := gonsq.NewConsumer("orders", "billing", cfg)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	cons.SetLogger(nil, gonsq.LogLevelError)
	cons.AddHandler(gonsq.HandlerFunc(func(*gonsq.Message) error { <-release; return nil }))
	if err := cons.ConnectToNSQD(nTCP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(release)
		cons.Stop()
		<-cons.StopChan
	}()
	admintest.WaitFor(t, "registered, one in flight", func() bool {
		var l lookupdoc.Lookup
		var s apidoc.Stats
		return admintest.GetJSON("http://"+lHTTP+"/lookup?topic=orders", &l) == nil && len(l.Channels) == 2 &&
			admintest.GetJSON(nsqd+"/stats?format=json&topic=orders&channel=billing", &s) == nil &&
			len(s.Topics) == 1 && len(s.Topics[0].Channels) == 1 && s.Topics[0].Channels[0].InFlightCount == 1
	})

	theirs := upstreamAdmin(t, "--lookupd-http-address="+lHTTP)
	c := &admintest.Cluster{}
	ours := "http://" + c.StartAdmin(t, func(o *admin.Options) { o.NSQLookupdHTTPAddresses = []string{lHTTP} }).HTTPAddr().String()
	for _, p := range []string{"/api/topics", "/api/topics?inactive=true", "/api/topics/orders", "/api/topics/orders/billing",
		"/api/topics/orders/archive", "/api/nodes", "/api/nodes/" + nHTTP, "/api/counter"} {
		var a, b answer
		for range 5 {
			start := time.Now().Truncate(time.Second)
			a, b = fetch(t, "GET", theirs+p, ""), fetch(t, "GET", ours+p, "")
			if time.Now().Truncate(time.Second).Equal(start) {
				break
			}
		}
		if a != b || len(b.body) < 20 {
			t.Errorf("GET %s:\nupstream %+v\nours     %+v", p, a, b)
		}
	}

	channel := func(name string) apidoc.Channel {
		var s apidoc.Stats
		if err := admintest.GetJSON(nsqd+"/stats?format=json&topic=orders&channel="+name, &s); err != nil || len(s.Topics) != 1 || len(s.Topics[0].Channels) != 1 {
			return apidoc.Channel{ChannelName: "gone"}
		}
		return s.Topics[0].Channels[0]
	}
	mustDo(t, "POST", ours+"/api/topics/orders/archive", `{"action":"pause"}`)
	if !channel("archive").Paused {
		t.Error("not paused")
	}
	mustDo(t, "POST", ours+"/api/topics/orders/archive", `{"action":"empty"}`)
	if ch := channel("archive"); ch.Depth != 0 {
		t.Errorf("not emptied: %+v", ch)
	}
	mustDo(t, "DELETE", ours+"/api/topics/orders/archive", "")
	if ch := channel("archive"); ch.ChannelName != "gone" {
		t.Errorf("not deleted: %+v", ch)
	}
}
