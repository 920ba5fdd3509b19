package lookup

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire/lookupdoc"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

func TestBadMagic(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialRawV1(t, l.TCPAddr().String())
	c.send("  V2")
	c.expect("E_BAD_PROTOCOL")
	c.expectClosed()
}

func TestIdentifyResponse(t *testing.T) {
	l := startLookupd(t, func(o *Options) { o.BroadcastAddress = "lookupd-1.example" })
	c := dialV1(t, l.TCPAddr().String())
	body := `{"broadcast_address":"127.0.0.1","hostname":"h","http_port":4151,"tcp_port":4150,"version":"1.3.0"}`
	c.send(string(lookupv1.AppendIdentify(nil, []byte(body))))
	host, _ := os.Hostname()
	want, _ := json.Marshal(map[string]any{"broadcast_address": "lookupd-1.example", "hostname": host,
		"http_port": l.HTTPAddr().Port, "tcp_port": l.TCPAddr().Port, "version": "1.3.0"})
	c.expect(string(want))
	// Identified: registered as a client.
	regs := l.DB().LookupRegistrations(c.conn.LocalAddr().String())
	if !slices.Equal(regs, []registry.Registration{{Category: registry.CategoryClient}}) {
		t.Fatalf("registrations %v", regs)
	}
	c.send("IDENTIFY\n")
	c.expect("E_INVALID cannot IDENTIFY again")
	c.expectClosed()
	waitFor(t, "the client registration to go", func() bool {
		return len(l.DB().LookupRegistrations(c.conn.LocalAddr().String())) == 0
	})
}

func TestFatalErrors(t *testing.T) {
	l := startLookupd(t, nil)
	ident := string(lookupv1.AppendIdentify(nil, []byte(`{"broadcast_address":"b","tcp_port":1,"http_port":2,"version":"v"}`)))
	tests := []struct {
		name, send, want string
	}{
		{"unknown", "NOP\n", "E_INVALID invalid command NOP"},
		{"empty line", "\n", "E_INVALID invalid command "},
		{"register first", "REGISTER t\n", "E_INVALID client must IDENTIFY"},
		{"unregister first", "UNREGISTER t c\n", "E_INVALID client must IDENTIFY"},
		{"no params", ident + "REGISTER\n", "E_INVALID REGISTER insufficient number of params"},
		{"bad topic", ident + "REGISTER a*\n", "E_BAD_TOPIC REGISTER topic name 'a*' is not valid"},
		{"bad channel", ident + "UNREGISTER t c!\n", "E_BAD_CHANNEL UNREGISTER channel name 'c!' is not valid"},
		{"bad json", string(lookupv1.AppendIdentify(nil, []byte("{"))), "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"missing fields", string(lookupv1.AppendIdentify(nil, []byte(`{"tcp_port":1}`))), "E_BAD_BODY IDENTIFY missing fields"},
		{"negative size", "IDENTIFY\n\xff\xff\xff\xff", "E_BAD_BODY IDENTIFY invalid body size -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialV1(t, l.TCPAddr().String())
			c.send(tt.send)
			got := c.read()
			if strings.HasPrefix(got, "{") { // the answer to a good IDENTIFY
				got = c.read()
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			c.expectClosed()
		})
	}
}

func TestIdentifyCutShort(t *testing.T) {
	l := startLookupd(t, nil)
	for send, want := range map[string]string{
		"IDENTIFY\n\x00\x00":               "E_BAD_BODY IDENTIFY failed to read body size",
		"IDENTIFY\n\x00\x00\x00\x05{\"a\"": "E_BAD_BODY IDENTIFY failed to read body",
	} {
		c := dialV1(t, l.TCPAddr().String())
		c.send(send)
		_ = c.conn.CloseWrite() // EOF for the server; we can still read
		c.expect(want)
		c.expectClosed()
	}
	// A partial line gets no answer.
	c := dialV1(t, l.TCPAddr().String())
	c.send("PIN")
	_ = c.conn.CloseWrite()
	c.expectClosed()
}

func TestLineTooLongClosesSilently(t *testing.T) {
	l := startLookupd(t, func(o *Options) { o.Limits = lookupv1.Limits{MaxLine: 64, MaxBody: 1024} })
	c := dialV1(t, l.TCPAddr().String())
	c.cmd("PING")
	c.send(strings.Repeat("x", 100))
	c.expectClosed()
}

func TestPingBeforeIdentify(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l.TCPAddr().String())
	c.cmd("PING")
	c.cmd("PING extra words")
}

func TestRegisterUnregister(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l.TCPAddr().String())
	c.identify(4150, 4151)
	c.cmd("REGISTER t")
	c.cmd("REGISTER t c1")
	c.cmd("REGISTER t c2#ephemeral")
	c.cmd("REGISTER t#ephemeral")
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":["c1","c2#ephemeral"]}`)
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t","t#ephemeral"]}`)
	doc, ok := lookupDoc(t, l, "t")
	if !ok || producerPorts(doc) != "127.0.0.1:4150" || doc.Producers[0].RemoteAddress != c.conn.LocalAddr().String() ||
		doc.Producers[0].Hostname != "test-host" || doc.Producers[0].HTTPPort != 4151 || doc.Producers[0].Version != "1.3.0" {
		t.Fatalf("lookup %+v %v", doc, ok)
	}

	// A channel unregistered keeps its registration, unless ephemeral.
	c.cmd("UNREGISTER t c1")
	c.cmd("UNREGISTER t c2#ephemeral")
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":["c1"]}`)
	if ps := l.DB().FindProducers(registry.CategoryChannel, "t", "c1"); len(ps) != 0 {
		t.Fatalf("c1 producers %v", ps)
	}
	// Unregistering what is not registered is fine.
	c.cmd("UNREGISTER nothing here")
	// An ephemeral topic goes with its last producer; a durable one stays.
	c.cmd("UNREGISTER t#ephemeral")
	c.cmd("UNREGISTER t")
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t"]}`)
	if doc, ok := lookupDoc(t, l, "t"); !ok || len(doc.Producers) != 0 {
		t.Fatalf("lookup after UNREGISTER %+v %v", doc, ok)
	}
}

