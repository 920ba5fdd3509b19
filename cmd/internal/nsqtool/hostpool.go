package nsqtool

import (
	"math/rand/v2"
	"sync"
	"time"
)

// The host pools of nsq_to_http and nsq_to_nsq (--mode=hostpool and
// --mode=epsilon-greedy) behave as bitly/go-hostpool v0.1.0, which
// upstream uses: a pool hands out its hosts in turn, skipping those whose
// last request failed; a failed host is tried again after 30s, then after
// twice as long each time it is tried (at most 15m); when every host has
// failed, all are tried again. The epsilon-greedy pool mostly picks at
// random weighted by the inverse of each host's recent response time
// (a weighted average over the last 5 minutes, newer counting more), and
// explores in turn with a probability that starts at 0.3 and decays to
// 0.01.
const (
	poolInitialRetry = 30 * time.Second
	poolMaxRetry     = 900 * time.Second

	epsilonBuckets = 120
	epsilonDecay   = 0.90
	epsilonMin     = 0.01
	epsilonInitial = 0.3
	epsilonWindow  = 5 * time.Minute
)

// Pick is one choice of a Pool: the host to send a request to. Mark must
// be called once the request is done, with its error; later calls do
// nothing.
type Pick struct {
	pool    *HostPool
	host    *poolHost
	started time.Time
	once    sync.Once
}

// Host is the host picked.
func (p *Pick) Host() string { return p.host.name }

// Mark records the outcome of the request sent to the host.
func (p *Pick) Mark(err error) {
	p.once.Do(func() { p.pool.mark(p, err) })
}

// HostPool chooses among hosts. Safe for concurrent use.
type HostPool struct {
	greedy bool
	now    func() time.Time
	rand   func() float64

	mu struct {
		sync.Mutex
		hosts   []*poolHost
		next    int
		epsilon float64
		start   time.Time // of the first decay bucket
		ticks   int64     // decay buckets started since start
	}
}

type poolHost struct {
	name       string
	dead       bool
	nextRetry  time.Time
	retryDelay time.Duration

	// epsilon-greedy: response times (ms) and counts per decay bucket;
	// cur is the bucket being filled.
	sums, counts [epsilonBuckets]int64
	cur          int
}

// NewHostPool is go-hostpool's standard pool over hosts (at least one).
func NewHostPool(hosts []string) *HostPool { return newHostPool(hosts, false, time.Now, rand.Float64) }

// NewEpsilonGreedyPool is go-hostpool's epsilon-greedy pool over hosts
// (at least one), scoring hosts by the inverse of their response time.
func NewEpsilonGreedyPool(hosts []string) *HostPool {
	return newHostPool(hosts, true, time.Now, rand.Float64)
}

func newHostPool(hosts []string, greedy bool, now func() time.Time, rnd func() float64) *HostPool {
	p := &HostPool{greedy: greedy, now: now, rand: rnd}
	for _, h := range hosts {
		p.mu.hosts = append(p.mu.hosts, &poolHost{name: h, retryDelay: poolInitialRetry})
	}
	p.mu.epsilon = epsilonInitial
	p.mu.start = now()
	return p
}

// Get picks a host.
func (p *HostPool) Get() *Pick {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var h *poolHost
	if p.greedy {
		p.decayLocked(now)
		h = p.greedyLocked(now)
	} else {
		h = p.inTurnLocked(now)
	}
	return &Pick{pool: p, host: h, started: now}
}

// inTurnLocked is the next host that is alive or due for a retry.
func (p *HostPool) inTurnLocked(now time.Time) *poolHost {
	n := len(p.mu.hosts)
	for i := range n {
		idx := (p.mu.next + i) % n
		h := p.mu.hosts[idx]
		if h.dead {
			if !h.nextRetry.Before(now) {
				continue
			}
			h.retryLater(now)
		}
		p.mu.next = idx + 1
		return h
	}
	for _, h := range p.mu.hosts {
		h.dead = false
	}
	p.mu.next = 0
	return p.mu.hosts[0]
}

// greedyLocked explores in turn with probability epsilon; otherwise it
// picks among the hosts that may be tried and have response times, at
// random weighted by the inverse of their average response time.
func (p *HostPool) greedyLocked(now time.Time) *poolHost {
	if p.rand() < p.mu.epsilon {
		p.mu.epsilon = max(p.mu.epsilon*epsilonDecay, epsilonMin)
		return p.inTurnLocked(now)
	}
	var (
		scores = make([]float64, len(p.mu.hosts))
		sum    float64
	)
	for i, h := range p.mu.hosts {
		if h.dead && !h.nextRetry.Before(now) {
			continue
		}
		if v := h.weightedResponseTime(); v > 0 {
			scores[i] = 1 / v
			sum += scores[i]
		}
	}
	if sum > 0 {
		pick, ceiling := p.rand(), 0.0
		for i, h := range p.mu.hosts {
			if scores[i] == 0 {
				continue
			}
			ceiling += scores[i] / sum
			if pick <= ceiling {
				if h.dead {
					h.retryLater(now)
				}
				return h
			}
		}
	}
	return p.inTurnLocked(now)
}

// decayLocked starts a new response-time bucket in every host for each
// bucket period (5m/120) that passed since the last.
func (p *HostPool) decayLocked(now time.Time) {
	ticks := int64(now.Sub(p.mu.start) / (epsilonWindow / epsilonBuckets))
	steps := min(ticks-p.mu.ticks, epsilonBuckets)
	p.mu.ticks = ticks
	for range steps {
		for _, h := range p.mu.hosts {
			h.cur = (h.cur + 1) % epsilonBuckets
			h.sums[h.cur], h.counts[h.cur] = 0, 0
		}
	}
}

func (p *HostPool) mark(pick *Pick, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, now := pick.host, p.now()
	if err != nil {
		if !h.dead {
			h.dead = true
			h.retryDelay = poolInitialRetry
			h.nextRetry = now.Add(h.retryDelay)
		}
		return
	}
	h.dead = false
	if p.greedy {
		p.decayLocked(now)
		h.counts[h.cur]++
		h.sums[h.cur] += int64(now.Sub(pick.started).Seconds() * 1000)
	}
}

// retryLater doubles the host's retry delay (at most poolMaxRetry) and
// sets its next retry that far from now.
func (h *poolHost) retryLater(now time.Time) {
	h.retryDelay = min(h.retryDelay*2, poolMaxRetry)
	h.nextRetry = now.Add(h.retryDelay)
}

// weightedResponseTime averages the buckets' mean response times from
// the oldest (weight 1/120) to the current (weight 1); an empty bucket
// counts as the one before it.
func (h *poolHost) weightedResponseTime() float64 {
	var v, last float64
	for i := 1; i <= epsilonBuckets; i++ {
		pos := (h.cur + i) % epsilonBuckets
		if h.counts[pos] > 0 {
			last = float64(h.sums[pos]) / float64(h.counts[pos])
		}
		v += last * float64(i) / epsilonBuckets
	}
	return v
}
