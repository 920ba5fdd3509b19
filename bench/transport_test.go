package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
	"github.com/nsqfast/nsq/wire"
)

// selfSigned writes a certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestTransports: the load client negotiates TLS, snappy and deflate with
// a real nsqd and moves messages over each, so their cost can be measured
// beside plain connections.
func TestTransports(t *testing.T) {
	cert, key := selfSigned(t)
	o := nsqdtest.Options(t)
	o.TLSCert, o.TLSKey = cert, key
	n := nsqdtest.Start(t, o)
	for _, tr := range []Transport{{}, {TLS: true}, {Snappy: true}, {Deflate: 1}, {Deflate: 9}, {TLS: true, Snappy: true}, {TLS: true, Deflate: 6}} {
		ctx := context.Background()
		topic := "transport"
		sub, err := Dial(ctx, n.TCPAddr().String(), ConnOptions{Transport: tr})
		if err != nil {
			t.Fatalf("%+v: %v", tr, err)
		}
		if err := sub.SUB(topic, "ch"); err != nil {
			t.Fatal(err)
		}
		if err := sub.ExpectOK(); err != nil {
			t.Fatalf("%+v: SUB: %v", tr, err)
		}
		_ = sub.RDY(100)
		pub, err := Dial(ctx, n.TCPAddr().String(), ConnOptions{Transport: tr})
		if err != nil {
			t.Fatalf("%+v: %v", tr, err)
		}
		const N = 50
		for i := 0; i < N; i++ {
			if err := pub.PUB(topic, []byte("payload payload payload")); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < N; i++ {
			if err := pub.ExpectOK(); err != nil {
				t.Fatalf("%+v: PUB %d: %v", tr, i, err)
			}
		}
		_ = sub.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < N; i++ {
			ft, data, err := sub.Next()
			if err != nil || ft != wire.FrameTypeMessage {
				t.Fatalf("%+v: message %d: %d %q %v", tr, i, ft, data, err)
			}
			m, _ := wire.ParseMessage(data)
			if string(m.Body) != "payload payload payload" {
				t.Fatalf("%+v: body %q", tr, m.Body)
			}
			_ = sub.FIN(&m.ID)
		}
		_ = sub.Flush()
		pub.Close()
		sub.Close()
	}
}
