// Package client is nsqd's side of nsqlookupd: it keeps one connection to
// each configured nsqlookupd, identifies, registers every topic and
// channel, follows creations and deletions as the engine reports them,
// pings, reconnects (registering everything again) and, when a topic is
// created, asks the nsqlookupd which channels to create with it.
//
// It speaks what NSQ v1.3.0's nsqd speaks (nsqd/lookup.go), with these
// differences, none visible to nsqlookupd beyond timing:
//
//   - each nsqlookupd has its own goroutine, so one that is slow or down
//     does not hold up the others;
//   - a dropped connection is noticed at once (a goroutine reads every
//     answer) and retried after 1s, doubling up to the ping interval,
//     instead of at the next ping or change;
//   - a (re)connection registers a snapshot of the engine taken after it
//     stops queueing older changes, then sends the changes queued since,
//     so the nsqlookupd ends up with exactly the engine's state;
//   - registrations are pipelined (up to pipelineDepth commands written
//     before the answers are read) rather than one round trip each.
//
// # Concurrency
//
// A Client is safe for concurrent use. Changed never blocks: it only
// appends to each peer's queue (bounded; on overflow the peer reconnects
// and registers a fresh snapshot) and wakes the peer's goroutine, so it may
// be called from an event loop. The peer goroutine owns its connection;
// Client.mu guards the set of peers, peer.mu the queue.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// Registration is one topic, or one channel of a topic, as registered.
type Registration struct {
	Topic   string
	Channel string // "" for the topic itself
}

// Options configures a Client. Zero durations and sizes mean the defaults
// documented on each field.
type Options struct {
	// Addresses are the nsqlookupd TCP addresses (host:port) to register
	// with; duplicates count once.
	Addresses []string
	// Identity is what IDENTIFY tells each nsqlookupd: version, hostname,
	// broadcast address and the TCP and HTTP ports clients should use.
	Identity lookupdoc.Identity

	// Snapshot returns every topic and channel to register after a
	// (re)connection: a topic with channels as its channels only (REGISTER
	// of a channel registers its topic too), a topic without as itself.
	// Required.
	Snapshot func() []Registration
	// CreateChannels creates, on a topic just created, the channels an
	// nsqlookupd knows for it (ephemeral ones left out); it is called a
	// round trip after the topic's creation and should start them at the
	// topic's first message. Nil disables the query.
	CreateChannels func(topic string, channels []string)

	// PingInterval is the time between PINGs. Default 15s.
	PingInterval time.Duration
	// DialTimeout bounds connecting. Default 1s.
	DialTimeout time.Duration
	// IOTimeout bounds each write, and the wait for each answer. Default 1s.
	IOTimeout time.Duration
	// MaxResponseSize bounds an answer, in bytes (nsqd: --max-body-size).
	// Default 5 MiB.
	MaxResponseSize int
	// HTTPClient queries nsqlookupd's HTTP API for channels. Default: a
	// client with 2s connect and 5s request timeouts (nsqd's
	// --http-client-*-timeout defaults).
	HTTPClient *http.Client

	// Logf receives log lines; nil discards them.
	Logf func(level engine.LogLevel, format string, args ...any)
}

func (o *Options) setDefaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = time.Second
	}
	if o.IOTimeout <= 0 {
		o.IOTimeout = time.Second
	}
	if o.MaxResponseSize <= 0 {
		o.MaxResponseSize = 5 << 20
	}
	if o.HTTPClient == nil {
		o.HTTPClient = NewHTTPClient(2*time.Second, 5*time.Second)
	}
	if o.Logf == nil {
		o.Logf = func(engine.LogLevel, string, ...any) {}
	}
}

// NewHTTPClient returns an HTTP client with upstream's deadlines: connect
// within connectTimeout, answer headers and the whole request within
// requestTimeout.
func NewHTTPClient(connectTimeout, requestTimeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ResponseHeaderTimeout: requestTimeout,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// Client registers one nsqd with its nsqlookupd.
type Client struct {
	opts   Options
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // peer goroutines and channel queries

	mu struct {
		sync.Mutex
		addrs   []string // as last set, duplicates included
		peers   []*peer  // one per distinct address, in order
		started bool
		closed  bool
	}
}

// New returns a Client that does nothing until Start.
func New(opts Options) *Client {
	opts.setDefaults()
	c := &Client{opts: opts}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.addrs = slices.Clone(opts.Addresses)
	return c
}

// Start connects to every address. Identity must be final by now.
func (c *Client) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.started || c.mu.closed {
		return
	}
	c.mu.started = true
	c.syncPeersLocked()
}

// SetIdentity replaces what IDENTIFY sends; call it before Start (nsqd
// learns its ports only once it listens).
func (c *Client) SetIdentity(id lookupdoc.Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mu.started {
		c.opts.Identity = id
	}
}

// Addresses returns the addresses as last set.
func (c *Client) Addresses() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mu.addrs)
}

