package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

const tool = "to_nsq"

// run is main without the process: it returns the exit status once stdin
// ends (0), a publish fails (1) or a signal arrives on sigs (0).
func run(args []string, stdin io.Reader, stderr io.Writer, sigs <-chan os.Signal) int {
	l := nsqtool.NewLogger(stderr)
	cfg := nsq.NewConfig()
	var nsqdAddrs nsqtool.StringArray
	fs := nsqtool.NewFlagSet(tool, stderr)
	topic := fs.String("topic", "", "topic to publish to")
	delimiter := fs.String("delimiter", "\n", "the byte that ends each message in the input")
	rate := fs.Int64("rate", 0, "publish at most this many messages a second (0: no limit)")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address to publish to; every message goes to each (repeatable)")
	fs.Var(nsqtool.ConfigFlag(cfg), "producer-opt", "go-nsq Config option for the producers, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *topic == "" {
		return nsqtool.Failf(l, "--topic required")
	}
	if len(*delimiter) != 1 {
		return nsqtool.Failf(l, "--delimiter must be a single byte")
	}
	cfg.UserAgent = nsqtool.UserAgent(tool)

	producers, err := nsqtool.NewProducers(nsqdAddrs, cfg, l)
	if err != nil {
		return nsqtool.Failf(l, "failed to create nsq.Producer - %s", err)
	}
	defer nsqtool.StopProducers(producers)
	if len(producers) == 0 {
		return nsqtool.Failf(l, "--nsqd-tcp-address required")
	}

	pub := &publisher{
		r:     bufio.NewReader(stdin),
		delim: (*delimiter)[0],
		publish: func(body []byte) error {
			for _, p := range producers {
				if err := p.Publish(*topic, body); err != nil {
					return err
				}
			}
			return nil
		},
		stop: make(chan struct{}),
	}
	if *rate >= 1 {
		l.Printf("Throttling messages rate to max:%d/second", *rate)
		pub.limit = newLimiter(*rate)
	}
	result := make(chan error, 1)
	go func() { result <- pub.run() }()
	select {
	case <-sigs:
		close(pub.stop)
		return 0
	case err := <-result:
		if err != nil {
			return nsqtool.Failf(l, "%s", err)
		}
		return 0
	}
}

// publisher reads messages from r and publishes each (to every
// producer).
type publisher struct {
	r       *bufio.Reader
	delim   byte
	publish func(body []byte) error
	limit   *limiter // nil: no limit
	stop    chan struct{}
}

// run publishes until the input ends (nil) or a publish fails.
//
// Empty messages are skipped, as upstream skips them. Unlike upstream,
// a last message without a delimiter is published whole (upstream drops
// its last byte).
func (p *publisher) run() error {
	for {
		line, readErr := p.r.ReadSlice(p.delim)
		if errors.Is(readErr, bufio.ErrBufferFull) {
			// A long message: gather it whole (line is only valid until
			// the next read).
			head := append([]byte(nil), line...)
			rest, err := p.r.ReadBytes(p.delim)
			line, readErr = append(head, rest...), err
		}
		if readErr == nil {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			if p.limit != nil && !p.limit.wait(p.stop) {
				return nil
			}
			if err := p.publish(line); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return readErr
		}
	}
}

// limiter lets through at most rate messages a second, with a burst of
// at most a second's worth (upstream's balance). Used by one goroutine.
type limiter struct {
	interval time.Duration
	rate     int64
	balance  int64
	last     time.Time
}

func newLimiter(rate int64) *limiter {
	return &limiter{interval: time.Second / time.Duration(rate), rate: rate, balance: 1, last: time.Now()}
}

// wait takes one message's allowance, sleeping for it if needed; false
// when stop closed meanwhile.
func (l *limiter) wait(stop <-chan struct{}) bool {
	for {
		now := time.Now()
		if earned := int64(now.Sub(l.last) / l.interval); earned > 0 {
			l.balance = min(l.balance+earned, l.rate)
			l.last = l.last.Add(time.Duration(earned) * l.interval)
		}
		if l.balance > 0 {
			l.balance--
			return true
		}
		t := time.NewTimer(l.last.Add(l.interval).Sub(now))
		select {
		case <-stop:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
