package admin_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

var (
	do     = admintest.Do
	mustDo = admintest.MustDo
)

// single is the document fixture: one nsqlookupd, one nsqd with topic
// "orders" (3 messages) and its channels "archive" (no consumer) and
// "billing" (one consumer holding one message), and "ghost", a topic only
// nsqlookupd knows, with channel "gc".
func single(t *testing.T, mutate func(*admin.Options)) (*admintest.Cluster, *strings.Replacer) {
	t.Helper()
	c := admintest.Start(t, admintest.Config{Admin: mutate})
	c.CreateChannel(t, 0, "orders", "archive")
	c.CreateChannel(t, 0, "orders", "billing")
	c.Publish(t, 0, "orders", "a", "b", "c")
	cfg := gonsq.NewConfig()
	cfg.UserAgent = "admin-test/1.0"
	cfg.SampleRate = 99 // every message: rand.Int31n(100) > 99 never holds
	cfg.Snappy = true
	c.Consume(t, 0, "orders", "billing", true, cfg)
	admintest.WaitFor(t, "one message in flight", func() bool {
		ch := c.Channel(t, 0, "orders", "billing")
		return ch != nil && ch.InFlightCount == 1
	})
	lookupd := c.LookupdHTTP()[0]
	mustDo(t, "POST", "http://"+lookupd+"/topic/create?topic=ghost", "")
	mustDo(t, "POST", "http://"+lookupd+"/channel/create?topic=ghost&channel=gc", "")
	c.WaitRegistered(t, "orders", "billing", 1)

	var nodes lookupdoc.Nodes
	if err := admintest.GetJSON("http://"+lookupd+"/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	p := nodes.Producers[0]
	client := c.Stats(t, 0).Topics[0].Channels[1].Clients[0]
	r := strings.NewReplacer(
		c.Node(0), "{N}",
		`"hostname":"`+host+`"`, `"hostname":"{HOST}"`,
		`"client_id":"`+client.ClientID+`"`, `"client_id":"{ID}"`,
		`"http_port":`+strconv.Itoa(p.HTTPPort), `"http_port":{HP}`,
		`"tcp_port":`+strconv.Itoa(p.TCPPort), `"tcp_port":{TP}`,
		lookupd+"/"+p.RemoteAddress, "{L}/{R}",
		p.RemoteAddress, "{R}",
		client.RemoteAddress, "{CA}",
		`"connect_ts":`+strconv.FormatInt(client.ConnectTime, 10), `"connect_ts":{CTS}`,
	)
	return c, r
}

var connected = regexp.MustCompile(`"connected":\d+`)

// get GETs path of nsqadmin and returns the body with the fixture's
// variable parts replaced by placeholders.
func get(t *testing.T, c *admintest.Cluster, r *strings.Replacer, path string) (int, string) {
	t.Helper()
	code, body := do(t, "GET", c.URL(path), "")
	return code, connected.ReplaceAllString(r.Replace(body), `"connected":{CON}`)
}

const (
	noLatency     = `"e2e_processing_latency":{"count":0,"percentiles":null,"topic":"","channel":"","host":""}`
	archiveOnNode = `{"node":"{N}","hostname":"{HOST}","topic_name":"orders","channel_name":"archive","depth":3,"memory_depth":3,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":3,"client_count":0,"nodes":null,"clients":%s,"paused":false,` + noLatency + `}`
	billingOnNode = `{"node":"{N}","hostname":"{HOST}","topic_name":"orders","channel_name":"billing","depth":2,"memory_depth":2,"backend_depth":0,"in_flight_count":1,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":3,"client_count":1,"nodes":null,"clients":%s,"paused":false,` + noLatency + `}`
	billingClient = `{"node":"{N}","remote_address":"{CA}","version":"V2","client_id":"{ID}","hostname":"{HOST}","user_agent":"admin-test/1.0","connect_ts":{CTS},"connected":{CON},"in_flight_count":1,"ready_count":1,"finish_count":0,"requeue_count":0,"message_count":1,"sample_rate":99,"deflate":false,"snappy":true,"authed":false,"auth_identity":"","auth_identity_url":"","tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}`
)

func fill(format, clients string) string { return strings.ReplaceAll(format, "%s", clients) }

// TestDocuments checks every GET of the API byte for byte, in the shape
// upstream v1.3.0 answers (see also TestDifferential, which compares with
// upstream's binary itself).
func TestDocuments(t *testing.T) {
	c, r := single(t, nil)
	ordersOnNode := `{"node":"{N}","hostname":"{HOST}","topic_name":"orders","depth":0,"memory_depth":0,"backend_depth":0,"message_count":3,"nodes":null,"channels":[%s],"paused":false,` + noLatency + `}`
	cases := []struct {
		path string
		code int
		want string
	}{
		{"/api/topics", 200, `{"topics":["ghost","orders"],"message":""}`},
		{"/api/topics?inactive=true", 200, `{"topics":{"ghost":["gc"]},"message":""}`},
		{"/api/topics/orders", 200, `{"node":"*","hostname":"","topic_name":"orders","depth":0,"memory_depth":0,"backend_depth":0,"message_count":3,` +
			`"nodes":[` + fill(ordersOnNode, fill(archiveOnNode, "null")+","+fill(billingOnNode, "null")) + `],` +
			`"channels":[` + fill(archiveOnNode, "null") + "," + fill(billingOnNode, "null") + `],"paused":false,` +
			`"e2e_processing_latency":{"count":0,"percentiles":null,"topic":"orders","channel":"","host":"*"},"message":""}`},
		{"/api/topics/orders/billing", 200, `{"node":"*","hostname":"","topic_name":"orders","channel_name":"billing","depth":2,"memory_depth":2,"backend_depth":0,"in_flight_count":1,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":3,"client_count":1,` +
			`"nodes":[` + fill(billingOnNode, "["+billingClient+"]") + `],"clients":[` + billingClient + `],"paused":false,` +
			`"e2e_processing_latency":{"count":0,"percentiles":null,"topic":"orders","channel":"billing","host":"*"},"message":""}`},
		{"/api/topics/orders/archive", 200, `{"node":"*","hostname":"","topic_name":"orders","channel_name":"archive","depth":3,"memory_depth":3,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":3,"client_count":0,` +
			`"nodes":[` + fill(archiveOnNode, "[]") + `],"clients":null,"paused":false,` +
			`"e2e_processing_latency":{"count":0,"percentiles":null,"topic":"orders","channel":"archive","host":"*"},"message":""}`},
		// a channel no nsqd has, of a topic that exists: upstream's empty document
		{"/api/topics/orders/nope", 200, `{"message":""}`},
		// a topic nsqlookupd knows but no nsqd has (upstream: 502)
		{"/api/topics/ghost", 200, `{"node":"","hostname":"","topic_name":"ghost","depth":0,"memory_depth":0,"backend_depth":0,"message_count":0,"nodes":null,"channels":null,"paused":false,"e2e_processing_latency":null,"message":""}`},
		{"/api/topics/ghost/gc", 200, `{"node":"","hostname":"","topic_name":"ghost","channel_name":"gc","depth":0,"memory_depth":0,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":0,"client_count":0,"nodes":null,"clients":null,"paused":false,"e2e_processing_latency":null,"message":""}`},
		{"/api/topics/unknown", 502, `{"message":"UPSTREAM_ERROR: failed to query any nsqlookupd: got response 404 Not Found \"{\\\"message\\\":\\\"TOPIC_NOT_FOUND\\\"}\""}`},
		{"/api/nodes", 200, `{"nodes":[{"remote_addresses":["{L}/{R}"],"remote_address":"{R}","hostname":"{HOST}","broadcast_address":"127.0.0.1","tcp_port":{TP},"http_port":{HP},"version":"1.3.0",` +
			`"topics":[{"topic":"orders","tombstoned":false}],"out_of_date":false}],"message":""}`},
		{"/api/nodes/{N}", 200, `{"node":"{N}","topics":[` + fill(ordersOnNode, fill(archiveOnNode, "[]")+","+fill(billingOnNode, "["+billingClient+"]")) + `],"total_messages":3,"total_clients":1,"message":""}`},
		{"/api/nodes/127.0.0.1:1", 404, `{"message":"NODE_NOT_FOUND"}`},
		{"/api/counter", 200, `{"stats":{"orders:archive:{N}":{"node":"{N}","topic_name":"orders","channel_name":"archive","message_count":3},"orders:billing:{N}":{"node":"{N}","topic_name":"orders","channel_name":"billing","message_count":3}},"message":""}`},
		{"/api/nope", 404, `{"message":"NOT_FOUND"}`},
		{"/config/log_level", 200, `2`},
		{"/config/statsd_interval", 200, `60000000000`},
		{"/config/admin_users", 200, `[]`},
		{"/config/proxy_graphite", 200, `false`},
		{"/config/statsd_prefix", 200, `nsq.%s`},
		{"/config/graphite_url", 200, ``},
		{"/config/nope", 400, `{"message":"INVALID_OPTION"}`},
		{"/ping", 200, `OK`},
	}
	for _, tc := range cases {
		path := strings.ReplaceAll(tc.path, "{N}", c.Node(0))
		code, got := get(t, c, r, path)
		if code != tc.code || got != tc.want {
			t.Errorf("GET %s: %d\n%s\nwant %d\n%s", tc.path, code, got, tc.code, tc.want)
		}
	}

	// headers: V1 documents are JSON with upstream's content type header;
	// string options and /ping are not
	resp, err := http.Get(c.URL("/api/topics"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if v := resp.Header.Get("X-NSQ-Content-Type"); v != "nsq; version=1.0" {
		t.Errorf("X-NSQ-Content-Type %q", v)
	}
	// 405 with upstream's Allow header
	req, _ := http.NewRequest("PATCH", c.URL("/api/topics/orders"), nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "DELETE, GET, OPTIONS, POST" || string(b) != `{"message":"METHOD_NOT_ALLOWED"}` {
		t.Errorf("PATCH: %d %q %s", resp.StatusCode, resp.Header.Get("Allow"), b)
	}
}

// TestTwoNodes: with the topic on two nsqd, every sum is the sum of what
// each nsqd's /stats reports, and each nsqd's own entry is left as it is.
func TestTwoNodes(t *testing.T) {
	c := admintest.Start(t, admintest.Config{NSQDs: 2, Lookupds: 2})
	for i := range 2 {
		c.CreateChannel(t, i, "t", "c1")
	}
	c.CreateChannel(t, 1, "t", "c2")
	c.Publish(t, 0, "t", "a", "b")
	c.Publish(t, 1, "t", "c", "d", "e")
	c.Consume(t, 1, "t", "c1", true, nil)
	admintest.WaitFor(t, "in flight", func() bool { return c.Channel(t, 1, "t", "c1").InFlightCount == 1 })
	c.WaitRegistered(t, "t", "c2", 2)

	type chanDoc struct {
		Node          string    `json:"node"`
		ChannelName   string    `json:"channel_name"`
		Depth         int64     `json:"depth"`
		InFlightCount int64     `json:"in_flight_count"`
		MessageCount  int64     `json:"message_count"`
		ClientCount   int       `json:"client_count"`
		Nodes         []chanDoc `json:"nodes"`
		Clients       []struct {
			Node string `json:"node"`
		} `json:"clients"`
	}
	var topic struct {
		Node         string `json:"node"`
		MessageCount int64  `json:"message_count"`
		Nodes        []struct {
			Node         string    `json:"node"`
			MessageCount int64     `json:"message_count"`
			Channels     []chanDoc `json:"channels"`
		} `json:"nodes"`
		Channels []chanDoc `json:"channels"`
	}
	if err := admintest.GetJSON(c.URL("/api/topics/t"), &topic); err != nil {
		t.Fatal(err)
	}
	s0, s1 := c.Topic(t, 0, "t"), c.Topic(t, 1, "t")
	if topic.Node != "*" || topic.MessageCount != int64(s0.MessageCount+s1.MessageCount) || topic.MessageCount != 5 || len(topic.Nodes) != 2 {
		t.Fatalf("topic sum %+v", topic)
	}
	for _, n := range topic.Nodes {
		for _, ch := range n.Channels {
			if ch.Node != n.Node || ch.Nodes != nil {
				t.Errorf("node %s: its channel %s was changed: %+v", n.Node, ch.ChannelName, ch)
			}
		}
	}
	if len(topic.Channels) != 2 {
		t.Fatalf("channels %+v", topic.Channels)
	}
	c1, c2 := topic.Channels[0], topic.Channels[1]
	if c1.ChannelName != "c1" || c1.Node != "*" || len(c1.Nodes) != 2 || c1.MessageCount != 5 || c1.Depth != 4 || c1.InFlightCount != 1 {
		t.Errorf("c1 %+v", c1)
	}
	// on one nsqd only: that nsqd's entry, as upstream
	if c2.ChannelName != "c2" || c2.Node != c.Node(1) || c2.Nodes != nil || c2.MessageCount != 3 {
		t.Errorf("c2 %+v", c2)
	}

	var ch chanDoc
	if err := admintest.GetJSON(c.URL("/api/topics/t/c1"), &ch); err != nil {
		t.Fatal(err)
	}
	if ch.Node != "*" || ch.Depth != 4 || ch.MessageCount != 5 || ch.ClientCount != 1 || len(ch.Nodes) != 2 ||
		len(ch.Clients) != 1 || ch.Clients[0].Node != c.Node(1) {
		t.Errorf("channel %+v", ch)
	}
	for _, n := range ch.Nodes {
		want := c.Channel(t, 0, "t", "c1")
		if n.Node == c.Node(1) {
			want = c.Channel(t, 1, "t", "c1")
		}
		if n.Depth != want.Depth || n.MessageCount != int64(want.MessageCount) {
			t.Errorf("channel on %s: %+v, nsqd says %+v", n.Node, n, want)
		}
	}

	var nodes struct {
		Nodes []struct {
			HTTPPort        int      `json:"http_port"`
			RemoteAddresses []string `json:"remote_addresses"`
		} `json:"nodes"`
	}
	if err := admintest.GetJSON(c.URL("/api/nodes"), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Nodes) != 2 || len(nodes.Nodes[0].RemoteAddresses) != 2 || len(nodes.Nodes[1].RemoteAddresses) != 2 {
		t.Errorf("nodes %+v", nodes)
	}

	var counter struct {
		Stats map[string]struct {
			MessageCount int64 `json:"message_count"`
		} `json:"stats"`
	}
	if err := admintest.GetJSON(c.URL("/api/counter"), &counter); err != nil {
		t.Fatal(err)
	}
	if len(counter.Stats) != 3 || counter.Stats["t:c1:"+c.Node(0)].MessageCount != 2 ||
		counter.Stats["t:c1:"+c.Node(1)].MessageCount != 3 || counter.Stats["t:c2:"+c.Node(1)].MessageCount != 3 {
		t.Errorf("counter %+v", counter)
	}
}

// TestPartialFailure: an nsqlookupd that does not answer makes documents
// carry a warning; when none answers, the call fails with 502.
func TestPartialFailure(t *testing.T) {
	dead := admintest.FreeAddr(t)
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) {
		o.NSQLookupdHTTPAddresses = append(o.NSQLookupdHTTPAddresses, dead)
	}})
	c.Publish(t, 0, "t", "x")
	c.WaitRegistered(t, "t", "", 1)
	code, body := do(t, "GET", c.URL("/api/topics"), "")
	var doc struct {
		Topics  []string `json:"topics"`
		Message string   `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(doc.Topics) != 1 || !strings.HasPrefix(doc.Message, "WARNING: Get \"http://"+dead+"/topics\": dial tcp "+dead+": connect: connection refused") {
		t.Errorf("partial: %s", body)
	}

	only := c.StartAdmin(t, func(o *admin.Options) { o.NSQLookupdHTTPAddresses = []string{dead} })
	code, body = do(t, "GET", "http://"+only.HTTPAddr().String()+"/api/nodes", "")
	want := `{"message":"UPSTREAM_ERROR: failed to query any nsqlookupd: Get \"http://` + dead + `/nodes\": dial tcp ` + dead + `: connect: connection refused"}`
	if code != 502 || body != want {
		t.Errorf("all down: %d %s\nwant %s", code, body, want)
	}
}

// TestActions: every action of the API changes the brokers as upstream's
// does.
func TestActions(t *testing.T) {
	c := admintest.Start(t, admintest.Config{NSQDs: 2})
	for i := range 2 {
		c.CreateChannel(t, i, "t", "ch")
		c.CreateChannel(t, i, "t", "other")
		c.Publish(t, i, "t", "a", "b")
	}
	c.WaitRegistered(t, "t", "other", 2)
	post := func(path, body string) {
		t.Helper()
		if got := mustDo(t, "POST", c.URL(path), body); got != `{"message":""}` {
			t.Fatalf("POST %s: %s", path, got)
		}
	}
	both := func(what string, cond func(i int) bool) {
		t.Helper()
		for i := range 2 {
			if !cond(i) {
				t.Fatalf("nsqd %d: %s", i, what)
			}
		}
	}

	post("/api/topics/t/ch", `{"action":"pause"}`)
	both("channel paused", func(i int) bool { return c.Channel(t, i, "t", "ch").Paused })
	both("other channel not paused", func(i int) bool { return !c.Channel(t, i, "t", "other").Paused })
	post("/api/topics/t/ch", `{"action":"unpause"}`)
	both("channel unpaused", func(i int) bool { return !c.Channel(t, i, "t", "ch").Paused })

	post("/api/topics/t", `{"action":"pause"}`)
	both("topic paused", func(i int) bool { return c.Topic(t, i, "t").Paused })
	post("/api/topics/t", `{"action":"unpause"}`)
	both("topic unpaused", func(i int) bool { return !c.Topic(t, i, "t").Paused })

	post("/api/topics/t/ch", `{"action":"empty"}`)
	both("channel empty", func(i int) bool { return c.Channel(t, i, "t", "ch").Depth == 0 })
	both("other channel untouched", func(i int) bool { return c.Channel(t, i, "t", "other").Depth == 2 })

	// a topic's own queue: messages held while it is paused
	post("/api/topics/t", `{"action":"pause"}`)
	c.Publish(t, 0, "t", "held")
	if d := c.Topic(t, 0, "t").Depth; d != 1 {
		t.Fatalf("held depth %d", d)
	}
	post("/api/topics/t", `{"action":"empty"}`)
	both("topic empty", func(i int) bool { return c.Topic(t, i, "t").Depth == 0 })
	post("/api/topics/t", `{"action":"unpause"}`)

	if code, body := do(t, "POST", c.URL("/api/topics/t"), `{"action":"explode"}`); code != 400 || body != `{"message":"INVALID_ACTION"}` {
		t.Errorf("bad action: %d %s", code, body)
	}
	if code, body := do(t, "POST", c.URL("/api/topics/t"), `{`); code != 400 || body != `{"message":"unexpected EOF"}` {
		t.Errorf("bad body: %d %s", code, body)
	}

	mustDo(t, "DELETE", c.URL("/api/topics/t/other"), "")
	both("channel deleted", func(i int) bool { return c.Channel(t, i, "t", "other") == nil })
	var ch lookupdoc.Channels
	if err := admintest.GetJSON("http://"+c.LookupdHTTP()[0]+"/channels?topic=t", &ch); err != nil || len(ch.Channels) != 1 || ch.Channels[0] != "ch" {
		t.Errorf("nsqlookupd channels %v %v", ch, err)
	}

	// create a topic and channel: on nsqlookupd, and the channel on every
	// nsqd that has the topic
	post("/api/topics", `{"topic":"t","channel":"fresh"}`)
	both("channel created", func(i int) bool { return c.Channel(t, i, "t", "fresh") != nil })
	post("/api/topics", `{"topic":"planned"}`)
	var topics lookupdoc.Topics
	if err := admintest.GetJSON("http://"+c.LookupdHTTP()[0]+"/topics", &topics); err != nil || strings.Join(topics.Topics, ",") != "planned,t" {
		t.Errorf("nsqlookupd topics %v %v", topics, err)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"topic":"no good"}`, `{"message":"INVALID_TOPIC"}`},
		{`{"topic":"ok","channel":"no good"}`, `{"message":"INVALID_CHANNEL"}`},
	} {
		if code, body := do(t, "POST", c.URL("/api/topics"), bad.body); code != 400 || body != bad.want {
			t.Errorf("%s: %d %s", bad.body, code, body)
		}
	}

	// tombstone the topic on nsqd 1: nsqlookupd lists only nsqd 0 for it,
	// and nsqd 1 no longer has it
	body := mustDo(t, "DELETE", c.URL("/api/nodes/"+c.Node(1)), `{"topic":"t"}`)
	if body != `{"message":""}` {
		t.Fatalf("tombstone: %s", body)
	}
	if c.Topic(t, 1, "t") != nil || c.Topic(t, 0, "t") == nil {
		t.Errorf("tombstone: topic still on nsqd 1, or gone from nsqd 0")
	}
	var l lookupdoc.Lookup
	if err := admintest.GetJSON("http://"+c.LookupdHTTP()[0]+"/lookup?topic=t", &l); err != nil || len(l.Producers) != 1 ||
		"127.0.0.1:"+strconv.Itoa(l.Producers[0].HTTPPort) != c.Node(0) {
		t.Errorf("lookup after tombstone %+v %v", l, err)
	}
	if code, body := do(t, "DELETE", c.URL("/api/nodes/"+c.Node(1)), `{"topic":"x y"}`); code != 400 || body != `{"message":"INVALID_TOPIC"}` {
		t.Errorf("tombstone invalid: %d %s", code, body)
	}
	if code, body := do(t, "DELETE", c.URL("/api/nodes/"+c.Node(1)), `nope`); code != 400 || body != `{"message":"INVALID_BODY"}` {
		t.Errorf("tombstone body: %d %s", code, body)
	}

	mustDo(t, "DELETE", c.URL("/api/topics/t"), "")
	both("topic deleted", func(i int) bool { return c.Topic(t, i, "t") == nil })
}

// TestAdminUsers: with --admin-user, only those users (per the ACL header)
// may act, and the page tells the UI whether the viewer may.
func TestAdminUsers(t *testing.T) {
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) {
		o.AdminUsers = []string{"matt"}
		o.ACLHTTPHeader = "X-Who"
	}})
	c.Publish(t, 0, "t", "x")
	c.WaitRegistered(t, "t", "", 1)
	for _, call := range []struct{ method, path, body string }{
		{"POST", "/api/topics", `{"topic":"n"}`},
		{"POST", "/api/topics/t", `{"action":"pause"}`},
		{"POST", "/api/topics/t/c", `{"action":"pause"}`},
		{"DELETE", "/api/topics/t", ``},
		{"DELETE", "/api/topics/t/c", ``},
		{"DELETE", "/api/nodes/" + c.Node(0), `{"topic":"t"}`},
	} {
		if code, body := do(t, call.method, c.URL(call.path), call.body); code != 403 || body != `{"message":"FORBIDDEN"}` {
			t.Errorf("%s %s anonymous: %d %s", call.method, call.path, code, body)
		}
		if code, body := do(t, call.method, c.URL(call.path), call.body, "X-Who", "eve"); code != 403 {
			t.Errorf("%s %s as eve: %d %s", call.method, call.path, code, body)
		}
	}
	if c.Topic(t, 0, "t") == nil || c.Topic(t, 0, "t").Paused {
		t.Fatal("a forbidden action happened")
	}
	mustDo(t, "POST", c.URL("/api/topics/t"), `{"action":"pause"}`, "X-Who", "matt")
	if !c.Topic(t, 0, "t").Paused {
		t.Error("matt could not pause")
	}
	if _, page := do(t, "GET", c.URL("/"), ""); !strings.Contains(page, `"is_admin":false`) {
		t.Error("anonymous page says admin")
	}
	if _, page := do(t, "GET", c.URL("/topics/t"), "", "X-Who", "matt"); !strings.Contains(page, `"is_admin":true`) {
		t.Error("matt's page does not say admin")
	}
}

