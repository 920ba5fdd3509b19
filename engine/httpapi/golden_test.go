package httpapi

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/netpoll"
	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/apidoc"
)

var update = flag.Bool("update", false, "record the golden /stats documents from the upstream nsqd named by NSQD_UPSTREAM_BIN")

// goldenQueries are the /stats requests recorded: file name, query.
var goldenQueries = []struct{ file, query string }{
	{"all.json", "format=json"},
	{"no_mem_no_clients.json", "format=json&include_mem=false&include_clients=false"},
	{"topic.json", "format=json&topic=golden&include_mem=false"},
	{"channel.json", "format=json&channel=busy&include_mem=false"},
	{"topic_channel.json", "format=json&topic=golden&channel=idle&include_mem=0"},
	{"topic_feat.json", "format=json&topic=feat&include_mem=false"},
	{"unknown_topic.json", "format=json&topic=nope"},
	{"all.txt", ""},
	{"topic.txt", "format=text&topic=golden&include_mem=false"},
}

// goldenPercentiles are the --e2e-processing-latency-percentile values of
// both servers.
var goldenPercentiles = []float64{1, 0.5}

// TestStatsGolden runs one workload against this nsqd and compares its
// /stats documents, masked (times, ports, host names, memory figures,
// latency values), with the ones recorded from upstream v1.3.0 under
// testdata/golden. With -update (and NSQD_UPSTREAM_BIN) it records them
// again from upstream first.
//
// Upstream lists producers, and clients within a channel, in map order;
// both sides are sorted by client_id before comparing, after checking that
// the document decodes into apidoc.Stats and encodes back to the same bytes
// (so no key is unknown, missing or out of order).
func TestStatsGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	cert, key, pool := writeTestCert(t)
	if *update {
		bin := os.Getenv("NSQD_UPSTREAM_BIN")
		if bin == "" {
			t.Fatal("-update needs NSQD_UPSTREAM_BIN (an upstream nsqd v1.3.0 binary)")
		}
		tcp := freeAddr(t)
		httpAddr := startUpstream(t, bin, "--tcp-address="+tcp, "--tls-cert="+cert, "--tls-key="+key,
			"--e2e-processing-latency-percentile=1.0,0.5")
		target := goldenTarget{t: t, tcp: tcp, http: httpAddr, roots: pool}
		target.workload()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, q := range goldenQueries {
			if err := os.WriteFile(filepath.Join(dir, q.file), target.masked(q.query), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureConfig{
		tcp:    true,
		engine: func(o *engine.Options) { o.E2EPercentiles = goldenPercentiles },
		netpoll: func(o *netpoll.Options) {
			o.SnappyEnabled, o.DeflateEnabled = true, true
			o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
		},
	})
	target := goldenTarget{t: t, tcp: f.tcp.Addr().String(), http: f.srv.Listener.Addr().String(), roots: pool}
	target.workload()
	for _, q := range goldenQueries {
		want, err := os.ReadFile(filepath.Join(dir, q.file))
		if err != nil {
			t.Fatalf("%v (record with -update)", err)
		}
		if got := target.masked(q.query); !bytes.Equal(got, want) {
			t.Errorf("/stats?%s differs from upstream's (%s):\n%s", q.query, q.file, lineDiff(string(want), string(got)))
		}
	}
}

// goldenTarget is an nsqd (ours or upstream) under the golden workload.
type goldenTarget struct {
	t         *testing.T
	tcp, http string
	roots     *x509.CertPool
}

func (g goldenTarget) post(path string) {
	g.t.Helper()
	resp, err := http.Post("http://"+g.http+path, "", nil)
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

func (g goldenTarget) get(query string) []byte {
	g.t.Helper()
	resp, err := http.Get("http://" + g.http + "/stats?" + query)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		g.t.Fatalf("GET /stats?%s: %d %v", query, resp.StatusCode, err)
	}
	return b
}

// workload builds a known state, step by step, each step acknowledged:
//
//   - topic golden: channels busy (one raw consumer: RDY 4, two FIN, one
//     REQ, so 4 in flight, 1 waiting), idle (no consumer) and paused (paused
//     after the publishes); one DPUB (deferred in every channel), five PUB
//     and an MPUB of two, from one producer;
//   - topic quiet: no channel, two messages held;
//   - topic paused_topic: paused with one channel, one message held;
//   - topic eph#ephemeral: no channel, one message held;
//   - topic feat: go-nsq consumers that negotiated deflate (and a sample
//     rate), snappy and TLS, one per channel.
//
// Every producer publishes to one topic only, since upstream reports one
// arbitrary topic of a producer's pub counts.
func (g goldenTarget) workload() {
	t := g.t
	g.post("/topic/create?topic=golden")
	g.post("/topic/create?topic=paused_topic")
	for _, ch := range []string{"busy", "idle", "paused"} {
		g.post("/channel/create?topic=golden&channel=" + ch)
	}
	g.post("/channel/create?topic=paused_topic&channel=c")
	g.post("/topic/pause?topic=paused_topic")

	p1 := g.dial("golden-p1")
	p1.ok(wire.AppendDPUB(nil, "golden", time.Minute, []byte("later")))
	for i := 1; i <= 5; i++ {
		p1.ok(wire.AppendPUB(nil, "golden", fmt.Appendf(nil, "m%d", i)))
	}
	p1.ok(wire.AppendMPUB(nil, "golden", [][]byte{[]byte("m6"), []byte("m7")}))
	p2 := g.dial("golden-p2")
	p2.ok(wire.AppendPUB(nil, "quiet", []byte("held1")))
	p2.ok(wire.AppendPUB(nil, "quiet", []byte("held2")))
	g.dial("golden-p3").ok(wire.AppendPUB(nil, "paused_topic", []byte("p")))
	g.dial("golden-p4").ok(wire.AppendPUB(nil, "eph#ephemeral", []byte("e")))
	g.post("/channel/pause?topic=golden&channel=paused")

	c1 := g.dial("golden-c1")
	c1.ok(wire.AppendSUB(nil, "golden", "busy"))
	c1.send(wire.AppendRDY(nil, 4))
	var first [4]wire.MessageID
	for i := range first {
		first[i] = c1.message().ID
	}
	c1.send(wire.AppendFIN(nil, first[0]))
	c1.send(wire.AppendFIN(nil, first[1]))
	c1.send(wire.AppendREQ(nil, first[2], 0))
	for range 3 {
		c1.message()
	}

	for _, fc := range []struct {
		channel string
		cfg     func(*gonsq.Config)
	}{
		{"deflated", func(c *gonsq.Config) { c.Deflate, c.DeflateLevel, c.SampleRate = true, 3, 50 }},
		{"snappy", func(c *gonsq.Config) { c.Snappy = true }},
		{"tls", func(c *gonsq.Config) {
			c.TlsV1, c.TlsConfig = true, &tls.Config{RootCAs: g.roots, ServerName: "127.0.0.1"}
		}},
	} {
		cfg := gonsq.NewConfig()
		fc.cfg(cfg)
		c, err := gonsq.NewConsumer("feat", fc.channel, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetLogger(quietLogger{}, gonsq.LogLevelError)
		c.AddHandler(gonsq.HandlerFunc(func(*gonsq.Message) error { return nil }))
		if err := c.ConnectToNSQD(g.tcp); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
	}
	// go-nsq sends RDY after SUB without waiting: poll for it
	waitFor(t, func() error {
		var s apidoc.Stats
		if err := json.Unmarshal(g.get("format=json&topic=feat&include_mem=false"), &s); err != nil {
			return err
		}
		if len(s.Topics) != 1 {
			return fmt.Errorf("no topic feat yet")
		}
		ready := 0
		for _, ch := range s.Topics[0].Channels {
			for _, c := range ch.Clients {
				ready += int(c.ReadyCount)
			}
		}
		if len(s.Topics[0].Channels) != 3 || ready != 3 {
			return fmt.Errorf("feat consumers not ready: %+v", s.Topics)
		}
		return nil
	})
}

// v2 is a raw V2 client with a fixed identity.
type v2 struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	buf []byte
}

func (g goldenTarget) dial(clientID string) *v2 {
	g.t.Helper()
	c, err := net.Dial("tcp", g.tcp)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { c.Close() })
	v := &v2{t: g.t, c: c, r: bufio.NewReader(c)}
	v.send([]byte(wire.MagicV2))
	id := fmt.Sprintf(`{"client_id":%q,"hostname":"golden-host","user_agent":"golden/1.0","feature_negotiation":true}`, clientID)
	v.send(wire.AppendIdentify(nil, []byte(id)))
	if ft, data := v.frame(); ft != wire.FrameTypeResponse || !bytes.HasPrefix(data, []byte("{")) {
		v.t.Fatalf("IDENTIFY: %d %s", ft, data)
	}
	return v
}