// SetAddresses replaces the set of nsqlookupd: those no longer listed are
// disconnected (so they drop this nsqd's registrations), new ones are
// connected and registered with.
func (c *Client) SetAddresses(addrs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.addrs = slices.Clone(addrs)
	if c.mu.started && !c.mu.closed {
		c.syncPeersLocked()
	}
}

// syncPeersLocked starts and stops peers to match c.mu.addrs.
func (c *Client) syncPeersLocked() {
	var keep []*peer
	for _, p := range c.mu.peers {
		if slices.Contains(c.mu.addrs, p.addr) {
			keep = append(keep, p)
			continue
		}
		c.opts.Logf(engine.LogInfo, "LOOKUP(%s): removing peer", p.addr)
		p.stop()
	}
	for _, a := range c.mu.addrs {
		if slices.ContainsFunc(keep, func(p *peer) bool { return p.addr == a }) {
			continue
		}
		c.opts.Logf(engine.LogInfo, "LOOKUP(%s): adding peer", a)
		p := newPeer(c, a)
		keep = append(keep, p)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			p.run()
		}()
	}
	c.mu.peers = keep
}

// Changed queues the registration change an engine reports, for every
// nsqlookupd; on TopicCreated it also starts the channel query (see
// Options.CreateChannels). It never blocks.
func (c *Client) Changed(ch engine.Change) {
	var cmd command
	switch ch.Kind {
	case engine.TopicCreated:
		cmd = command{register: true, topic: ch.Topic}
		c.queryChannels(ch.Topic)
	case engine.ChannelCreated:
		cmd = command{register: true, topic: ch.Topic, channel: ch.Channel}
	case engine.TopicDeleted:
		cmd = command{topic: ch.Topic}
	case engine.ChannelDeleted:
		cmd = command{topic: ch.Topic, channel: ch.Channel}
	default:
		return
	}
	c.mu.Lock()
	peers := c.mu.peers
	c.mu.Unlock()
	for _, p := range peers {
		p.enqueue(cmd)
	}
}

// Close disconnects from every nsqlookupd and waits for the goroutines.
func (c *Client) Close() {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return
	}
	c.mu.closed = true
	for _, p := range c.mu.peers {
		p.stop()
	}
	c.mu.peers = nil
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// HTTPAddresses returns the HTTP address ("host:port") of every
// nsqlookupd that has answered an IDENTIFY with a broadcast address.
func (c *Client) HTTPAddresses() []string {
	c.mu.Lock()
	peers := c.mu.peers
	c.mu.Unlock()
	var out []string
	for _, p := range peers {
		if a := p.httpAddress(); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// queryChannels asks, in the background, the nsqlookupd which channels
// the new topic has and creates them. Upstream blocks the topic's
// creation on this query; the engine cannot wait (it may be on an event
// loop), so here channels arrive a round trip later, and CreateChannels
// is to start them at the topic's first message.
func (c *Client) queryChannels(topic string) {
	if c.opts.CreateChannels == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mu.started || c.mu.closed || len(c.mu.addrs) == 0 {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		names, err := c.TopicChannels(c.ctx, topic)
		if err != nil {
			c.opts.Logf(engine.LogWarn, "failed to query nsqlookupd for channels to pre-create for topic %s - %s", topic, err)
		}
		var create []string
		for _, n := range names {
			if !engine.IsEphemeralName(n) {
				create = append(create, n)
			}
		}
		if len(create) > 0 && c.ctx.Err() == nil {
			c.opts.CreateChannels(topic, create)
		}
	}()
}

// ErrNoLookupd is returned by TopicChannels when no nsqlookupd has told
// its HTTP address yet.
var ErrNoLookupd = errors.New("no available nsqlookupd")

// TopicChannels returns, sorted and without duplicates, the channels every
// reachable nsqlookupd knows for topic (GET /channels). It fails only when
// none answers.
func (c *Client) TopicChannels(ctx context.Context, topic string) ([]string, error) {
	addrs := c.HTTPAddresses()
	if len(addrs) == 0 {
		return nil, ErrNoLookupd
	}
	type result struct {
		channels []string
		err      error
	}
	results := make(chan result, len(addrs))
	for _, a := range addrs {
		go func() {
			chs, err := c.getChannels(ctx, a, topic)
			results <- result{chs, err}
		}()
	}
	var all []string
	var errs []error
	for range addrs {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		all = append(all, r.channels...)
	}
	if len(errs) == len(addrs) {
		return nil, fmt.Errorf("failed to query any nsqlookupd: %w", errors.Join(errs...))
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

func (c *Client) getChannels(ctx context.Context, addr, topic string) ([]string, error) {
	endpoint := "http://" + addr + "/channels?topic=" + url.QueryEscape(topic)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc lookupdoc.Channels
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: got response %s", endpoint, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", endpoint, err)
	}
	return doc.Channels, nil
}

// httpAddressOf is where an nsqlookupd's IDENTIFY answer says its HTTP API
// is; "" without a broadcast address.
func httpAddressOf(id lookupdoc.Identity) string {
	if id.BroadcastAddress == "" {
		return ""
	}
	return net.JoinHostPort(id.BroadcastAddress, strconv.Itoa(id.HTTPPort))
}