// TestNotifications: every action is POSTed to the notification endpoint
// as upstream describes it.
func TestNotifications(t *testing.T) {
	var mu sync.Mutex
	var got []admin.AdminAction
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a admin.AdminAction
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, a)
		ctype = r.Header.Get("Content-Type")
		mu.Unlock()
	}))
	defer srv.Close()
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) { o.NotificationHTTPEndpoint = srv.URL + "/hook" }})
	c.CreateChannel(t, 0, "t", "c")
	c.WaitRegistered(t, "t", "c", 1)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret"))
	calls := []struct{ method, path, body string }{
		{"POST", "/api/topics/t", `{"action":"pause"}`},
		{"POST", "/api/topics/t/c", `{"action":"empty"}`},
		{"POST", "/api/topics", `{"topic":"n","channel":"m"}`},
		{"DELETE", "/api/topics/t/c", ``},
		{"DELETE", "/api/nodes/" + c.Node(0), `{"topic":"t"}`},
		{"DELETE", "/api/topics/n", ``},
	}
	for _, call := range calls {
		mustDo(t, call.method, c.URL(call.path+"?x=1"), call.body, "Authorization", auth, "User-Agent", "tester/2")
	}
	want := []struct{ action, topic, channel, node string }{
		{"pause_topic", "t", "", ""},
		{"empty_channel", "t", "c", ""},
		{"create_topic", "n", "", ""},
		{"create_channel", "n", "m", ""},
		{"delete_channel", "t", "c", ""},
		{"tombstone_topic_producer", "t", "", c.Node(0)},
		{"delete_topic", "n", "", ""},
	}
	admintest.WaitFor(t, "notifications", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(want)
	})
	host, _ := os.Hostname()
	mu.Lock()
	defer mu.Unlock()
	if ctype != "application/json" {
		t.Errorf("content type %q", ctype)
	}
	for i, w := range want {
		a := got[i]
		if a.Action != w.action || a.Topic != w.topic || a.Channel != w.channel || a.Node != w.node ||
			a.User != "alice" || a.UserAgent != "tester/2" || a.Via != host ||
			!strings.HasPrefix(a.RemoteIP, "127.0.0.1:") || !strings.HasPrefix(a.URL, "http://"+c.Admin.HTTPAddr().String()+"/api/") ||
			!strings.HasSuffix(a.URL, "?x=1") || time.Since(time.Unix(a.Timestamp, 0)) > time.Minute {
			t.Errorf("notification %d: %+v, want %+v", i, a, w)
		}
	}
}

