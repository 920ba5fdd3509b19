package client

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/lookup"
	"github.com/nsqfast/nsq/lookup/lookuptest"
	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire/lookupdoc"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

func startLookupd(t *testing.T, tcpAddr string) *lookup.NSQLookupd {
	return lookuptest.Start(t, tcpAddr, nil)
}

var waitFor = lookuptest.WaitFor

// state is a fake engine: the registrations a snapshot returns.
type state struct {
	mu      sync.Mutex
	regs    []Registration
	created map[string][]string
}

func (s *state) snapshot() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regs)
}

func (s *state) set(regs ...Registration) {
	s.mu.Lock()
	s.regs = regs
	s.mu.Unlock()
}

func (s *state) createChannels(topic string, chans []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created == nil {
		s.created = map[string][]string{}
	}
	s.created[topic] = append(s.created[topic], chans...)
}

func newClient(t *testing.T, st *state, addrs ...string) *Client {
	t.Helper()
	c := New(Options{
		Addresses:      addrs,
		Identity:       lookupdoc.Identity{BroadcastAddress: "127.0.0.1", Hostname: "h", TCPPort: 4150, HTTPPort: 4151, Version: "1.3.0"},
		Snapshot:       st.snapshot,
		CreateChannels: st.createChannels,
		PingInterval:   100 * time.Millisecond,
		Logf: func(level engine.LogLevel, format string, args ...any) {
			if level >= engine.LogWarn {
				t.Logf(format, args...)
			}
		},
	})
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// registered lists the registrations of the peers in l, as
// "topic" / "topic:channel", sorted.
func registered(l *lookup.NSQLookupd) string {
	var out []string
	for _, e := range l.DB().Dump() {
		if len(e.Producers) == 0 || e.Registration.Category == registry.CategoryClient {
			continue
		}
		r := e.Registration
		s := r.Key
		if r.Category == registry.CategoryChannel {
			s += ":" + r.SubKey
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestIdentifyAndSnapshot(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	st := &state{}
	st.set(Registration{Topic: "a"}, Registration{Topic: "b", Channel: "x"}, Registration{Topic: "b", Channel: "y"})
	c := newClient(t, st, l.TCPAddr().String())
	waitFor(t, "the snapshot", func() bool { return registered(l) == "a,b,b:x,b:y" })
	ps := l.DB().FindProducers(registry.CategoryClient, "", "")
	if len(ps) != 1 {
		t.Fatalf("%d clients", len(ps))
	}
	if info := ps[0].Peer.Info; info.BroadcastAddress != "127.0.0.1" || info.Hostname != "h" || info.TCPPort != 4150 ||
		info.HTTPPort != 4151 || info.Version != "1.3.0" {
		t.Fatalf("identity %+v", info)
	}
	if got := c.HTTPAddresses(); !slices.Equal(got, []string{l.HTTPAddr().String()}) {
		t.Fatalf("HTTPAddresses %v", got)
	}
	// PINGs keep the peer's last update recent.
	first := ps[0].Peer.LastUpdate()
	waitFor(t, "a PING", func() bool { return ps[0].Peer.LastUpdate() > first })
}

func TestChanges(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	st := &state{}
	c := newClient(t, st, l.TCPAddr().String())
	waitFor(t, "the connection", func() bool { return len(l.DB().FindProducers(registry.CategoryClient, "", "")) == 1 })
	c.Changed(engine.Change{Kind: engine.TopicCreated, Topic: "t"})
	c.Changed(engine.Change{Kind: engine.ChannelCreated, Topic: "t", Channel: "c"})
	c.Changed(engine.Change{Kind: engine.ChannelCreated, Topic: "t", Channel: "d#ephemeral"})
	waitFor(t, "the registrations", func() bool { return registered(l) == "t,t:c,t:d#ephemeral" })
	c.Changed(engine.Change{Kind: engine.ChannelDeleted, Topic: "t", Channel: "d#ephemeral"})
	c.Changed(engine.Change{Kind: engine.ChannelDeleted, Topic: "t", Channel: "c"})
	c.Changed(engine.Change{Kind: engine.TopicDeleted, Topic: "t"})
	waitFor(t, "the unregistrations", func() bool { return registered(l) == "" })
	// The ephemeral channel's registration went with it; the others stay.
	if chs := l.DB().FindRegistrations(registry.CategoryChannel, "t", "*"); len(chs) != 1 || chs[0].SubKey != "c" {
		t.Fatalf("channels %v", chs)
	}
	c.Changed(engine.Change{Kind: 99}) // ignored
}

// TestReconnect: after nsqlookupd restarts (on the same address), the
// client connects again and registers everything the engine has then.
func TestReconnect(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	addr := l.TCPAddr().String()
	st := &state{}
	st.set(Registration{Topic: "t", Channel: "c"})
	newClient(t, st, addr)
	waitFor(t, "the snapshot", func() bool { return registered(l) == "t,t:c" })
	l.Exit()
	st.set(Registration{Topic: "t", Channel: "c"}, Registration{Topic: "u"})
	l2 := startLookupd(t, addr)
	waitFor(t, "the registrations on the new nsqlookupd", func() bool { return registered(l2) == "t,t:c,u" })
}

// TestStartsBeforeLookupd: an nsqlookupd that is not up yet is retried.
func TestStartsBeforeLookupd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	st := &state{}
	st.set(Registration{Topic: "t"})
	newClient(t, st, addr)
	l := startLookupd(t, addr)
	waitFor(t, "the registration", func() bool { return registered(l) == "t" })
}

func TestSetAddresses(t *testing.T) {
	l1, l2 := startLookupd(t, "127.0.0.1:0"), startLookupd(t, "127.0.0.1:0")
	a1, a2 := l1.TCPAddr().String(), l2.TCPAddr().String()
	st := &state{}
	st.set(Registration{Topic: "t"})
	c := newClient(t, st, a1)
	waitFor(t, "l1", func() bool { return registered(l1) == "t" })
	c.SetAddresses([]string{a1, a2, a2})
	if got := c.Addresses(); !slices.Equal(got, []string{a1, a2, a2}) {
		t.Fatalf("Addresses %v", got)
	}
	waitFor(t, "l2", func() bool { return registered(l2) == "t" })
	c.SetAddresses([]string{a2})
	waitFor(t, "l1 to drop this nsqd", func() bool { return registered(l1) == "" })
	if registered(l2) != "t" || len(l2.DB().FindProducers(registry.CategoryClient, "", "")) != 1 {
		t.Fatal("l2 was disturbed")
	}
	c.SetAddresses(nil)
	waitFor(t, "l2 to drop this nsqd", func() bool { return registered(l2) == "" })
}

func TestCloseUnregisters(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	st := &state{}
	st.set(Registration{Topic: "t"})
	c := newClient(t, st, l.TCPAddr().String())
	waitFor(t, "the registration", func() bool { return registered(l) == "t" })
	c.Close()
	waitFor(t, "the unregistration", func() bool { return registered(l) == "" })
	c.Changed(engine.Change{Kind: engine.TopicCreated, Topic: "x"}) // after Close: nothing happens
	c.Close()
}

// TestChannelQuery: a new topic gets the (non-ephemeral) channels every
// nsqlookupd knows for it.
func TestChannelQuery(t *testing.T) {
	l1, l2 := startLookupd(t, "127.0.0.1:0"), startLookupd(t, "127.0.0.1:0")
	for _, reg := range []struct {
		l    *lookup.NSQLookupd
		t, c string
	}{{l1, "t", "a"}, {l1, "t", "b#ephemeral"}, {l2, "t", "c"}, {l2, "t", "a"}, {l2, "other", "z"}} {
		reg.l.DB().AddRegistration(registry.Registration{Category: registry.CategoryChannel, Key: reg.t, SubKey: reg.c})
	}
	st := &state{}
	c := newClient(t, st, l1.TCPAddr().String(), l2.TCPAddr().String())
	waitFor(t, "both connections", func() bool { return len(c.HTTPAddresses()) == 2 })
	chans, err := c.TopicChannels(t.Context(), "t")
	if err != nil || !slices.Equal(chans, []string{"a", "b#ephemeral", "c"}) {
		t.Fatalf("TopicChannels = %v %v", chans, err)
	}
	c.Changed(engine.Change{Kind: engine.TopicCreated, Topic: "t"})
	waitFor(t, "the channels", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return slices.Equal(st.created["t"], []string{"a", "c"})
	})
	// One nsqlookupd down is not an error.
	l1.Exit()
	if chans, err := c.TopicChannels(t.Context(), "t"); err != nil || !slices.Equal(chans, []string{"a", "c"}) {
		t.Fatalf("with l1 down: %v %v", chans, err)
	}
	l2.Exit()
	if _, err := c.TopicChannels(t.Context(), "t"); err == nil {
		t.Fatal("no error with every nsqlookupd down")
	}
}

func TestNoLookupd(t *testing.T) {
	c := New(Options{Snapshot: func() []Registration { return nil }})
	c.Start()
	defer c.Close()
	if _, err := c.TopicChannels(t.Context(), "t"); err != ErrNoLookupd {
		t.Fatalf("err %v", err)
	}
	c.Changed(engine.Change{Kind: engine.TopicCreated, Topic: "t"})
}

// fakeLookupd accepts one connection and answers each command with the
// next of answers (after the IDENTIFY answer), recording what it read.
func fakeLookupd(t *testing.T, identifyAnswer string, answers ...string) (addr string, got func() string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var buf []byte
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		tmp := make([]byte, 4096)
		identified := false
		var cmd lookupv1.Command
		off := len(lookupv1.Magic)
		for {
			n, err := conn.Read(tmp)
			mu.Lock()
			buf = append(buf, tmp[:n]...)
			for len(buf) > off {
				used, perr := lookupv1.Next(buf[off:], identified, nil, &cmd)
				if perr != nil || used == 0 {
					break
				}
				off += used
				answer := identifyAnswer
				if identified {
					if len(answers) == 0 {
						mu.Unlock()
						return
					}
					answer, answers = answers[0], answers[1:]
				}
				identified = true
				_, _ = conn.Write(lookupv1.AppendResponseString(nil, answer))
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return ln.Addr().String(), func() string {
		mu.Lock()
		defer mu.Unlock()
		return string(buf)
	}
}

// TestWireFormat checks the bytes the client sends: magic, IDENTIFY with
// upstream nsqd's body, then the snapshot's REGISTERs.
func TestWireFormat(t *testing.T) {
	addr, got := fakeLookupd(t, `{"broadcast_address":"x","http_port":1,"tcp_port":2,"version":"1.3.0"}`, "OK", "OK")
	st := &state{}
	st.set(Registration{Topic: "t"}, Registration{Topic: "u", Channel: "c"})
	newClient(t, st, addr)
	body := `{"broadcast_address":"127.0.0.1","hostname":"h","http_port":4151,"tcp_port":4150,"version":"1.3.0"}`
	want := lookupv1.Magic + string(lookupv1.AppendIdentify(nil, []byte(body))) + "REGISTER t\nREGISTER u c\n"
	waitFor(t, "the session", func() bool { return strings.HasPrefix(got(), want) })
}

// TestBadIdentifyAnswer: an answer that is not JSON is logged and drops
// the connection.
func TestBadIdentifyAnswer(t *testing.T) {
	addr, _ := fakeLookupd(t, "E_INVALID")
	var mu sync.Mutex
	var logs []string
	c := New(Options{
		Addresses: []string{addr},
		Snapshot:  func() []Registration { return nil },
		Logf: func(_ engine.LogLevel, format string, args ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
	})
	c.Start()
	defer c.Close()
	waitFor(t, "the error", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(logs, `LOOKUPD(`+addr+`): IDENTIFY: lookupd returned "E_INVALID"`)
	})
}

func TestQueueOverflow(t *testing.T) {
	p := newPeer(&Client{}, "x")
	p.startQueueing(true)
	for i := range maxQueue + 10 {
		p.enqueue(command{register: true, topic: fmt.Sprint(i)})
	}
	cmds, overflow := p.takeQueue()
	if !overflow || len(cmds) != 9 {
		t.Fatalf("overflow %v, %d queued", overflow, len(cmds))
	}
	p.startQueueing(false)
	p.enqueue(command{topic: "t"})
	if cmds, _ := p.takeQueue(); len(cmds) != 0 {
		t.Fatal("queued while disconnected")
	}
}
