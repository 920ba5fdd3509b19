package registry

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/lookupdoc"
)

var t0 = time.Unix(1_700_000_000, 0)

func peer(id, addr string, tcp, http int) *Peer {
	return NewPeer(id, lookupdoc.Peer{RemoteAddress: id, BroadcastAddress: addr, TCPPort: tcp, HTTPPort: http, Version: "1.3.0"}, t0)
}

func topic(name string) Registration { return Registration{CategoryTopic, name, ""} }
func channel(t, c string) Registration {
	return Registration{CategoryChannel, t, c}
}

func ids(ps []Producer) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Peer.ID)
	}
	return out
}

func TestProducers(t *testing.T) {
	db := New()
	a, b := peer("a:1", "host-b", 4150, 4151), peer("b:1", "host-a", 4150, 4151)
	if !db.AddProducer(topic("t"), a) || !db.AddProducer(topic("t"), b) {
		t.Fatal("AddProducer refused a new producer")
	}
	if db.AddProducer(topic("t"), a) {
		t.Fatal("AddProducer added a producer twice")
	}
	// Sorted by broadcast address first.
	if got := ids(db.FindProducers(CategoryTopic, "t", "")); !slices.Equal(got, []string{"b:1", "a:1"}) {
		t.Fatalf("FindProducers = %v", got)
	}
	if removed, left := db.RemoveProducer(topic("t"), "a:1"); !removed || left != 1 {
		t.Fatalf("RemoveProducer = %v %d", removed, left)
	}
	if removed, left := db.RemoveProducer(topic("t"), "a:1"); removed || left != 1 {
		t.Fatalf("second RemoveProducer = %v %d", removed, left)
	}
	if removed, left := db.RemoveProducer(topic("nope"), "a:1"); removed || left != 0 {
		t.Fatalf("RemoveProducer of a missing registration = %v %d", removed, left)
	}
	db.RemoveProducer(topic("t"), "b:1")
	// The registration outlives its producers.
	if got := db.FindRegistrations(CategoryTopic, "t", ""); len(got) != 1 {
		t.Fatalf("registration gone with its producers: %v", got)
	}
	db.RemoveRegistration(topic("t"))
	if got := db.FindRegistrations(CategoryTopic, "t", ""); got == nil || len(got) != 0 {
		t.Fatalf("FindRegistrations after RemoveRegistration = %#v", got)
	}
	db.RemoveRegistration(topic("t")) // no-op
}

func TestFindRegistrations(t *testing.T) {
	db := New()
	p := peer("p:1", "h", 1, 2)
	for _, r := range []Registration{channel("t2", "z"), channel("t1", "b"), channel("t1", "a"), topic("t2"), topic("t1"), {CategoryClient, "", ""}} {
		db.AddProducer(r, p)
	}
	db.AddRegistration(channel("t3", "a"))
	tests := []struct {
		cat, key, sub string
		want          []Registration
	}{
		{CategoryTopic, "*", "", []Registration{topic("t1"), topic("t2")}},
		{CategoryTopic, "t1", "", []Registration{topic("t1")}},
		{CategoryTopic, "t9", "", []Registration{}},
		{CategoryChannel, "t1", "*", []Registration{channel("t1", "a"), channel("t1", "b")}},
		{CategoryChannel, "*", "a", []Registration{channel("t1", "a"), channel("t3", "a")}},
		{CategoryChannel, "*", "*", []Registration{channel("t1", "a"), channel("t1", "b"), channel("t2", "z"), channel("t3", "a")}},
		{CategoryChannel, "t1", "b", []Registration{channel("t1", "b")}},
		{CategoryTopic, "*", "*", []Registration{topic("t1"), topic("t2")}},
		{CategoryClient, "", "", []Registration{{CategoryClient, "", ""}}},
	}
	for _, tt := range tests {
		if got := db.FindRegistrations(tt.cat, tt.key, tt.sub); !slices.Equal(got, tt.want) {
			t.Errorf("FindRegistrations(%q, %q, %q) = %v, want %v", tt.cat, tt.key, tt.sub, got, tt.want)
		}
	}
	want := []Registration{channel("t1", "a"), channel("t1", "b"), channel("t2", "z"), {CategoryClient, "", ""}, topic("t1"), topic("t2")}
	sort.Slice(want, func(i, j int) bool { return compareRegistrations(want[i], want[j]) < 0 })
	if got := db.LookupRegistrations("p:1"); !slices.Equal(got, want) {
		t.Errorf("LookupRegistrations = %v", got)
	}
	// Producers across registrations count each peer once.
	db.AddProducer(topic("t1"), peer("q:1", "h", 1, 3))
	if got := ids(db.FindProducers(CategoryTopic, "*", "")); !slices.Equal(got, []string{"p:1", "q:1"}) {
		t.Errorf("FindProducers(topic, *) = %v", got)
	}
}