// TestTopicUnregisterTakesChannels: UNREGISTER of a topic removes the peer
// from the topic's channels too (upstream logs it as unexpected).
func TestTopicUnregisterTakesChannels(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l.TCPAddr().String())
	c.identify(4150, 4151)
	c.cmd("REGISTER t c")
	c.cmd("UNREGISTER t")
	if ps := l.DB().FindProducers(registry.CategoryChannel, "t", "c"); len(ps) != 0 {
		t.Fatalf("channel producers %v", ps)
	}
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":["c"]}`)
}

func TestEphemeralChannelSharedByTwoPeers(t *testing.T) {
	l := startLookupd(t, nil)
	a, b := dialV1(t, l.TCPAddr().String()), dialV1(t, l.TCPAddr().String())
	a.identify(1, 2)
	b.identify(3, 4)
	a.cmd("REGISTER t c#ephemeral")
	b.cmd("REGISTER t c#ephemeral")
	a.cmd("UNREGISTER t c#ephemeral")
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":["c#ephemeral"]}`)
	b.cmd("UNREGISTER t c#ephemeral")
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":[]}`)
}

// TestDisconnectUnregisters: a peer that goes away leaves every
// registration it was in, which stay (as upstream).
func TestDisconnectUnregisters(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l.TCPAddr().String())
	c.identify(4150, 4151)
	c.cmd("REGISTER t c")
	id := c.conn.LocalAddr().String()
	if n := len(l.DB().LookupRegistrations(id)); n != 3 {
		t.Fatalf("%d registrations", n)
	}
	c.conn.Close()
	waitFor(t, "the registrations to go", func() bool { return len(l.DB().LookupRegistrations(id)) == 0 })
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t"]}`)
	expectHTTP(t, get(t, l, "/lookup?topic=t"), 200, `{"channels":["c"],"producers":[]}`)
	expectHTTP(t, get(t, l, "/nodes"), 200, `{"producers":[]}`)
}

// TestPipelined: commands sent in one write are answered in order.
func TestPipelined(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialRawV1(t, l.TCPAddr().String())
	body := `{"broadcast_address":"b","tcp_port":1,"http_port":2,"version":"v"}`
	var b []byte
	b = append(b, lookupv1.Magic...)
	b = lookupv1.AppendPing(b)
	b = lookupv1.AppendIdentify(b, []byte(body))
	for i := range 50 {
		b = lookupv1.AppendRegister(b, "t"+strconv.Itoa(i), "c")
	}
	b = lookupv1.AppendPing(b)
	b = append(b, "BOGUS\nPING\n"...)
	c.send(string(b))
	c.expect("OK")
	var id lookupdoc.Identity
	if err := json.Unmarshal([]byte(c.read()), &id); err != nil || id.TCPPort != l.TCPAddr().Port {
		t.Fatalf("identity %+v %v", id, err)
	}
	for range 51 {
		c.expect("OK")
	}
	c.expect("E_INVALID invalid command BOGUS")
	c.expectClosed()
}

// TestBytewise: a session arriving one byte at a time is served the same.
func TestBytewise(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialRawV1(t, l.TCPAddr().String())
	body := `{"broadcast_address":"b","tcp_port":1,"http_port":2,"version":"v"}`
	s := lookupv1.Magic + string(lookupv1.AppendIdentify(nil, []byte(body))) + "REGISTER t c\n"
	for i := range len(s) {
		c.send(s[i : i+1])
	}
	c.read()
	c.expect("OK")
	expectHTTP(t, get(t, l, "/channels?topic=t"), 200, `{"channels":["c"]}`)
}

func TestLargeIdentifyBody(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l.TCPAddr().String())
	pad := strings.Repeat("x", 100_000)
	body := `{"broadcast_address":"b","tcp_port":1,"http_port":2,"version":"v","hostname":"` + pad + `"}`
	c.send(string(lookupv1.AppendIdentify(nil, []byte(body))))
	c.read()
	ps := l.DB().FindProducers(registry.CategoryClient, "", "")
	if len(ps) != 1 || ps[0].Peer.Info.Hostname != pad {
		t.Fatal("hostname lost")
	}
	c.send("IDENTIFY\n" + string(binary.BigEndian.AppendUint32(nil, 2<<20)))
	c.expect("E_INVALID cannot IDENTIFY again")
}

// TestExitClosesConnections: Exit returns with peers still connected, and
// they see the connection close.
func TestExitClosesConnections(t *testing.T) {
	o := NewOptions()
	o.TCPAddress, o.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	o.LogOutput = new(strings.Builder) // log.Logger serialises writes
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Main(); err != nil {
		t.Fatal(err)
	}
	c := dialV1(t, l.TCPAddr().String())
	c.identify(1, 2)
	l.Exit()
	c.expectClosed()
	l.Exit() // twice is fine
}