// TestConfig: GET and PUT /config/:opt, from the allowed CIDR only.
func TestConfig(t *testing.T) {
	c := admintest.Start(t, admintest.Config{Lookupds: 2})
	lookupds := c.LookupdHTTP()
	if got := mustDo(t, "GET", c.URL("/config/nsqlookupd_http_addresses"), ""); got != `["`+lookupds[0]+`","`+lookupds[1]+`"]` {
		t.Errorf("lookupds %s", got)
	}
	if got := mustDo(t, "PUT", c.URL("/config/nsqlookupd_http_addresses"), `["`+lookupds[1]+`"]`); got != `["`+lookupds[1]+`"]` {
		t.Errorf("PUT lookupds %s", got)
	}
	// the change takes effect: /api/nodes names only the second
	var nodes struct {
		Nodes []struct {
			RemoteAddresses []string `json:"remote_addresses"`
		} `json:"nodes"`
	}
	if err := admintest.GetJSON(c.URL("/api/nodes"), &nodes); err != nil || len(nodes.Nodes) != 1 ||
		len(nodes.Nodes[0].RemoteAddresses) != 1 || !strings.HasPrefix(nodes.Nodes[0].RemoteAddresses[0], lookupds[1]+"/") {
		t.Errorf("nodes after PUT %+v %v", nodes, err)
	}
	if got := mustDo(t, "PUT", c.URL("/config/log_level"), "warn"); got != "3" {
		t.Errorf("PUT log_level %s", got)
	}
	for _, bad := range []struct {
		opt, body string
		code      int
		want      string
	}{
		{"log_level", "loud", 400, `{"message":"INVALID_VALUE"}`},
		{"nsqlookupd_http_addresses", "{", 400, `{"message":"INVALID_VALUE"}`},
		{"graphite_url", "http://x", 400, `{"message":"INVALID_OPTION"}`},
		{"log_level", "", 413, `{"message":"INVALID_VALUE"}`},
	} {
		if code, body := do(t, "PUT", c.URL("/config/"+bad.opt), bad.body); code != bad.code || body != bad.want {
			t.Errorf("PUT %s %q: %d %s", bad.opt, bad.body, code, body)
		}
	}

	other := c.StartAdmin(t, func(o *admin.Options) { o.AllowConfigFromCIDR = "10.0.0.0/8" })
	if code, body := do(t, "GET", "http://"+other.HTTPAddr().String()+"/config/log_level", ""); code != 403 || body != `{"message":"FORBIDDEN"}` {
		t.Errorf("outside the CIDR: %d %s", code, body)
	}
	anyone := c.StartAdmin(t, func(o *admin.Options) { o.AllowConfigFromCIDR = "" })
	if got := mustDo(t, "GET", "http://"+anyone.HTTPAddr().String()+"/config/allow_config_from_cidr", ""); got != "" {
		t.Errorf("empty CIDR: %q", got)
	}
}