func TestTombstone(t *testing.T) {
	db := New()
	a, b := peer("a:1", "10.0.0.1", 4150, 4151), peer("b:1", "10.0.0.2", 4150, 4151)
	db.AddProducer(topic("t"), a)
	db.AddProducer(topic("t"), b)
	db.AddProducer(topic("u"), a)
	if n := db.Tombstone("t", "10.0.0.1:4150", t0); n != 0 {
		t.Fatalf("the TCP port matched: %d", n)
	}
	if n := db.Tombstone("t", "10.0.0.1:4151", t0); n != 1 {
		t.Fatalf("Tombstone marked %d", n)
	}
	ps := db.FindProducers(CategoryTopic, "t", "")
	if !ps[0].Tombstoned || ps[1].Tombstoned {
		t.Fatalf("tombstones %+v", ps)
	}
	if p, _ := db.Producer(topic("u"), "a:1"); p.Tombstoned {
		t.Fatal("tombstone leaked to another topic")
	}
	life := 45 * time.Second
	if !ps[0].IsTombstoned(life, t0.Add(44*time.Second)) || ps[0].IsTombstoned(life, t0.Add(45*time.Second)) {
		t.Fatal("tombstone lifetime")
	}
	if got := ids(Active(ps, t0.Add(time.Second), time.Minute, life)); !slices.Equal(got, []string{"b:1"}) {
		t.Fatalf("Active = %v", got)
	}
	// A re-registration keeps the tombstone.
	db.AddProducer(topic("t"), a)
	if p, _ := db.Producer(topic("t"), "a:1"); !p.Tombstoned {
		t.Fatal("re-registration cleared the tombstone")
	}
	// A tombstone lifetime of 0 keeps tombstoned producers (/nodes).
	if got := ids(Active(db.FindProducers(CategoryTopic, "t", ""), t0, time.Minute, 0)); len(got) != 2 {
		t.Fatalf("Active with lifetime 0 = %v", got)
	}
}

func TestActiveInactivity(t *testing.T) {
	db := New()
	a, b := peer("a:1", "a", 1, 2), peer("b:1", "b", 1, 2)
	db.AddProducer(topic("t"), a)
	db.AddProducer(topic("t"), b)
	b.Touch(t0.Add(4 * time.Minute))
	ps := db.FindProducers(CategoryTopic, "t", "")
	if got := ids(Active(ps, t0.Add(5*time.Minute), 5*time.Minute, time.Minute)); len(got) != 2 {
		t.Fatalf("at the timeout exactly: %v", got)
	}
	if got := ids(Active(ps, t0.Add(5*time.Minute+1), 5*time.Minute, time.Minute)); !slices.Equal(got, []string{"b:1"}) {
		t.Fatalf("past the timeout: %v", got)
	}
}

