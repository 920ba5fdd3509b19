package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
	"github.com/nsqfast/nsq/wire"
)

const tool = "nsq_to_nsq"

// How a message picks its destination nsqd (--mode).
const (
	modeRoundRobin = iota // round-robin, and any unknown mode
	modeHostPool          // hostpool, epsilon-greedy
)

// run is main without the process: it returns the exit status once a
// signal arrives on sigs.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	l := nsqtool.NewLogger(stderr)
	cCfg, pCfg := nsq.NewConfig(), nsq.NewConfig()
	var nsqdAddrs, lookupdAddrs, destAddrs, whitelist, topics nsqtool.StringArray
	fs := nsqtool.NewFlagSet(tool, stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	channel := fs.String("channel", "nsq_to_nsq", "channel to read")
	destTopic := fs.String("destination-topic", "", "topic to publish every message to (default: the topic it was read from)")
	maxInFlight := fs.Int("max-in-flight", 200, "most messages in flight at once")
	statusEvery := fs.Int("status-every", 250, "log timings every this many publishes (0: never)")
	mode := fs.String("mode", "hostpool", "how destinations are chosen: round-robin, hostpool or epsilon-greedy")
	requireField := fs.String("require-json-field", "", "JSON messages: only pass those that have this field")
	requireValue := fs.String("require-json-value", "", "JSON messages: only pass those whose required field has this value")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address to read from (repeatable)")
	fs.Var(&destAddrs, "destination-nsqd-tcp-address", "nsqd TCP address to publish to (repeatable)")
	fs.Var(&lookupdAddrs, "lookupd-http-address", "nsqlookupd HTTP address to find nsqd with (repeatable)")
	fs.Var(&topics, "topic", "topic to read (repeatable)")
	fs.Var(&whitelist, "whitelist-json-field", "JSON messages: keep only this field (repeatable)")
	fs.Var(nsqtool.ConfigFlag(cCfg), "consumer-opt", "go-nsq Config option for the consumers, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	fs.Var(nsqtool.ConfigFlag(pCfg), "producer-opt", "go-nsq Config option for the producers, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, nsqtool.VersionLine(tool))
		return 0
	}
	if len(topics) == 0 || *channel == "" {
		return nsqtool.Failf(l, "--topic and --channel are required")
	}
	for _, t := range topics {
		if !wire.IsValidTopicName([]byte(t)) {
			return nsqtool.Failf(l, "--topic is invalid")
		}
	}
	if *destTopic != "" && !wire.IsValidTopicName([]byte(*destTopic)) {
		return nsqtool.Failf(l, "--destination-topic is invalid")
	}
	if !wire.IsValidChannelName([]byte(*channel)) {
		return nsqtool.Failf(l, "--channel is invalid")
	}
	if err := nsqtool.CheckSources("nsqd-tcp-address", nsqdAddrs, lookupdAddrs); err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	if len(destAddrs) == 0 {
		return nsqtool.Failf(l, "--destination-nsqd-tcp-address required")
	}

	ua := nsqtool.UserAgent(tool)
	cCfg.UserAgent, cCfg.MaxInFlight = ua, *maxInFlight
	pCfg.UserAgent = ua

	p := &publisher{
		l:         l,
		filter:    newFilter(*requireField, *requireValue, whitelist),
		addresses: destAddrs,
		producers: map[string]*nsq.Producer{},
		responses: make(chan *nsq.ProducerTransaction, len(destAddrs)),
		total:     nsqtool.NewTimerMetrics(l, *statusEvery, "[aggregate]:"),
		perAddr:   map[string]*nsqtool.TimerMetrics{},
	}
	producers, err := nsqtool.NewProducers(destAddrs, pCfg, l)
	if err != nil {
		return nsqtool.Failf(l, "failed creating producer %s", err)
	}
	defer nsqtool.StopProducers(producers)
	for i, a := range destAddrs {
		p.producers[a] = producers[i]
	}
	switch *mode {
	case "hostpool":
		p.mode, p.pool = modeHostPool, nsqtool.NewHostPool(destAddrs)
	case "epsilon-greedy":
		p.mode, p.pool = modeHostPool, nsqtool.NewEpsilonGreedyPool(destAddrs)
	}
	if len(destAddrs) == 1 {
		p.perAddr[destAddrs[0]] = nsqtool.NewTimerMetrics(l, 0, "")
	} else {
		for _, a := range destAddrs {
			p.perAddr[a] = nsqtool.NewTimerMetrics(l, *statusEvery, fmt.Sprintf("[%s]:", a))
		}
	}
	done := make(chan struct{})
	for range destAddrs {
		go p.respond(done)
	}
	defer close(done)

	var consumers []*nsq.Consumer
	defer func() { nsqtool.StopConsumers(consumers) }()
	src := nsqtool.Sources{NSQD: nsqdAddrs, Lookupd: lookupdAddrs}
	for _, topic := range topics {
		dest := topic
		if *destTopic != "" {
			dest = *destTopic
		}
		h := nsq.HandlerFunc(func(m *nsq.Message) error { return p.handle(m, dest) })
		c, err := nsqtool.StartConsumer(topic, *channel, cCfg, l, h, len(destAddrs), src)
		if err != nil {
			return nsqtool.Failf(l, "%s", err)
		}
		consumers = append(consumers, c)
	}
	<-sigs
	return 0
}

