package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"

	"github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

const tool = "nsq_tail"

// run is main without the process: it returns the exit status. It
// prints until a signal arrives on sigs or, with --n, until that many
// messages of one topic have been printed.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	l := nsqtool.NewLogger(stderr)
	cfg := nsq.NewConfig()
	var (
		nsqdAddrs, lookupdAddrs, topics nsqtool.StringArray
	)
	fs := nsqtool.NewFlagSet(tool, stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	channel := fs.String("channel", "", "channel to read (default: a new ephemeral channel tailNNNNNN#ephemeral)")
	maxInFlight := fs.Int("max-in-flight", 200, "most messages in flight at once")
	total := fs.Int("n", 0, "exit after printing this many messages of a topic (0: never)")
	printTopic := fs.Bool("print-topic", false, "start each line with the topic's name and \" | \"")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address to read from (repeatable)")
	fs.Var(&lookupdAddrs, "lookupd-http-address", "nsqlookupd HTTP address to find nsqd with (repeatable)")
	fs.Var(&topics, "topic", "topic to read (repeatable)")
	fs.Var(nsqtool.ConfigFlag(cfg), "consumer-opt", "go-nsq Config option for the consumers, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, nsqtool.VersionLine(tool))
		return 0
	}
	if *channel == "" {
		*channel = fmt.Sprintf("tail%06d#ephemeral", rand.IntN(999999))
	}
	if err := nsqtool.CheckSources("nsqd-tcp-address", nsqdAddrs, lookupdAddrs); err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	if len(topics) == 0 {
		return nsqtool.Failf(l, "--topic required")
	}
	// Don't ask for more messages than will be printed.
	if *total > 0 && *total < *maxInFlight {
		*maxInFlight = *total
	}
	cfg.UserAgent = nsqtool.UserAgent(tool)
	cfg.MaxInFlight = *maxInFlight

	p := &printer{w: stdout, total: *total, done: make(chan struct{})}
	var consumers []*nsq.Consumer
	defer func() { nsqtool.StopConsumers(consumers) }()
	for _, topic := range topics {
		l.Printf("Adding consumer for topic: %s", topic)
		h := &topicHandler{p: p, topic: topic, printTopic: *printTopic}
		c, err := nsqtool.StartConsumer(topic, *channel, cfg, l, h, 1, nsqtool.Sources{NSQD: nsqdAddrs, Lookupd: lookupdAddrs})
		if err != nil {
			return nsqtool.Failf(l, "%s", err)
		}
		consumers = append(consumers, c)
	}
	select {
	case <-sigs:
	case <-p.done:
	}
	if err := p.error(); err != nil {
		return nsqtool.Failf(l, "ERROR: failed to write to stdout - %s", err)
	}
	return 0
}

// printer writes the lines of every topic's consumer to one writer, a
// whole line at a time. Safe for concurrent use.
type printer struct {
	w     io.Writer
	total int // per topic; 0 for no limit
	done  chan struct{}

	mu struct {
		sync.Mutex
		finished bool
		err      error
		line     []byte
	}
}

func (p *printer) error() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.err
}

// topicHandler prints one topic's messages and counts them.
type topicHandler struct {
	p          *printer
	topic      string
	printTopic bool
	shown      int // guarded by p.mu
}

// HandleMessage prints m. Once the printer is finished (a topic reached
// --n, or stdout failed), m is put back on its channel unprinted, as
// upstream leaves it when it exits.
func (h *topicHandler) HandleMessage(m *nsq.Message) error {
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.finished {
		m.DisableAutoResponse()
		m.RequeueWithoutBackoff(0)
		return nil
	}
	line := p.mu.line[:0]
	if h.printTopic {
		line = append(append(line, h.topic...), " | "...)
	}
	line = append(append(line, m.Body...), '\n')
	p.mu.line = line
	if _, err := p.w.Write(line); err != nil {
		p.mu.err = err
		p.finishLocked()
		m.DisableAutoResponse()
		m.RequeueWithoutBackoff(0)
		return nil
	}
	h.shown++
	if p.total > 0 && h.shown >= p.total {
		p.finishLocked()
	}
	return nil
}

func (p *printer) finishLocked() {
	if !p.mu.finished {
		p.mu.finished = true
		close(p.done)
	}
}
