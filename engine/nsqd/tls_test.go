package nsqd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"
	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                       string
	caFile, certFile, keyFile string
	clientCert, clientKey     string
	pool                      *x509.CertPool
	client                    tls.Certificate
	otherClient               tls.Certificate // signed by another CA
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	ca, caKey := makeCert(t, nil, nil, "test CA", true)
	p.caFile = writePEM(t, p.dir, "ca.pem", "CERTIFICATE", ca.Raw)
	srv, srvKey := makeCert(t, ca, caKey, "127.0.0.1", false)
	p.certFile = writePEM(t, p.dir, "server.pem", "CERTIFICATE", srv.Raw)
	p.keyFile = writeKey(t, p.dir, "server.key", srvKey)
	cl, clKey := makeCert(t, ca, caKey, "test client", false)
	p.clientCert = writePEM(t, p.dir, "client.pem", "CERTIFICATE", cl.Raw)
	p.clientKey = writeKey(t, p.dir, "client.key", clKey)
	var err error
	if p.client, err = tls.LoadX509KeyPair(p.clientCert, p.clientKey); err != nil {
		t.Fatal(err)
	}
	other, otherKey := makeCert(t, nil, nil, "rogue CA", true)
	rogue, rogueKey := makeCert(t, other, otherKey, "rogue client", false)
	rc := writePEM(t, p.dir, "rogue.pem", "CERTIFICATE", rogue.Raw)
	rk := writeKey(t, p.dir, "rogue.key", rogueKey)
	if p.otherClient, err = tls.LoadX509KeyPair(rc, rk); err != nil {
		t.Fatal(err)
	}
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	return p
}

var serial atomic.Int64

func makeCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  isCA,
		BasicConstraintsValid: true,
	}
	if !isCA {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeKey(t *testing.T, dir, name string, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}

func tlsNSQD(t *testing.T, pki *testPKI, mutate func(o *Options)) *NSQD {
	return startNSQD(t, func(o *Options) {
		o.TLSCert, o.TLSKey, o.TLSRootCAFile = pki.certFile, pki.keyFile, pki.caFile
		o.HTTPSAddress = "127.0.0.1:0"
		if mutate != nil {
			mutate(o)
		}
	})
}

// moveMessages publishes N messages with a go-nsq Producer and consumes
// them with a go-nsq Consumer, both configured by cfg, and checks the
// exact count and that each arrived once.
func moveMessages(t *testing.T, n *NSQD, topic string, N int, cfg func() *gonsq.Config) {
	t.Helper()
	p, err := gonsq.NewProducer(n.TCPAddr().String(), cfg())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	defer p.Stop()
	for i := 0; i < N; i += 100 {
		var batch [][]byte
		for j := i; j < i+100 && j < N; j++ {
			batch = append(batch, []byte(fmt.Sprintf("%s-%05d-%s", topic, j, "payload payload payload")))
		}
		if err := p.MultiPublish(topic, batch); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	h := newCounter()
	c := cfg()
	c.MaxInFlight = 200
	newConsumer(t, n, topic, "ch", c, h)
	waitFor(t, fmt.Sprintf("%d messages on %s", N, topic), func() bool { return h.total.Load() >= int64(N) })
	if h.distinct() != N || h.total.Load() != int64(N) {
		t.Fatalf("%s: %d distinct, %d total, want %d", topic, h.distinct(), h.total.Load(), N)
	}
}

// TestTLSAndCompression moves a few thousand messages over every
// combination go-nsq supports.
func TestTLSAndCompression(t *testing.T) {
	pki := newPKI(t)
	n := tlsNSQD(t, pki, func(o *Options) { o.MaxDeflateLevel = 9 })
	cases := []struct {
		name string
		set  func(c *gonsq.Config)
	}{
		{"tls", func(c *gonsq.Config) {}},
		{"snappy", func(c *gonsq.Config) { c.TlsV1 = false; c.Snappy = true }},
		{"deflate1", func(c *gonsq.Config) { c.TlsV1 = false; c.Deflate = true; c.DeflateLevel = 1 }},
		{"deflate6", func(c *gonsq.Config) { c.TlsV1 = false; c.Deflate = true; c.DeflateLevel = 6 }},
		{"deflate9", func(c *gonsq.Config) { c.TlsV1 = false; c.Deflate = true; c.DeflateLevel = 9 }},
		{"tls_snappy", func(c *gonsq.Config) { c.Snappy = true }},
		{"tls_deflate", func(c *gonsq.Config) { c.Deflate = true; c.DeflateLevel = 5 }},
		{"tls_client_cert", func(c *gonsq.Config) { c.TlsConfig.Certificates = []tls.Certificate{pki.client} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			moveMessages(t, n, "tls_"+tc.name, 3000, func() *gonsq.Config {
				c := gonsq.NewConfig()
				c.TlsV1 = true
				c.TlsConfig = &tls.Config{RootCAs: pki.pool}
				tc.set(c)
				return c
			})
		})
	}
}

// TestTLSClientAuthPolicies: require asks for any client certificate,
// require-verify for one signed by the root CA.
func TestTLSClientAuthPolicies(t *testing.T) {
	pki := newPKI(t)
	cfg := func(certs ...tls.Certificate) func() *gonsq.Config {
		return func() *gonsq.Config {
			c := gonsq.NewConfig()
			c.TlsV1 = true
			c.TlsConfig = &tls.Config{RootCAs: pki.pool, Certificates: certs}
			return c
		}
	}
	publish := func(n *NSQD, c *gonsq.Config) error {
		p, err := gonsq.NewProducer(n.TCPAddr().String(), c)
		if err != nil {
			return err
		}
		p.SetLogger(quietLogger())
		defer p.Stop()
		return p.Publish("policy", []byte("x"))
	}
	t.Run("require", func(t *testing.T) {
		n := tlsNSQD(t, pki, func(o *Options) { o.TLSClientAuthPolicy = "require" })
		if err := publish(n, cfg()()); err == nil {
			t.Fatal("a client without a certificate was accepted")
		}
		rogue := cfg()()
		rogue.TlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pki.otherClient, nil
		}
		if err := publish(n, rogue); err != nil {
			t.Fatalf("any certificate should do under require: %v", err)
		}
		moveMessages(t, n, "policy_require", 2000, cfg(pki.client))
	})
	t.Run("require-verify", func(t *testing.T) {
		n := tlsNSQD(t, pki, func(o *Options) { o.TLSClientAuthPolicy = "require-verify" })
		if err := publish(n, cfg()()); err == nil {
			t.Fatal("a client without a certificate was accepted")
		}
		rogue := cfg()()
		rogue.TlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pki.otherClient, nil
		}
		if err := publish(n, rogue); err == nil {
			t.Fatal("a certificate from another CA was accepted")
		}
		moveMessages(t, n, "policy_verify", 2000, cfg(pki.client))
	})
}

// TestTLSRequired: before TLS only IDENTIFY is accepted, and the plain
// HTTP API answers 403 when --tls-required=true.
func TestTLSRequired(t *testing.T) {
	pki := newPKI(t)
	n := tlsNSQD(t, pki, func(o *Options) { o.TLSRequired = TLSRequired })
	c := dialRaw(t, n)
	c.cmdBody("PUB t", []byte("x"))
	c.expectError("E_INVALID cannot PUB in current state (TLS required)")
	c.expectClosed()

	resp, err := http.Get(httpURL(n, "/ping"))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 200)
	k, _ := resp.Body.Read(b)
	resp.Body.Close()
	httpsPort := n.HTTPSAddr().(*net.TCPAddr).Port
	if want := fmt.Sprintf(`{"message": "TLS_REQUIRED", "https_port": %d}`, httpsPort); resp.StatusCode != 403 || string(b[:k]) != want {
		t.Fatalf("plain HTTP: %d %q, want 403 %q", resp.StatusCode, b[:k], want)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	resp, err = hc.Get("https://" + n.HTTPSAddr().String() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS /ping: %d", resp.StatusCode)
	}
	moveMessages(t, n, "required", 1000, func() *gonsq.Config {
		c := gonsq.NewConfig()
		c.TlsV1 = true
		c.TlsConfig = &tls.Config{RootCAs: pki.pool}
		return c
	})
}