func (v *v2) send(b []byte) {
	v.t.Helper()
	if _, err := v.c.Write(b); err != nil {
		v.t.Fatal(err)
	}
}

// frame reads the next frame that is not a heartbeat.
func (v *v2) frame() (int32, []byte) {
	v.t.Helper()
	_ = v.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		ft, data, err := wire.ReadFrame(v.r, v.buf)
		if err != nil {
			v.t.Fatal(err)
		}
		if ft == wire.FrameTypeResponse && string(data) == wire.ResponseHeartbeat {
			v.send(wire.AppendNOP(nil))
			continue
		}
		return ft, data
	}
}

// ok sends a command and expects OK.
func (v *v2) ok(cmd []byte) {
	v.t.Helper()
	v.send(cmd)
	if ft, data := v.frame(); ft != wire.FrameTypeResponse || string(data) != wire.ResponseOK {
		v.t.Fatalf("%q: %d %s", cmd, ft, data)
	}
}

func (v *v2) message() wire.Message {
	v.t.Helper()
	ft, data := v.frame()
	m, ok := wire.ParseMessage(data)
	if ft != wire.FrameTypeMessage || !ok {
		v.t.Fatalf("want a message, got %d %q", ft, data)
	}
	return m
}

// masked fetches /stats?query and masks what legitimately differs between
// two runs: times, ports, the machine's host name, memory figures, latency
// values (not their count), the Go version.
func (g goldenTarget) masked(query string) []byte {
	g.t.Helper()
	b := g.get(query)
	isJSON := bytes.HasPrefix(b, []byte("{"))
	if isJSON {
		b = g.normaliseJSON(b)
	}
	host, _ := os.Hostname()
	short, _, _ := strings.Cut(host, ".")
	s := string(b)
	for _, m := range goldenMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	s = e2eValue.ReplaceAllString(s, `${1}V`)
	s = textDuration.ReplaceAllStringFunc(s, func(d string) string {
		if d == "0.0ns" {
			return d
		}
		return "D"
	})
	s = strings.ReplaceAll(s, `"`+host+`"`, `"HOST"`)
	s = strings.ReplaceAll(s, `"`+short+`"`, `"HOST"`)
	s = strings.ReplaceAll(s, "[V2 "+host+":", "[V2 HOST:")
	if !isJSON {
		s = oursOnlyText.ReplaceAllString(s, "")
		return normaliseText([]byte(s))
	}
	return []byte(s)
}