// TestBasePathAndAssets: with --base-path everything moves under it; the
// UI's files are served with their content types, compressed on request.
func TestBasePathAndAssets(t *testing.T) {
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) { o.BasePath = "nsq/" }})
	if got := mustDo(t, "GET", c.URL("/nsq/api/topics"), ""); got != `{"topics":null,"message":""}` {
		t.Errorf("topics %s", got)
	}
	if code, _ := do(t, "GET", c.URL("/api/topics"), ""); code != 404 {
		t.Errorf("outside the base path: %d", code)
	}
	page := mustDo(t, "GET", c.URL("/nsq/topics/x"), "")
	if !strings.Contains(page, `<script src="/nsq/static/app.js"></script>`) || !strings.Contains(page, `"base_path":"/nsq"`) {
		t.Errorf("page %s", page)
	}
	for name, ct := range map[string]string{
		"app.js": "text/javascript; charset=utf-8", "util.js": "text/javascript; charset=utf-8",
		"chart.js": "text/javascript; charset=utf-8", "graphite.js": "text/javascript; charset=utf-8",
		"pages.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8",
		"favicon.svg": "image/svg+xml",
	} {
		resp, err := http.Get(c.URL("/nsq/static/" + name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct || len(b) < 100 {
			t.Errorf("%s: %d %q %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}
	if code, body := do(t, "GET", c.URL("/nsq/static/nope.js"), ""); code != 404 || body != "NOT_FOUND" {
		t.Errorf("missing asset: %d %q", code, body)
	}

	req, _ := http.NewRequest("GET", c.URL("/nsq/static/app.js"), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(plain, []byte("app.reload = function")) {
		t.Errorf("decompressed: %v %.80s", err, plain)
	}
}

// TestNSQDAddresses: with --nsqd-http-address instead of nsqlookupd.
func TestNSQDAddresses(t *testing.T) {
	c := admintest.Start(t, admintest.Config{NSQDs: 2, NSQDMode: true})
	c.Publish(t, 0, "a", "1")
	c.Publish(t, 1, "b", "1", "2")
	if got := mustDo(t, "GET", c.URL("/api/topics"), ""); got != `{"topics":["a","b"],"message":""}` {
		t.Errorf("topics %s", got)
	}
	var nodes struct {
		Nodes []struct {
			RemoteAddresses []string `json:"remote_addresses"`
			HTTPPort        int      `json:"http_port"`
			Topics          []struct {
				Topic string `json:"topic"`
			} `json:"topics"`
		} `json:"nodes"`
	}
	if err := admintest.GetJSON(c.URL("/api/nodes"), &nodes); err != nil || len(nodes.Nodes) != 2 ||
		nodes.Nodes[0].RemoteAddresses != nil || nodes.Nodes[1].Topics[0].Topic != "b" {
		t.Errorf("nodes %+v %v", nodes, err)
	}
	var topic struct {
		MessageCount int64 `json:"message_count"`
		Nodes        []struct {
			Node string `json:"node"`
		} `json:"nodes"`
	}
	if err := admintest.GetJSON(c.URL("/api/topics/b"), &topic); err != nil || topic.MessageCount != 2 || len(topic.Nodes) != 1 || topic.Nodes[0].Node != c.Node(1) {
		t.Errorf("topic %+v %v", topic, err)
	}
	mustDo(t, "POST", c.URL("/api/topics/b"), `{"action":"pause"}`)
	if !c.Topic(t, 1, "b").Paused {
		t.Error("not paused")
	}
	// without nsqlookupd there is nothing to create topics on, as upstream
	mustDo(t, "POST", c.URL("/api/topics"), `{"topic":"z"}`)
	if got := mustDo(t, "GET", c.URL("/api/topics?inactive=true"), ""); got != `{"topics":{},"message":""}` {
		t.Errorf("inactive %s", got)
	}
}

// TestGraphite: /api/graphite turns Graphite's last complete interval into
// a rate; with --proxy-graphite, /render is forwarded with the URL's
// credentials.
func TestGraphite(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	var auths []string
	graphite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/graphite/render" {
			t.Errorf("graphite asked %s", r.URL.Path)
		}
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		u, p, _ := r.BasicAuth()
		auths = append(auths, u+":"+p)
		mu.Unlock()
		if r.URL.Query().Get("format") == "json" {
			io.WriteString(w, `[{"target":"x","datapoints":[[`+r.URL.Query().Get("target")+`,1700000000]]}]`)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		io.WriteString(w, "PNG")
	}))
	defer graphite.Close()
	u := strings.Replace(graphite.URL, "http://", "http://gu:gp@", 1) + "/graphite"
	c := admintest.Start(t, admintest.Config{Admin: func(o *admin.Options) {
		o.GraphiteURL = u
		o.ProxyGraphite = true
		o.StatsdInterval = 10 * time.Second
		o.BasePath = "/admin"
	}})
	// the fake answers the target as the value: 125 per 10s is 12.50/s
	if got := mustDo(t, "GET", c.URL("/admin/api/graphite?metric=rate&target=125"), ""); got != `{"rate":"12.50"}` {
		t.Errorf("rate %s", got)
	}
	if got := mustDo(t, "GET", c.URL("/admin/api/graphite?metric=rate&target=-1"), ""); got != `{"rate":"N/A"}` {
		t.Errorf("negative %s", got)
	}
	mu.Lock()
	if len(queries) != 2 || queries[0] != "format=json&from=-20sec&target=125&until=-10sec" {
		t.Errorf("graphite queries %q", queries)
	}
	mu.Unlock()
	for _, bad := range []struct{ q, want string }{
		{"metric=depth&target=1", `{"message":"INVALID_ARG_METRIC"}`},
		{"metric=rate", `{"message":"INVALID_ARG_TARGET"}`},
		{"metric=rate&target=null", `{"message":"INTERNAL_ERROR"}`},
	} {
		if code, body := do(t, "GET", c.URL("/admin/api/graphite?"+bad.q), ""); body != bad.want || code == 200 {
			t.Errorf("%s: %d %s", bad.q, code, body)
		}
	}
	if got := mustDo(t, "GET", c.URL("/admin/render?target=abc&width=120"), ""); got != "PNG" {
		t.Errorf("proxied render %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if last := queries[len(queries)-1]; last != "target=abc&width=120" || auths[len(auths)-1] != "gu:gp" {
		t.Errorf("proxied query %q auth %q", last, auths[len(auths)-1])
	}
	_, page := do(t, "GET", c.URL("/admin"), "")
	if !strings.Contains(page, `"graphite_url":"/admin","graph_enabled":true,"proxy_graphite":true,"statsd_interval":10`) {
		t.Errorf("page config: %s", page)
	}
}

// TestCharts: nsqadmin's own samples give each topic's and channel's rate,
// depth and in-flight count.
func TestCharts(t *testing.T) {
	c := admintest.Start(t, admintest.Config{NSQDs: 2, Admin: func(o *admin.Options) {
		o.SampleInterval = 50 * time.Millisecond
	}})
	for i := range 2 {
		c.CreateChannel(t, i, "t", "ch")
	}
	c.WaitRegistered(t, "t", "ch", 2)
	type series struct {
		Topic    string     `json:"topic"`
		Channel  string     `json:"channel"`
		Rate     []*float64 `json:"rate"`
		Depth    []*float64 `json:"depth"`
		InFlight []*float64 `json:"in_flight"`
	}
	var doc struct {
		IntervalMS int64    `json:"interval_ms"`
		Times      []int64  `json:"times"`
		Series     []series `json:"series"`
	}
	last := func(v []*float64) float64 {
		if len(v) == 0 || v[len(v)-1] == nil {
			return -1
		}
		return *v[len(v)-1]
	}
	// wait until the channel has been sampled twice, so that it has a rate
	admintest.WaitFor(t, "the channel in two samples", func() bool {
		if err := admintest.GetJSON(c.URL("/api/charts?topic=t&channel=ch"), &doc); err != nil || len(doc.Series) != 1 {
			return false
		}
		return last(doc.Series[0].Rate) >= 0
	})
	c.Publish(t, 0, "t", "1", "2", "3")
	c.Publish(t, 1, "t", "4")
	c.Consume(t, 1, "t", "ch", true, nil)
	admintest.WaitFor(t, "depth 3, in flight 1, and a rate", func() bool {
		if err := admintest.GetJSON(c.URL("/api/charts?topic=t"), &doc); err != nil || len(doc.Series) != 2 {
			return false
		}
		tp, ch := doc.Series[0], doc.Series[1]
		sawRate := false
		for _, r := range ch.Rate {
			sawRate = sawRate || (r != nil && *r > 0)
		}
		return tp.Topic == "t" && tp.Channel == "" && ch.Channel == "ch" &&
			last(ch.Depth) == 3 && last(ch.InFlight) == 1 && last(tp.InFlight) == 1 && sawRate
	})
	// the last rate of the topic and its channel on each nsqd
	var rates struct {
		NodeRates []struct {
			Node    string  `json:"node"`
			Topic   string  `json:"topic"`
			Channel string  `json:"channel"`
			Rate    float64 `json:"rate"`
		} `json:"node_rates"`
	}
	// (from the last sample round, which may have missed an nsqd that was
	// slow to answer: wait for one that reached both)
	admintest.WaitFor(t, "a rate from each nsqd", func() bool {
		return admintest.GetJSON(c.URL("/api/charts?topic=t&points=1"), &rates) == nil && len(rates.NodeRates) == 4
	})
	if rates.NodeRates[0].Channel != "" || rates.NodeRates[2].Channel != "ch" || rates.NodeRates[3].Topic != "t" {
		t.Errorf("node rates %+v", rates)
	}
	if doc.IntervalMS != 50 || len(doc.Times) != len(doc.Series[0].Rate) || len(doc.Times) < 3 {
		t.Errorf("charts: interval %d, %d times, %d points", doc.IntervalMS, len(doc.Times), len(doc.Series[0].Rate))
	}
	// the cluster and topics, without channels; points limits the history
	if err := admintest.GetJSON(c.URL("/api/charts?points=2"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Series) != 2 || doc.Series[0].Topic != "" || doc.Series[1].Topic != "t" || len(doc.Times) != 2 || len(doc.Series[0].Depth) != 2 {
		t.Errorf("cluster charts %+v", doc)
	}
	if code, _ := do(t, "GET", c.URL("/api/charts?points=x"), ""); code != 400 {
		t.Errorf("bad points: %d", code)
	}
	off := c.StartAdmin(t, func(o *admin.Options) { o.SampleInterval = 0 })
	if got := mustDo(t, "GET", "http://"+off.HTTPAddr().String()+"/api/charts", ""); got != `{"interval_ms":0,"times":[],"series":[]}` {
		t.Errorf("charts off: %s", got)
	}
}

// TestNewValidates: New refuses what upstream's New refuses, with its
// messages.
func TestNewValidates(t *testing.T) {
	cases := []struct {
		mutate func(o *admin.Options)
		want   string
	}{
		{func(o *admin.Options) {}, "--nsqd-http-address or --lookupd-http-address required"},
		{func(o *admin.Options) {
			o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}
			o.NSQLookupdHTTPAddresses = []string{"127.0.0.1:2"}
		},
			"use --nsqd-http-address or --lookupd-http-address not both"},
		{func(o *admin.Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.HTTPClientTLSCert = "c" },
			"--http-client-tls-key must be specified with --http-client-tls-cert"},
		{func(o *admin.Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.HTTPClientTLSKey = "k" },
			"--http-client-tls-cert must be specified with --http-client-tls-key"},
		{func(o *admin.Options) { o.NSQDHTTPAddresses = []string{"nocolon"} },
			"failed to resolve --nsqd-http-address (nocolon) - address nocolon: missing port in address"},
		{func(o *admin.Options) { o.NSQLookupdHTTPAddresses = []string{"nocolon"} },
			"failed to resolve --lookupd-http-address (nocolon) - address nocolon: missing port in address"},
		{func(o *admin.Options) {
			o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}
			o.AllowConfigFromCIDR = "10.0.0.0"
		},
			"failed to parse --allow-config-from-cidr (10.0.0.0) - invalid CIDR address: 10.0.0.0"},
		{func(o *admin.Options) {
			o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}
			o.ProxyGraphite = true
			o.GraphiteURL = "http://a b:1"
		},
			`failed to parse --graphite-url (http://a b:1) - parse "http://a b:1": invalid character " " in host name`},
		{func(o *admin.Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.SampleHistory = time.Second },
			"--chart-history (1s) must be at least --chart-sample-interval (2s)"},
	}
	for _, tc := range cases {
		o := admin.NewOptions()
		o.HTTPAddress = "127.0.0.1:0"
		o.LogOutput = io.Discard
		tc.mutate(o)
		a, err := admin.New(o)
		if err == nil {
			a.Exit()
			t.Errorf("no error, want %q", tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("got %q\nwant %q", err, tc.want)
		}
	}
}

// TestNSQDOptionsUntouched is a guard for the fixture: the nsqd options
// the tests rely on are the defaults.
func TestNSQDOptionsUntouched(t *testing.T) {
	o := nsqd.NewOptions()
	if !o.SnappyEnabled || len(o.E2EProcessingLatencyPercentiles) != 0 {
		t.Fatalf("nsqd defaults changed: snappy %v, percentiles %v", o.SnappyEnabled, o.E2EProcessingLatencyPercentiles)
	}
}