// TestBadHandshakeHarmsNoOne: garbage instead of a TLS ClientHello and a
// client that distrusts the server are refused, while a plain producer on
// the same broker keeps publishing.
func TestBadHandshakeHarmsNoOne(t *testing.T) {
	pki := newPKI(t)
	n := tlsNSQD(t, pki, nil)
	good := dialRaw(t, n)
	for i := 0; i < 3; i++ {
		bad := dialRaw(t, n)
		bad.cmdBody("IDENTIFY", []byte(`{"feature_negotiation":true,"tls_v1":true}`))
		bad.readFrame() // the IDENTIFY response
		bad.write([]byte("this is not a TLS ClientHello\n"))
		bad.expectClosed()

		// A client that does not trust our CA gives up the handshake.
		c := gonsq.NewConfig()
		c.TlsV1 = true
		c.TlsConfig = &tls.Config{}
		p, _ := gonsq.NewProducer(n.TCPAddr().String(), c)
		p.SetLogger(quietLogger())
		if err := p.Publish("bad", []byte("x")); err == nil {
			t.Fatal("untrusted server accepted")
		}
		p.Stop()

		good.cmdBody("PUB good", []byte(fmt.Sprint(i)))
		good.expectResponse("OK")
	}
}

// TestUpgradeLosesNoBytes: clients that send compressed commands right
// behind their IDENTIFY, without waiting for its answer, while others
// publish, lose nothing and keep their order across the hand-off from
// the event loop.
func TestUpgradeLosesNoBytes(t *testing.T) {
	n := startNSQD(t, nil)
	const conns, perConn = 16, 300
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- pipelinedUpgrade(n, i, perConn)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every producer's messages are all there, in its order.
	c := dialRaw(t, n)
	c.subscribe("handoff", "ch", 2500)
	next := make([]int, conns)
	for k := 0; k < conns*perConn; k++ {
		m := c.readMessage()
		var who, seq int
		if _, err := fmt.Sscanf(string(m.Body), "%d/%d", &who, &seq); err != nil {
			t.Fatalf("body %q", m.Body)
		}
		if seq != next[who] {
			t.Fatalf("producer %d: got message %d, want %d", who, seq, next[who])
		}
		next[who]++
		c.cmd("FIN " + string(m.ID[:]))
	}
}