// oursOnlyText matches the memory rows of the text rendering that upstream
// has not (docs/COMPATIBILITY.md).
var oursOnlyText = regexp.MustCompile(`(?m)^   (resident_bytes|resident_anon_bytes|resident_file_bytes|log_mapped_bytes) +\t\S+\n`)

var goldenMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`("(?:start_time|connect_ts|heap_\w+|gc_\w+|next_gc_bytes)": ?)\d+`), `${1}N`},
	{regexp.MustCompile(`("remote_address": ?"127\.0\.0\.1:)\d+"`), `${1}PORT"`},
	{regexp.MustCompile(`(?m)^(start_time|uptime) .*$`), `$1 X`},
	{regexp.MustCompile(`\(built w/[^)]*\)`), `(built w/GO)`},
	{regexp.MustCompile(`(?m)^(   [a-z_0-9]+ +\t)\d+$`), `${1}N`},
	{regexp.MustCompile(`(\[V2 [^ :]+):\d+ `), `$1:PORT `},
	{regexp.MustCompile(`connected: \S+`), `connected: D`},
	// TLS 1.3 suites (upstream names them by number): which one is
	// negotiated depends on the CPU's AES support
	{regexp.MustCompile(`"Unknown 48(65|66|67)"`), `"Unknown TLS13"`},
}

var (
	// a latency value, unless it is 0 (an empty window)
	e2eValue     = regexp.MustCompile(`("value": ?)(?:[1-9]|0\.)[^,}\s]*`)
	textDuration = regexp.MustCompile(`\b\d+\.\d(ns|us|ms|s)\b`)
)

// normaliseJSON checks that the document is exactly what apidoc.Stats
// encodes, then sorts producers and each channel's clients by client_id and
// indents it.
func (g goldenTarget) normaliseJSON(b []byte) []byte {
	g.t.Helper()
	var s apidoc.Stats
	if err := json.Unmarshal(b, &s); err != nil {
		g.t.Fatal(err)
	}
	if again, _ := json.Marshal(&s); !bytes.Equal(again, b) {
		g.t.Fatalf("the document is not apidoc.Stats' shape:\n%s\n%s", b, again)
	}
	if m := s.Memory; m != nil {
		// Ours only (docs/COMPATIBILITY.md): omitted when zero.
		m.ResidentBytes, m.ResidentAnonBytes, m.ResidentFileBytes, m.LogMappedBytes = 0, 0, 0, 0
	}
	byID := func(a, b apidoc.Client) int { return strings.Compare(a.ClientID, b.ClientID) }
	slices.SortFunc(s.Producers, byID)
	for i := range s.Topics {
		for j := range s.Topics[i].Channels {
			slices.SortFunc(s.Topics[i].Channels[j].Clients, byID)
		}
	}
	out, err := json.MarshalIndent(&s, "", "  ")
	if err != nil {
		g.t.Fatal(err)
	}
	return append(out, '\n')
}

// normaliseText sorts the producer lines of the text rendering.
func normaliseText(b []byte) []byte {
	head, prods, ok := bytes.Cut(b, []byte("\nProducers:\n"))
	if !ok {
		return b
	}
	lines := strings.SplitAfter(string(prods), "\n")
	slices.Sort(lines)
	return append(append(head, "\nProducers:\n"...), strings.Join(lines, "")...)
}

// lineDiff shows the lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var sb strings.Builder
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			fmt.Fprintf(&sb, "line %d:\n  upstream: %s\n  ours:     %s\n", i+1, a, b)
		}
	}
	return sb.String()
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key
// into a temporary directory.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}
