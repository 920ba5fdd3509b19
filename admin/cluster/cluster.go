// Package cluster is how nsqadmin learns about and acts on an NSQ cluster:
// only through the HTTP APIs of nsqlookupd and nsqd, the way upstream
// nsqadmin v1.3.0 (its internal/clusterinfo) does, so it works against
// upstream's daemons as well as ours. It also holds the documents
// nsqadmin's own API answers with (Producer, TopicStats, ChannelStats...).
//
// Every query fans out to all the addresses it is given at once. When some
// of them fail, the answer is what the others said together with an
// ErrList of the failures (a partial error: nsqadmin reports it as a
// warning); when all fail, the error is not an ErrList.
//
// Results are deterministic: answers are combined in the order of the
// addresses given, not the order they arrive in.
//
// A Cluster is safe for concurrent use.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nsqfast/nsq/wire/apidoc"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// ErrList is a partial failure: the calls that failed while others
// succeeded. Its message joins theirs with newlines.
type ErrList []error

func (l ErrList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// IsPartial reports whether err is an ErrList (some calls succeeded), and
// returns it.
func IsPartial(err error) (ErrList, bool) {
	var l ErrList
	ok := errors.As(err, &l)
	return l, ok
}

// Cluster queries nsqlookupd and nsqd over HTTP.
type Cluster struct {
	client *Client
	logf   func(format string, args ...any)
	now    func() time.Time
}

// New returns a Cluster using client; logf (may be nil) receives a line
// for every query, as upstream logs them at INFO level.
func New(client *Client, logf func(format string, args ...any)) *Cluster {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Cluster{client: client, logf: logf, now: time.Now}
}

// fanOut runs call for every address at once and waits for them all. It
// returns the errors in address order, and whether every call failed.
func fanOut(addrs []string, call func(i int, addr string) error) (errs []error, all bool) {
	results := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { results[i] = call(i, a) })
	}
	wg.Wait()
	for _, e := range results {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return errs, len(addrs) > 0 && len(errs) == len(addrs)
}

// finish turns the errors of a fan-out into the result error.
func finish(errs []error, all bool, what string) error {
	switch {
	case all:
		return fmt.Errorf("failed to query any %s: %s", what, ErrList(errs))
	case len(errs) > 0:
		return ErrList(errs)
	}
	return nil
}

// getEach GETs endpoint(addr) of every address at once (logging each as
// a query of what) and decodes each 200 answer into a fresh T, passed to
// keep with the address's index. keep runs on the answering goroutine.
func getEach[T any](c *Cluster, ctx context.Context, what string, addrs []string, endpoint func(addr string) string, keep func(i int, doc *T)) error {
	errs, all := fanOut(addrs, func(i int, addr string) error {
		u := endpoint(addr)
		c.logf("CI: querying %s %s", what, u)
		var doc T
		if err := c.client.GetJSON(ctx, u, &doc); err != nil {
			return err
		}
		keep(i, &doc)
		return nil
	})
	return finish(errs, all, what)
}

// Failed reports whether err is a total failure (not a partial one).
func Failed(err error) bool {
	_, partial := IsPartial(err)
	return err != nil && !partial
}

// LookupdTopics is the union of the topics every nsqlookupd knows, sorted.
func (c *Cluster) LookupdTopics(ctx context.Context, lookupds []string) ([]string, error) {
	answers := make([][]string, len(lookupds))
	err := getEach(c, ctx, "nsqlookupd", lookupds,
		func(addr string) string { return fmt.Sprintf("http://%s/topics", addr) },
		func(i int, doc *lookupdoc.Topics) { answers[i] = doc.Topics })
	if Failed(err) {
		return nil, err
	}
	return union(answers), err
}

// LookupdTopicChannels is the union of the channels of topic every
// nsqlookupd knows, sorted.
func (c *Cluster) LookupdTopicChannels(ctx context.Context, topic string, lookupds []string) ([]string, error) {
	answers := make([][]string, len(lookupds))
	err := getEach(c, ctx, "nsqlookupd", lookupds,
		func(addr string) string {
			return fmt.Sprintf("http://%s/channels?topic=%s", addr, url.QueryEscape(topic))
		},
		func(i int, doc *lookupdoc.Channels) { answers[i] = doc.Channels })
	if Failed(err) {
		return nil, err
	}
	return union(answers), err
}

