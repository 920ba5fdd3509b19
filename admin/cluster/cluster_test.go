package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/apidoc"
)

func TestLatencyAdd(t *testing.T) {
	// one nsqd's summary: min, max and average are the value
	a := latencyFrom(apidoc.Latency{Count: 4, Percentiles: []map[string]float64{
		{"quantile": 0.99, "value": 100}, {"quantile": 0.5, "value": 10}}})
	b, _ := json.Marshal(a)
	if string(b) != `{"count":4,"percentiles":[{"average":100,"count":4,"max":100,"min":100,"quantile":0.99,"value":100},{"average":10,"count":4,"max":10,"min":10,"quantile":0.5,"value":10}],"topic":"","channel":"","host":""}` {
		t.Fatalf("from: %s", b)
	}
	other := latencyFrom(apidoc.Latency{Count: 12, Percentiles: []map[string]float64{
		{"quantile": 0.99, "value": 300}, {"quantile": 0.9, "value": 50}}})
	sum := &Latency{Topic: "t", Addr: "*"}
	sum.add(a)
	sum.add(other)
	sum.add(nil)
	b, _ = json.Marshal(sum)
	// upstream's merge: max of max, "min" the last merged max, counts add,
	// average weighted by count
	want := `{"count":16,"percentiles":[{"average":250,"count":16,"max":300,"min":300,"quantile":0.99},` +
		`{"average":10,"count":4,"max":10,"min":10,"quantile":0.5},{"average":50,"count":12,"max":50,"min":50,"quantile":0.9}],"topic":"t","channel":"","host":"*"}`
	if string(b) != want {
		t.Fatalf("sum:\n%s\nwant\n%s", b, want)
	}
	// clone is deep
	c := a.clone()
	c.Percentiles[0]["max"] = -1
	if a.Percentiles[0]["max"] != 100 {
		t.Fatal("clone shares its maps")
	}
	if (*Latency)(nil).clone() != nil {
		t.Fatal("nil clone")
	}
}

func TestSemver(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"1.2.0", "1.3.0", true},
		{"1.3.0", "1.2.9", false},
		{"1.3.0-rc1", "1.3.0", true},
		{"1.3.0", "1.3.0-rc1", false},
		{"1.3.0-rc1", "1.3.0-rc2", true},
		{"1.3.0+build", "1.3.0", false},
		{"junk", "0.0.1", true},
		{"1.2", "0.0.1", true},
		{"01.2.3", "0.0.1", true},
		{"1.3.0", "1.3.0", false},
	} {
		if got := parseSemver(tc.a).less(parseSemver(tc.b)); got != tc.less {
			t.Errorf("%s < %s: %v", tc.a, tc.b, got)
		}
	}
}

// fake serves canned documents by request URI.
func fake(t *testing.T, docs map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/vnd.nsq; version=1.0" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		doc, ok := docs[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"NOT_FOUND"}`))
			return
		}
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newTestCluster() *Cluster {
	return New(NewClient(nil, time.Second, 5*time.Second), nil)
}