func TestDump(t *testing.T) {
	db := New()
	p := peer("p:1", "h", 1, 2)
	db.AddProducer(channel("t", "c"), p)
	db.AddProducer(topic("t"), p)
	db.AddRegistration(topic("empty"))
	d := db.Dump()
	if len(d) != 3 || d[0].Registration != channel("t", "c") || d[1].Registration != topic("empty") || len(d[1].Producers) != 0 || d[2].Producers[0].Peer != p {
		t.Fatalf("Dump = %+v", d)
	}
}

// naive is the registration model written as plainly as upstream's:
// one map, full scans.
type naive map[Registration]map[string]*Peer

func (m naive) find(cat, key, sub string) []Registration {
	out := []Registration{}
	for r := range m {
		if r.Matches(cat, key, sub) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, compareRegistrations)
	return out
}

// TestRandomAgainstNaive applies random operations to a DB and to the
// naive model and compares every query, which checks the indexes.
func TestRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	db, m := New(), naive{}
	peers := []*Peer{peer("a", "x", 1, 1), peer("b", "y", 1, 1), peer("c", "z", 1, 1)}
	names := []string{"t1", "t2", "t3"}
	randReg := func() Registration {
		switch rng.IntN(3) {
		case 0:
			return Registration{CategoryClient, "", ""}
		case 1:
			return topic(names[rng.IntN(3)])
		}
		return channel(names[rng.IntN(3)], names[rng.IntN(3)])
	}
	for i := range 5000 {
		r, p := randReg(), peers[rng.IntN(3)]
		switch rng.IntN(4) {
		case 0:
			db.AddRegistration(r)
			if m[r] == nil {
				m[r] = map[string]*Peer{}
			}
		case 1:
			db.AddProducer(r, p)
			if m[r] == nil {
				m[r] = map[string]*Peer{}
			}
			if m[r][p.ID] == nil {
				m[r][p.ID] = p
			}
		case 2:
			removed, left := db.RemoveProducer(r, p.ID)
			_, had := m[r][p.ID]
			delete(m[r], p.ID)
			if removed != had || (m[r] != nil && left != len(m[r])) {
				t.Fatalf("op %d: RemoveProducer = %v %d, model %v %d", i, removed, left, had, len(m[r]))
			}
		case 3:
			db.RemoveRegistration(r)
			delete(m, r)
		}
		for _, q := range [][3]string{{CategoryTopic, "*", ""}, {CategoryChannel, "t1", "*"}, {CategoryChannel, "*", "t2"}, {CategoryChannel, "*", "*"}, {CategoryClient, "", ""}} {
			if got, want := db.FindRegistrations(q[0], q[1], q[2]), m.find(q[0], q[1], q[2]); !slices.Equal(got, want) {
				t.Fatalf("op %d: FindRegistrations%v = %v, want %v", i, q, got, want)
			}
		}
		for _, p := range peers {
			var want []Registration
			for r, ps := range m {
				if ps[p.ID] != nil {
					want = append(want, r)
				}
			}
			slices.SortFunc(want, compareRegistrations)
			if got := db.LookupRegistrations(p.ID); !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Fatalf("op %d: LookupRegistrations(%s) = %v, want %v", i, p.ID, got, want)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	db := New()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := peer(fmt.Sprintf("p%d", w), "h", 1, 2)
			for i := range 500 {
				r := channel(fmt.Sprintf("t%d", i%7), fmt.Sprintf("c%d", i%3))
				db.AddProducer(r, p)
				db.AddProducer(topic(r.Key), p)
				p.Touch(time.Now())
				db.Tombstone(r.Key, "h:2", time.Now())
				_ = Active(db.FindProducers(CategoryTopic, r.Key, ""), time.Now(), time.Minute, time.Second)
				_ = db.FindRegistrations(CategoryChannel, r.Key, Wildcard)
				_ = db.Dump()
				if i%5 == 0 {
					db.RemoveProducer(r, p.ID)
					db.RemoveRegistration(topic(r.Key))
				}
			}
		}()
	}
	wg.Wait()
}
