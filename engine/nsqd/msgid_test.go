package nsqd

import (
	"fmt"
	"testing"

	"github.com/nsqfast/nsq/engine/migrate"
	"github.com/nsqfast/nsq/wire"
)

// ids collects message IDs over a test and checks them as upstream's are:
// 16 lower-case hex digits, the node ID in the top 10 bits, never two
// messages with one ID.
type ids struct {
	t      *testing.T
	byID   map[wire.MessageID]string
	byBody map[string]wire.MessageID
}

func newIDs(t *testing.T) *ids {
	return &ids{t: t, byID: map[wire.MessageID]string{}, byBody: map[string]wire.MessageID{}}
}

// add records m, delivered by the nsqd with node ID node.
func (s *ids) add(m wire.Message, node int64) {
	s.t.Helper()
	n, ok := wire.Uint64FromID(m.ID[:])
	if !ok {
		s.t.Fatalf("ID %q is not 16 lower-case hex digits", m.ID[:])
	}
	if int64(n>>54) != node {
		s.t.Fatalf("ID %s has node %d, want %d", m.ID[:], n>>54, node)
	}
	body := string(m.Body)
	if old, ok := s.byBody[body]; ok && old != m.ID {
		s.t.Fatalf("%s delivered again with ID %s, first with %s", body, m.ID[:], old[:])
	}
	if other, ok := s.byID[m.ID]; ok && other != body {
		s.t.Fatalf("ID %s given to %q and to %q", m.ID[:], other, body)
	}
	s.byID[m.ID] = body
	s.byBody[body] = m.ID
}

// pubTake publishes n messages named prefix-i to topic through pub and
// reads them from sub (subscribed to topic with RDY >= n), finishing
// them unless keep.
func pubTake(t *testing.T, pub, sub *rawConn, topic, prefix string, n int, keep bool) []wire.Message {
	t.Helper()
	for i := range n {
		pub.cmdBody("PUB "+topic, fmt.Appendf(nil, "%s-%d", prefix, i))
		pub.expectResponse("OK")
	}
	var got []wire.Message
	for range n {
		m := sub.readMessage()
		got = append(got, m)
		if !keep {
			sub.cmd("FIN " + string(m.ID[:]))
		}
	}
	return got
}