func TestLookupdProducers(t *testing.T) {
	node := func(remote, host string, port int, version string, topics string) string {
		return `{"remote_address":"` + remote + `","hostname":"` + host + `","broadcast_address":"` + host +
			`","tcp_port":` + strconv.Itoa(port) + `,"http_port":` + strconv.Itoa(port+1) + `,"version":"` + version + `",` + topics + `}`
	}
	l1 := fake(t, map[string]string{"GET /nodes": `{"producers":[` +
		node("10.0.0.2:1", "b", 4150, "1.3.0", `"tombstones":[false,true],"topics":["z","a"]`) + "," +
		node("10.0.0.1:1", "a", 4150, "1.2.1", `"tombstones":[],"topics":[]`) + `]}`})
	l2 := fake(t, map[string]string{"GET /nodes": `{"producers":[` +
		node("10.0.0.2:2", "b", 4150, "1.3.0", `"tombstones":[false],"topics":["z"]`) + `]}`})
	ps, err := newTestCluster().LookupdProducers(context.Background(), []string{l1, l2})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ps)
	want := `[{"remote_addresses":["` + l1 + `/10.0.0.1:1"],"remote_address":"10.0.0.1:1","hostname":"a","broadcast_address":"a","tcp_port":4150,"http_port":4151,"version":"1.2.1","topics":null,"out_of_date":true},` +
		`{"remote_addresses":["` + l1 + `/10.0.0.2:1","` + l2 + `/10.0.0.2:2"],"remote_address":"10.0.0.2:1","hostname":"b","broadcast_address":"b","tcp_port":4150,"http_port":4151,"version":"1.3.0",` +
		`"topics":[{"topic":"a","tombstoned":true},{"topic":"z","tombstoned":false}],"out_of_date":false}]`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}

	// one nsqlookupd down: what the other says, and a partial error
	dead := deadAddr(t)
	ps, err = newTestCluster().LookupdProducers(context.Background(), []string{dead, l2})
	if l, ok := IsPartial(err); !ok || len(l) != 1 || len(ps) != 1 || Failed(err) {
		t.Fatalf("partial: %v %v", ps, err)
	}
	// all down: not partial
	_, err = newTestCluster().LookupdProducers(context.Background(), []string{dead})
	if !Failed(err) || !strings.HasPrefix(err.Error(), "failed to query any nsqlookupd: Get \"http://"+dead+"/nodes\"") {
		t.Fatalf("all down: %v", err)
	}
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestNSQDTopicProducers(t *testing.T) {
	// an nsqd whose /info has no broadcast address is named by the address
	// it was reached at
	var addr string
	addr = fake(t, map[string]string{
		"GET /stats?format=json&topic=t&include_clients=false": `{"topics":[{"topic_name":"t"}]}`,
		"GET /info": `{"version":"1.3.0","tcp_port":4150}`,
	})
	other := fake(t, map[string]string{
		"GET /stats?format=json&topic=t&include_clients=false": `{"topics":null}`,
	})
	ps, err := newTestCluster().NSQDTopicProducers(context.Background(), "t", []string{other, addr})
	if err != nil || len(ps) != 1 {
		t.Fatalf("%v %v", ps, err)
	}
	host, port, _ := net.SplitHostPort(addr)
	if ps[0].BroadcastAddress != host || strconv.Itoa(ps[0].HTTPPort) != port || ps[0].Hostname != host || ps[0].HTTPAddress() != addr {
		t.Fatalf("fallback %+v", ps[0])
	}
	if (&Producer{BroadcastAddress: "::1", HTTPPort: 4151}).HTTPAddress() != "[::1]:4151" {
		t.Fatal("IPv6 address not bracketed")
	}
}

func TestClientRetriesHTTPS(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"topics":["secure"]}`))
	}))
	defer tlsSrv.Close()
	_, tlsPort, _ := net.SplitHostPort(strings.TrimPrefix(tlsSrv.URL, "https://"))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"TLS_REQUIRED","https_port":` + tlsPort + `}`))
	}))
	defer plain.Close()
	tlsConfig := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	c := NewClient(tlsConfig, time.Second, 5*time.Second)
	var doc struct{ Topics []string }
	if err := c.GetJSON(context.Background(), plain.URL+"/topics", &doc); err != nil || len(doc.Topics) != 1 {
		t.Fatalf("%v %v", doc, err)
	}

	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"TOPIC_NOT_FOUND"}`))
	}))
	defer notFound.Close()
	err := c.Post(context.Background(), notFound.URL+"/x")
	if err == nil || err.Error() != `got response 404 Not Found "{\"message\":\"TOPIC_NOT_FOUND\"}"` {
		t.Fatalf("error %v", err)
	}
}

func TestTopicAddLeavesNodesAlone(t *testing.T) {
	now := time.Now()
	doc := func(depth int64) *apidoc.Topic {
		return &apidoc.Topic{TopicName: "t", MessageCount: 5, Channels: []apidoc.Channel{
			{ChannelName: "c", Depth: depth, MessageCount: 5, Clients: []apidoc.Client{}}}}
	}
	a := topicFromDoc(doc(1), "h:1", "a", now)
	b := topicFromDoc(doc(2), "h:2", "b", now)
	c := topicFromDoc(doc(4), "h:3", "c", now)
	sum := &TopicStats{TopicName: "t"}
	sum.Add(b)
	only, _ := json.Marshal(sum.Channels[0])
	own, _ := json.Marshal(b.Channels[0])
	if string(only) != string(own) {
		t.Fatalf("one nsqd: the sum's channel should be its entry:\n%s\n%s", only, own)
	}
	sum.Add(a)
	sum.Add(c)
	ch := sum.Channels[0]
	if ch.Node != "*" || ch.Depth != 7 || ch.MessageCount != 15 || len(ch.NodeStats) != 3 ||
		ch.NodeStats[0] != a.Channels[0] || ch.NodeStats[1] != b.Channels[0] || ch.NodeStats[2] != c.Channels[0] {
		t.Fatalf("sum %+v", ch)
	}
	for _, n := range []*TopicStats{a, b, c} {
		if n.Channels[0].Node == "*" || n.Channels[0].NodeStats != nil {
			t.Fatalf("node entry changed: %+v", n.Channels[0])
		}
	}
	if sum.MessageCount != 15 || sum.NodeStats[0] != a || sum.E2eProcessingLatency.Addr != "*" {
		t.Fatalf("topic sum %+v", sum)
	}
}