func pipelinedUpgrade(n *NSQD, who, count int) error {
	conn, err := net.Dial("tcp", n.TCPAddr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	useSnappy := who%2 == 0
	ident := `{"feature_negotiation":true,"deflate":true,"deflate_level":3}`
	if useSnappy {
		ident = `{"feature_negotiation":true,"snappy":true}`
	}
	var head []byte
	head = append(head, wire.MagicV2...)
	head = append(head, "IDENTIFY\n"...)
	head = binary.BigEndian.AppendUint32(head, uint32(len(ident)))
	head = append(head, ident...)
	// The compressed stream starts right after, in the same write.
	var cw interface {
		Write([]byte) (int, error)
		Flush() error
	}
	buf := &writeBuffer{}
	if useSnappy {
		cw = snappy.NewBufferedWriter(buf)
	} else {
		fw, _ := flate.NewWriter(buf, 3)
		cw = fw
	}
	for i := 0; i < count; i++ {
		body := fmt.Sprintf("%d/%d", who, i)
		line := []byte("PUB handoff\n")
		line = binary.BigEndian.AppendUint32(line, uint32(len(body)))
		line = append(line, body...)
		if _, err := cw.Write(line); err != nil {
			return err
		}
		if i%50 == 49 || i == count-1 {
			if err := cw.Flush(); err != nil {
				return err
			}
		}
	}
	if _, err := conn.Write(append(head, buf.b...)); err != nil {
		return err
	}
	br := bufio.NewReader(conn)
	ft, data, err := wire.ReadFrame(br, nil)
	if err != nil || ft != wire.FrameTypeResponse || data[0] != '{' {
		return fmt.Errorf("producer %d: IDENTIFY answer %d %q %v", who, ft, data, err)
	}
	var r interface{ Read([]byte) (int, error) }
	if useSnappy {
		r = snappy.NewReader(br)
	} else {
		r = flate.NewReader(br)
	}
	zr := bufio.NewReader(r)
	for i := 0; i < count+1; i++ { // the upgrade's OK, then one OK per PUB
		ft, data, err := wire.ReadFrame(zr, nil)
		if err != nil {
			return fmt.Errorf("producer %d: frame %d: %v", who, i, err)
		}
		if ft != wire.FrameTypeResponse || (string(data) != "OK" && string(data) != "_heartbeat_") {
			return fmt.Errorf("producer %d: frame %d: %d %q", who, i, ft, data)
		}
		if string(data) == "_heartbeat_" {
			i--
		}
	}
	return nil
}

type writeBuffer struct{ b []byte }

func (w *writeBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// authServer is a test auth server whose answers the test controls.
type authServer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	down  bool
	ttl   int
	calls atomic.Int64
}

func newAuthServer(t *testing.T) *authServer {
	a := &authServer{ttl: 3600}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		a.mu.Lock()
		down, ttl := a.down, a.ttl
		a.mu.Unlock()
		if down || r.URL.Path != "/auth" {
			w.WriteHeader(500)
			return
		}
		q := r.URL.Query()
		var auths []map[string]any
		switch q.Get("secret") {
		case "publisher":
			auths = []map[string]any{{"topic": "^allowed.*", "channels": []string{".*"}, "permissions": []string{"publish"}}}
		case "subscriber":
			auths = []map[string]any{{"topic": "^allowed.*", "channels": []string{"^ch$"}, "permissions": []string{"subscribe"}}}
		case "both":
			auths = []map[string]any{{"topic": "^allowed.*", "channels": []string{".*"}, "permissions": []string{"publish", "subscribe"}}}
		case "nothing":
			auths = []map[string]any{}
		default:
			w.WriteHeader(403)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ttl": ttl, "identity": "id-" + q.Get("secret"), "identity_url": "http://x/" + q.Get("secret"),
			"authorizations": auths,
		})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authServer) set(down bool, ttl int) {
	a.mu.Lock()
	a.down, a.ttl = down, ttl
	a.mu.Unlock()
}