// TestMessageIDsUnique: IDs are unique across topics, across a topic's
// deletion and re-creation, across a clean restart and a kill -9, and
// across nsqd with different --node-id; a message delivered again after
// kill -9 keeps its ID. 21 messages, 21 distinct IDs.
func TestMessageIDsUnique(t *testing.T) {
	dir := t.TempDir()
	s := newIDs(t)
	take := func(n *NSQD, node int64, topic, prefix string) {
		t.Helper()
		pub, sub := dialRaw(t, n), dialRaw(t, n)
		sub.subscribe(topic, "c", 10)
		for _, m := range pubTake(t, pub, sub, topic, prefix, 3, false) {
			s.add(m, node)
		}
		finished(t, n, topic, "c", 0)
	}
	node1 := func(o *Options) { o.DataPath = dir; o.ID = 1 }
	n := startNSQD(t, node1)
	take(n, 1, "t1", "t1-a")
	take(n, 1, "t2", "t2-a")
	if code, body := httpPost(t, n, "/topic/delete?topic=t1", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	take(n, 1, "t1", "t1-b")
	n.Exit()
	n = startNSQD(t, node1)
	take(n, 1, "t2", "t2-b")
	n.Exit()

	// kill -9 with a message in flight: it comes back with its ID.
	c := startChild(t, dir, childNodeEnv+"=1")
	pub, sub := dialAddr(t, c.tcp), dialAddr(t, c.tcp)
	sub.subscribe("t2", "c", 10)
	held := pubTake(t, pub, sub, "t2", "t2-c", 3, true)
	for _, m := range held {
		s.add(m, 1)
	}
	// Two finished, one in flight. Whether the FINs reach the log before
	// the kill or not, whatever comes back comes with its first ID, and
	// in order, so the one in flight comes last.
	sub.cmd("FIN " + string(held[0].ID[:]))
	sub.cmd("FIN " + string(held[1].ID[:]))
	c.kill9(t)
	c = startChild(t, dir, childNodeEnv+"=1")
	pub, sub = dialAddr(t, c.tcp), dialAddr(t, c.tcp)
	sub.subscribe("t2", "c", 10)
	again := map[string]bool{}
	for i := 0; !again[string(held[2].Body)]; i++ {
		m := sub.readMessage() // delivered again: at least the one in flight
		s.add(m, 1)
		again[string(m.Body)] = true
		sub.cmd("FIN " + string(m.ID[:]))
	}
	for _, m := range pubTake(t, pub, sub, "t2", "t2-d", 3, false) {
		s.add(m, 1)
	}

	// Another nsqd with another node ID, on its own data path.
	n2 := startNSQD(t, func(o *Options) { o.ID = 2 })
	take(n2, 2, "t2", "t2-e")
	if len(s.byID) != 21 || len(s.byBody) != 21 {
		t.Fatalf("%d distinct IDs for %d messages, want 21", len(s.byID), len(s.byBody))
	}
}

// TestMessageIDsAfterImport: messages imported from upstream's data path
// get IDs of their own, kept across restarts, distinct from every message
// published after.
func TestMessageIDsAfterImport(t *testing.T) {
	dir := t.TempDir()
	imported := upstreamMsgs("up", 20, 0)
	md := migrate.UpstreamMetadata{Topics: []migrate.UpstreamTopic{{Name: "orders", Channels: []migrate.UpstreamChannel{{Name: "c"}}}}}
	if err := migrate.WriteUpstream(dir, md, 2048, map[string]migrate.UpstreamQueue{"orders": {Backlog: imported}}); err != nil {
		t.Fatal(err)
	}
	s := newIDs(t)
	opts := func(o *Options) { o.DataPath = dir; o.ID = 5 }
	n := startNSQD(t, opts)
	pub, sub := dialRaw(t, n), dialRaw(t, n)
	sub.subscribe("orders", "c", 100)
	first := map[string]wire.MessageID{}
	for i := range 20 {
		m := sub.readMessage()
		s.add(m, 5)
		first[string(m.Body)] = m.ID
		if i%2 == 0 {
			sub.cmd("FIN " + string(m.ID[:]))
		}
	}
	for _, m := range pubTake(t, pub, sub, "orders", "new", 5, false) {
		s.add(m, 5)
	}
	finished(t, n, "orders", "c", 10)
	n.Exit()
	// The 10 left in flight come back after the restart with their IDs.
	n = startNSQD(t, opts)
	pub, sub = dialRaw(t, n), dialRaw(t, n)
	sub.subscribe("orders", "c", 100)
	for range 10 {
		m := sub.readMessage()
		if id := first[string(m.Body)]; id != m.ID {
			t.Fatalf("%s came back with ID %s, first %s", m.Body, m.ID[:], id[:])
		}
		s.add(m, 5)
		sub.cmd("FIN " + string(m.ID[:]))
	}
	for _, m := range pubTake(t, pub, sub, "orders", "newer", 5, false) {
		s.add(m, 5)
	}
	if len(s.byID) != 30 {
		t.Fatalf("%d distinct IDs, want 30", len(s.byID))
	}
}

// finished waits until the FINs sent on topic/channel are applied: only
// inFlight messages are left in flight (a FIN has no answer to wait for).
func finished(t *testing.T, n *NSQD, topic, channel string, inFlight int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s/%s to have %d in flight", topic, channel, inFlight), func() bool {
		_, got, _, _, ok := channelStat(t, n, topic, channel)
		return ok && got == inFlight
	})
}
