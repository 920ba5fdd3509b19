package netpoll

import (
	"hash/maphash"
	"net"
	"sync"
	"unicode/utf8"

	"github.com/nsqfast/nsq/wire"
)

// What one client can make nsqd hold, besides its output (see flush):
//
//   - input: the bytes of one command, at most wire.MaxLineLength for a
//     line and --max-body-size (MPUB, IDENTIFY, AUTH) or --max-msg-size
//     (PUB, DPUB) for its body, both checked before the body is read, with
//     upstream's errors (wire.ParseCommand). While the connection waits
//     for an auth server or a topic sync it runs nothing, so a client that
//     pipelines past that bound leaves the event loop, whose reads never
//     stop, for a goroutine that stops reading until the wait is over
//     (parkedInputBound), as upstream's blocked goroutine does;
//   - time: a command must arrive whole within two heartbeat intervals of
//     the previous one (upstream's read deadline, set before each command;
//     see Client.heartbeat), so a client sending one byte a second is
//     closed as upstream closes it;
//   - IDENTIFY: client_id, hostname and user_agent are kept to
//     MaxIdentityField bytes each;
//   - AUTH: one query at a time (the connection waits for it), its secret
//     at most --max-body-size;
//   - FINs: applied in batches of at most 64 (finBatch); REQ and TOUCH one
//     at a time;
//   - connections per remote IP: Options.MaxConnsPerIP (ours; none by
//     default, as upstream).

// MaxIdentityField is the most bytes of IDENTIFY's client_id, hostname and
// user_agent a connection keeps (and /stats shows); longer values are cut
// at a UTF-8 boundary. Upstream keeps whatever --max-body-size lets in;
// real clients send tens of bytes (go-nsq: "go-nsq/1.1.0", the short and
// long hostname), and DNS names end at 253.
const MaxIdentityField = 1024

// truncateField cuts s to at most MaxIdentityField bytes without splitting
// a UTF-8 sequence.
func truncateField(s string) string {
	if len(s) <= MaxIdentityField {
		return s
	}
	n := MaxIdentityField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// parkedInputBound is how many unread bytes a connection that waits (auth,
// sync) may leave in the event loop's input buffer: the largest command
// it could be waiting to finish.
func (s *Server) parkedInputBound() int {
	return int(max(s.opts.MaxBodySize, s.opts.MaxMsgSize)) + wire.MaxLineLength + 8
}

// ipLimiter counts connections per remote IP for Options.MaxConnsPerIP.
// It is touched only on connect and disconnect, never on the publish or
// delivery path, and is sharded so that connects on different loops
// rarely share a lock.
type ipLimiter struct {
	max    int
	seed   maphash.Seed
	shards [16]struct {
		sync.Mutex
		m map[string]int
	}
}

func newIPLimiter(max int) *ipLimiter {
	l := &ipLimiter{max: max, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[string]int{}
	}
	return l
}

// ipOf is the host part of a client's remote address; "" for unix sockets,
// which are not limited.
func ipOf(remoteAddr string) string {
	h, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return ""
	}
	return h
}

// acquire counts a new connection from ip; false (and nothing counted)
// when ip already has max.
func (l *ipLimiter) acquire(ip string) bool {
	if ip == "" {
		return true
	}
	sh := &l.shards[maphash.String(l.seed, ip)&uint64(len(l.shards)-1)]
	sh.Lock()
	defer sh.Unlock()
	if sh.m[ip] >= l.max {
		return false
	}
	sh.m[ip]++
	return true
}

// release forgets a connection counted by acquire.
func (l *ipLimiter) release(ip string) {
	if ip == "" {
		return
	}
	sh := &l.shards[maphash.String(l.seed, ip)&uint64(len(l.shards)-1)]
	sh.Lock()
	if sh.m[ip] <= 1 {
		delete(sh.m, ip)
	} else {
		sh.m[ip]--
	}
	sh.Unlock()
}