// TestAUTH: allowed, denied, no authorizations, expired and refreshed, and
// the auth server down.
func TestAUTH(t *testing.T) {
	a := newAuthServer(t)
	n := startNSQD(t, func(o *Options) { o.AuthHTTPAddresses = []string{a.srv.Listener.Addr().String()} })

	auth := func(c *rawConn, secret string) {
		c.identify(map[string]any{"feature_negotiation": true})
		c.cmdBody("AUTH", []byte(secret))
	}
	t.Run("identify says auth required", func(t *testing.T) {
		c := dialRaw(t, n)
		c.cmdBody("IDENTIFY", []byte(`{"feature_negotiation":true}`))
		_, data := c.readFrame()
		var r struct {
			AuthRequired bool `json:"auth_required"`
		}
		_ = json.Unmarshal(data, &r)
		if !r.AuthRequired {
			t.Fatalf("IDENTIFY response %s", data)
		}
	})
	t.Run("publish before AUTH", func(t *testing.T) {
		c := dialRaw(t, n)
		c.cmdBody("PUB allowed", []byte("x"))
		c.expectError("E_AUTH_FIRST AUTH required before PUB")
		c.expectClosed()
	})
	t.Run("allowed and denied", func(t *testing.T) {
		c := dialRaw(t, n)
		auth(c, "publisher")
		c.expectResponse(`{"identity":"id-publisher","identity_url":"http://x/publisher","permission_count":1}`)
		c.cmdBody("PUB allowed_topic", []byte("x"))
		c.expectResponse("OK")
		c.cmdBody("PUB other", []byte("x"))
		c.expectError(`E_UNAUTHORIZED AUTH failed for PUB on "other" ""`)
		c.expectClosed()
	})
	t.Run("subscribe", func(t *testing.T) {
		c := dialRaw(t, n)
		auth(c, "subscriber")
		c.readFrame()
		c.cmd("SUB allowed_topic ch")
		c.expectResponse("OK")
		d := dialRaw(t, n)
		auth(d, "subscriber")
		d.readFrame()
		d.cmd("SUB allowed_topic other")
		d.expectError(`E_UNAUTHORIZED AUTH failed for SUB on "allowed_topic" "other"`)
	})
	t.Run("refused secret", func(t *testing.T) {
		c := dialRaw(t, n)
		auth(c, "wrong")
		c.expectError("E_AUTH_FAILED AUTH failed")
		c.expectClosed()
	})
	t.Run("no authorizations", func(t *testing.T) {
		c := dialRaw(t, n)
		auth(c, "nothing")
		c.expectError("E_UNAUTHORIZED AUTH no authorizations found")
		c.expectClosed()
	})
	t.Run("expired then refreshed", func(t *testing.T) {
		a.set(false, 1)
		defer a.set(false, 3600)
		c := dialRaw(t, n)
		auth(c, "publisher")
		c.readFrame()
		before := a.calls.Load()
		// The authorizations last 1s: PUBs across it make nsqd fetch
		// them again, and every PUB still succeeds.
		deadline := time.Now().Add(10 * time.Second)
		for a.calls.Load() == before {
			if time.Now().After(deadline) {
				t.Fatal("expired authorizations were not fetched again")
			}
			c.cmdBody("PUB allowed_topic", []byte("x"))
			c.expectResponse("OK")
			time.Sleep(100 * time.Millisecond) // pacing the client across the TTL
		}
	})
	t.Run("server down", func(t *testing.T) {
		a.set(true, 3600)
		defer a.set(false, 3600)
		c := dialRaw(t, n)
		auth(c, "publisher")
		c.expectError("E_AUTH_FAILED AUTH failed")
		c.expectClosed()
	})
	t.Run("expired while server down", func(t *testing.T) {
		a.set(false, 1)
		c := dialRaw(t, n)
		auth(c, "publisher")
		c.readFrame()
		a.set(true, 1)
		defer a.set(false, 3600)
		time.Sleep(1100 * time.Millisecond) // let the 1s TTL pass
		c.cmdBody("PUB allowed_topic", []byte("x"))
		c.expectError("E_AUTH_FAILED AUTH failed")
		c.expectClosed()
	})
	t.Run("go-nsq with AuthSecret", func(t *testing.T) {
		moveMessages(t, n, "allowed_gonsq", 500, func() *gonsq.Config {
			c := gonsq.NewConfig()
			c.AuthSecret = "both"
			return c
		})
	})
}

// TestStatsShowNegotiatedFeatures: /stats reports each client's TLS and
// compression, as upstream.
func TestStatsShowNegotiatedFeatures(t *testing.T) {
	pki := newPKI(t)
	n := tlsNSQD(t, pki, nil)
	c := gonsq.NewConfig()
	c.TlsV1 = true
	c.TlsConfig = &tls.Config{RootCAs: pki.pool}
	c.Snappy = true
	p, err := gonsq.NewProducer(n.TCPAddr().String(), c)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	defer p.Stop()
	if err := p.Publish("feat", []byte("x")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(httpURL(n, "/stats?format=json"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Producers []struct {
			TLS        bool   `json:"tls"`
			TLSVersion string `json:"tls_version"`
			Snappy     bool   `json:"snappy"`
			Deflate    bool   `json:"deflate"`
		} `json:"producers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Producers) != 1 || !st.Producers[0].TLS || st.Producers[0].TLSVersion != "TLS1.3" || !st.Producers[0].Snappy || st.Producers[0].Deflate {
		t.Fatalf("producers: %+v", st.Producers)
	}
}