// publisher publishes what its consumers read to the destination nsqd.
// Safe for concurrent use by the consumers' handler goroutines.
type publisher struct {
	l         *log.Logger
	filter    *filter
	addresses []string
	producers map[string]*nsq.Producer // read-only once running
	mode      int
	pool      *nsqtool.HostPool
	counter   atomic.Uint64
	responses chan *nsq.ProducerTransaction

	total   *nsqtool.TimerMetrics
	perAddr map[string]*nsqtool.TimerMetrics
}

// sent is what a publish carries to its response: the message, when it
// was published, where to.
type sent struct {
	m     *nsq.Message
	start time.Time
	addr  string
	pick  *nsqtool.Pick // with a host pool
}

// handle filters m and publishes it to topic asynchronously; m is
// answered when nsqd answers the publish (FIN on success, REQ otherwise).
func (p *publisher) handle(m *nsq.Message, topic string) error {
	body, pass, err := p.filter.apply(m.Body)
	switch {
	case errors.Is(err, errInvalid):
		p.l.Printf("ERROR: Unable to decode json: %s", m.Body)
		return nil
	case errors.Is(err, errBackoff):
		p.l.Printf("ERROR: missing field to check required value")
		return err
	case err != nil:
		p.l.Printf("ERROR: filterMessage() failed: %s", err)
		return err
	case !pass:
		return nil
	}

	s := &sent{m: m, start: time.Now()}
	if p.mode == modeHostPool {
		s.pick = p.pool.Get()
		s.addr = s.pick.Host()
	} else {
		s.addr = p.addresses[p.counter.Add(1)%uint64(len(p.addresses))]
	}
	m.DisableAutoResponse()
	if err := p.producers[s.addr].PublishAsync(topic, body, p.responses, s); err != nil {
		if s.pick != nil {
			s.pick.Mark(err)
		}
		m.Requeue(-1)
		return err
	}
	return nil
}

// respond answers the messages whose publishes nsqd has answered, until
// done is closed.
func (p *publisher) respond(done <-chan struct{}) {
	for {
		var t *nsq.ProducerTransaction
		select {
		case <-done:
			return
		case t = <-p.responses:
		}
		s := t.Args[0].(*sent)
		if s.pick != nil {
			s.pick.Mark(t.Error)
		}
		if t.Error == nil {
			s.m.Finish()
		} else {
			s.m.Requeue(-1)
		}
		p.perAddr[s.addr].Status(s.start)
		p.total.Status(s.start)
	}
}