// union merges lists into one sorted list without duplicates (nil if
// there is nothing).
func union(lists [][]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// LookupdProducers is every nsqd registered with any of the nsqlookupd,
// once each (by broadcast address and TCP port), with the nsqlookupd it is
// registered with in RemoteAddresses, its topics sorted, and OutOfDate set
// when another runs a newer version; sorted by hostname.
func (c *Cluster) LookupdProducers(ctx context.Context, lookupds []string) (Producers, error) {
	answers := make([][]lookupdoc.Node, len(lookupds))
	err := getEach(c, ctx, "nsqlookupd", lookupds,
		func(addr string) string { return fmt.Sprintf("http://%s/nodes", addr) },
		func(i int, doc *lookupdoc.Nodes) { answers[i] = doc.Producers })
	if Failed(err) {
		return nil, err
	}
	var producers Producers
	byAddr := map[string]*Producer{}
	var newest semver
	for i, nodes := range answers {
		for j := range nodes {
			p := producerFromNode(&nodes[j])
			known, ok := byAddr[p.TCPAddress()]
			if !ok {
				slices.SortFunc(p.Topics, func(a, b ProducerTopic) int { return strings.Compare(a.Topic, b.Topic) })
				byAddr[p.TCPAddress()] = p
				producers = append(producers, p)
				if newest.less(p.version) {
					newest = p.version
				}
				known = p
			}
			remote := p.RemoteAddress
			if remote == "" {
				remote = "N/A"
			}
			known.RemoteAddresses = append(known.RemoteAddresses, lookupds[i]+"/"+remote)
		}
	}
	for _, p := range producers {
		p.OutOfDate = p.version.less(newest)
	}
	sortProducersByHost(producers)
	return producers, err
}

// LookupdTopicProducers is every nsqd any nsqlookupd lists for topic, once
// each (by HTTP address).
func (c *Cluster) LookupdTopicProducers(ctx context.Context, topic string, lookupds []string) (Producers, error) {
	answers := make([][]lookupdoc.Peer, len(lookupds))
	err := getEach(c, ctx, "nsqlookupd", lookupds,
		func(addr string) string {
			return fmt.Sprintf("http://%s/lookup?topic=%s", addr, url.QueryEscape(topic))
		},
		func(i int, doc *lookupdoc.Lookup) { answers[i] = doc.Producers })
	if Failed(err) {
		return nil, err
	}
	var producers Producers
	for _, peers := range answers {
		for j := range peers {
			p := producerFromPeer(&peers[j])
			if producers.Search(p.HTTPAddress()) == nil {
				producers = append(producers, p)
			}
		}
	}
	return producers, err
}

// statsTopics is the part of /stats that lists topic names.
type statsTopics struct {
	Topics []struct {
		Name string `json:"topic_name"`
	} `json:"topics"`
}

// NSQDTopics is the union of the topics of the given nsqd, sorted.
func (c *Cluster) NSQDTopics(ctx context.Context, nsqds []string) ([]string, error) {
	answers := make([][]string, len(nsqds))
	err := getEach(c, ctx, "nsqd", nsqds,
		func(addr string) string { return fmt.Sprintf("http://%s/stats?format=json", addr) },
		func(i int, doc *statsTopics) {
			for _, t := range doc.Topics {
				answers[i] = append(answers[i], t.Name)
			}
		})
	if Failed(err) {
		return nil, err
	}
	return union(answers), err
}

// info asks an nsqd for its /info.
func (c *Cluster) info(ctx context.Context, addr string) (*apidoc.Info, error) {
	endpoint := fmt.Sprintf("http://%s/info", addr)
	c.logf("CI: querying nsqd %s", endpoint)
	var doc apidoc.Info
	if err := c.client.GetJSON(ctx, endpoint, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

func producerFromInfo(in *apidoc.Info, topics []ProducerTopic) *Producer {
	return &Producer{
		Version:          in.Version,
		version:          parseSemver(in.Version),
		BroadcastAddress: in.BroadcastAddress,
		Hostname:         in.Hostname,
		HTTPPort:         in.HTTPPort,
		TCPPort:          in.TCPPort,
		Topics:           topics,
	}
}

// NSQDProducers describes each of the given nsqd from its /info and the
// topics of its /stats, in the order given.
func (c *Cluster) NSQDProducers(ctx context.Context, nsqds []string) (Producers, error) {
	answers := make([]*Producer, len(nsqds))
	errs, all := fanOut(nsqds, func(i int, addr string) error {
		in, err := c.info(ctx, addr)
		if err != nil {
			return err
		}
		endpoint := fmt.Sprintf("http://%s/stats?format=json&include_clients=false", addr)
		c.logf("CI: querying nsqd %s", endpoint)
		var doc statsTopics
		if err := c.client.GetJSON(ctx, endpoint, &doc); err != nil {
			return err
		}
		var topics []ProducerTopic
		for _, t := range doc.Topics {
			topics = append(topics, ProducerTopic{Topic: t.Name})
		}
		answers[i] = producerFromInfo(in, topics)
		return nil
	})
	if all {
		return nil, finish(errs, all, "nsqd")
	}
	return compact(answers), finish(errs, all, "nsqd")
}

func compact(ps []*Producer) Producers {
	var out Producers
	for _, p := range ps {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// NSQDTopicProducers describes each of the given nsqd that has topic.
// An nsqd whose /info names no broadcast address or hostname is described
// by the address it was reached at.
func (c *Cluster) NSQDTopicProducers(ctx context.Context, topic string, nsqds []string) (Producers, error) {
	answers := make([]*Producer, len(nsqds))
	errs, all := fanOut(nsqds, func(i int, addr string) error {
		endpoint := fmt.Sprintf("http://%s/stats?format=json&topic=%s&include_clients=false", addr, url.QueryEscape(topic))
		c.logf("CI: querying nsqd %s", endpoint)
		var doc statsTopics
		if err := c.client.GetJSON(ctx, endpoint, &doc); err != nil {
			return err
		}
		var topics []ProducerTopic
		found := false
		for _, t := range doc.Topics {
			topics = append(topics, ProducerTopic{Topic: t.Name})
			found = found || t.Name == topic
		}
		if !found {
			return nil
		}
		in, err := c.info(ctx, addr)
		if err != nil {
			return err
		}
		if in.BroadcastAddress == "" {
			host, port, _ := net.SplitHostPort(addr)
			in.BroadcastAddress = host
			in.HTTPPort, _ = strconv.Atoi(port)
		}
		if in.Hostname == "" {
			in.Hostname, _, _ = net.SplitHostPort(addr)
		}
		answers[i] = producerFromInfo(in, topics)
		return nil
	})
	if all {
		return nil, finish(errs, all, "nsqd")
	}
	return compact(answers), finish(errs, all, "nsqd")
}

// Producers is LookupdProducers when nsqlookupd are configured, else
// NSQDProducers.
func (c *Cluster) Producers(ctx context.Context, lookupds, nsqds []string) (Producers, error) {
	if len(lookupds) != 0 {
		return c.LookupdProducers(ctx, lookupds)
	}
	return c.NSQDProducers(ctx, nsqds)
}

// TopicProducers is LookupdTopicProducers when nsqlookupd are configured,
// else NSQDTopicProducers.
func (c *Cluster) TopicProducers(ctx context.Context, topic string, lookupds, nsqds []string) (Producers, error) {
	if len(lookupds) != 0 {
		return c.LookupdTopicProducers(ctx, topic, lookupds)
	}
	return c.NSQDTopicProducers(ctx, topic, nsqds)
}

// NSQDStats reads /stats of every producer.
//
// With topic empty it covers every topic and the channel map is keyed by
// "topic:channel"; with topic set, only that topic (and, with channel set,
// only that channel) and the map is keyed by channel name. Each map entry
// is the channel's sum over the nsqd that have it. includeClients asks
// for the clients of every channel.
//
// Topics are sorted by hostname. With no producers at all the result is
// empty and not an error (upstream says "failed to query any nsqd").
func (c *Cluster) NSQDStats(ctx context.Context, producers Producers, topic, channel string, includeClients bool) ([]*TopicStats, map[string]*ChannelStats, error) {
	addrs := make([]string, len(producers))
	for i, p := range producers {
		addrs[i] = p.HTTPAddress()
	}
	answers := make([]*apidoc.Stats, len(producers))
	read := make([]time.Time, len(producers))
	err := getEach(c, ctx, "nsqd", addrs,
		func(addr string) string {
			endpoint := fmt.Sprintf("http://%s/stats?format=json", addr)
			if topic != "" {
				endpoint += "&topic=" + url.QueryEscape(topic)
				if channel != "" {
					endpoint += "&channel=" + url.QueryEscape(channel)
				}
			}
			if !includeClients {
				endpoint += "&include_clients=false"
			}
			return endpoint
		},
		func(i int, doc *apidoc.Stats) { answers[i], read[i] = doc, c.now() })
	if Failed(err) {
		return nil, nil, err
	}
	var topics []*TopicStats
	channels := map[string]*ChannelStats{}
	for i, doc := range answers {
		if doc == nil {
			continue
		}
		p := producers[i]
		for j := range doc.Topics {
			t := topicFromDoc(&doc.Topics[j], addrs[i], p.Hostname, read[i])
			if topic != "" && t.TopicName != topic {
				continue
			}
			topics = append(topics, t)
			for _, ch := range t.Channels {
				key := ch.ChannelName
				if topic == "" {
					key = t.TopicName + ":" + ch.ChannelName
				}
				sum, ok := channels[key]
				if !ok {
					sum = &ChannelStats{Node: addrs[i], TopicName: t.TopicName, ChannelName: ch.ChannelName}
					channels[key] = sum
				}
				sum.Add(ch)
			}
		}
	}
	sortTopicsByHost(topics)
	return topics, channels, err
}

// merge folds err into errs: an ErrList contributes its errors, any other
// error is returned (the operation stops).
func merge(errs *[]error, err error) error {
	if err == nil {
		return nil
	}
	if l, ok := IsPartial(err); ok {
		*errs = append(*errs, l...)
		return nil
	}
	return err
}

func result(errs []error) error {
	if len(errs) > 0 {
		return ErrList(errs)
	}
	return nil
}

// postEach POSTs path?query to each address in turn (as upstream, one
// after the other). Failures, even all of them, are an ErrList.
func (c *Cluster) postEach(ctx context.Context, what string, addrs []string, path, query string) error {
	var errs []error
	for _, a := range addrs {
		endpoint := fmt.Sprintf("http://%s/%s?%s", a, path, query)
		c.logf("CI: querying %s %s", what, endpoint)
		if err := c.client.Post(ctx, endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return result(errs)
}

func (c *Cluster) postLookupds(ctx context.Context, lookupds []string, path, query string) error {
	return c.postEach(ctx, "nsqlookupd", lookupds, path, query)
}

func (c *Cluster) postProducers(ctx context.Context, ps Producers, path, query string) error {
	addrs := make([]string, len(ps))
	for i, p := range ps {
		addrs[i] = p.HTTPAddress()
	}
	return c.postEach(ctx, "nsqd", addrs, path, query)
}

func topicQuery(topic string) string { return "topic=" + url.QueryEscape(topic) }

func channelQuery(topic, channel string) string {
	return "topic=" + url.QueryEscape(topic) + "&channel=" + url.QueryEscape(channel)
}

// TombstoneTopicProducer tombstones topic for node (an nsqd's broadcast
// address and HTTP port) on every nsqlookupd, then deletes the topic from
// that nsqd, as upstream does.
func (c *Cluster) TombstoneTopicProducer(ctx context.Context, topic, node string, lookupds []string) error {
	var errs []error
	q := "topic=" + url.QueryEscape(topic) + "&node=" + url.QueryEscape(node)
	if err := merge(&errs, c.postLookupds(ctx, lookupds, "topic/tombstone", q)); err != nil {
		return err
	}
	producers, err := c.NSQDProducers(ctx, []string{node})
	if err := merge(&errs, err); err != nil {
		return err
	}
	if err := merge(&errs, c.postProducers(ctx, producers, "topic/delete", topicQuery(topic))); err != nil {
		return err
	}
	return result(errs)
}

// CreateTopicChannel creates topic on every nsqlookupd and, if channel is
// set, the channel on every nsqlookupd and on every nsqd that has the
// topic.
func (c *Cluster) CreateTopicChannel(ctx context.Context, topic, channel string, lookupds []string) error {
	var errs []error
	if err := merge(&errs, c.postLookupds(ctx, lookupds, "topic/create", topicQuery(topic))); err != nil {
		return err
	}
	if channel != "" {
		q := channelQuery(topic, channel)
		if err := merge(&errs, c.postLookupds(ctx, lookupds, "channel/create", q)); err != nil {
			return err
		}
		producers, err := c.LookupdTopicProducers(ctx, topic, lookupds)
		if err := merge(&errs, err); err != nil {
			return err
		}
		if err := merge(&errs, c.postProducers(ctx, producers, "channel/create", q)); err != nil {
			return err
		}
	}
	return result(errs)
}

// DeleteTopic deletes topic from every nsqlookupd and every nsqd that has
// it (found first, before nsqlookupd forget them).
func (c *Cluster) DeleteTopic(ctx context.Context, topic string, lookupds, nsqds []string) error {
	var errs []error
	producers, err := c.TopicProducers(ctx, topic, lookupds, nsqds)
	if err := merge(&errs, err); err != nil {
		return err
	}
	if err := merge(&errs, c.postLookupds(ctx, lookupds, "topic/delete", topicQuery(topic))); err != nil {
		return err
	}
	if err := merge(&errs, c.postProducers(ctx, producers, "topic/delete", topicQuery(topic))); err != nil {
		return err
	}
	return result(errs)
}

// DeleteChannel deletes the channel from every nsqlookupd and every nsqd
// that has its topic.
func (c *Cluster) DeleteChannel(ctx context.Context, topic, channel string, lookupds, nsqds []string) error {
	var errs []error
	producers, err := c.TopicProducers(ctx, topic, lookupds, nsqds)
	if err := merge(&errs, err); err != nil {
		return err
	}
	q := channelQuery(topic, channel)
	if err := merge(&errs, c.postLookupds(ctx, lookupds, "channel/delete", q)); err != nil {
		return err
	}
	if err := merge(&errs, c.postProducers(ctx, producers, "channel/delete", q)); err != nil {
		return err
	}
	return result(errs)
}

// Action is a topic or channel action nsqd's API offers.
type Action string

// The actions of POST /api/topics/:topic[/:channel].
const (
	Pause   Action = "pause"
	Unpause Action = "unpause"
	Empty   Action = "empty"
)

// TopicAction runs action on topic on every nsqd that has it.
func (c *Cluster) TopicAction(ctx context.Context, action Action, topic string, lookupds, nsqds []string) error {
	return c.actOn(ctx, topic, lookupds, nsqds, "topic/"+string(action), topicQuery(topic))
}

// ChannelAction runs action on the channel on every nsqd that has its
// topic.
func (c *Cluster) ChannelAction(ctx context.Context, action Action, topic, channel string, lookupds, nsqds []string) error {
	return c.actOn(ctx, topic, lookupds, nsqds, "channel/"+string(action), channelQuery(topic, channel))
}

func (c *Cluster) actOn(ctx context.Context, topic string, lookupds, nsqds []string, path, query string) error {
	var errs []error
	producers, err := c.TopicProducers(ctx, topic, lookupds, nsqds)
	if err := merge(&errs, err); err != nil {
		return err
	}
	if err := merge(&errs, c.postProducers(ctx, producers, path, query)); err != nil {
		return err
	}
	return result(errs)
}

// NodePeek is what one nsqd listed for Peek: its messages, or why it
// could not (Error; an upstream nsqd has no peek endpoint, an nsqd with
// --allow-peek=false refuses it).
type NodePeek struct {
	Node string `json:"node"`
	apidoc.Peek
	Error string `json:"error,omitempty"`
}

// Peek asks every producer for the messages of topic (channel empty:
// GET /topic/peek) or of its channel (GET /channel/peek) without consuming
// them; query holds the other parameters (n, skip, held, max_body). Each
// node's failure is reported in its NodePeek, in the order of producers.
func (c *Cluster) Peek(ctx context.Context, producers Producers, topic, channel, query string) []NodePeek {
	out := make([]NodePeek, len(producers))
	addrs := make([]string, len(producers))
	for i, p := range producers {
		addrs[i] = p.HTTPAddress()
		out[i].Node = addrs[i]
	}
	fanOut(addrs, func(i int, addr string) error {
		u := fmt.Sprintf("http://%s/topic/peek?%s", addr, topicQuery(topic))
		if channel != "" {
			u = fmt.Sprintf("http://%s/channel/peek?%s", addr, channelQuery(topic, channel))
		}
		if query != "" {
			u += "&" + query
		}
		c.logf("CI: querying nsqd %s", u)
		if err := c.client.GetJSON(ctx, u, &out[i].Peek); err != nil {
			out[i].Error = err.Error()
		}
		return nil
	})
	return out
}
