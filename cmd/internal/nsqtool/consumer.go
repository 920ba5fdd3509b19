package nsqtool

import (
	"log"

	"github.com/nsqio/go-nsq"
)

// Sources are where a consumer finds its nsqd: the nsqd TCP addresses
// given, or those nsqlookupd (HTTP addresses) know for its topic.
type Sources struct {
	NSQD    []string
	Lookupd []string
}

// StartConsumer creates a consumer of topic/channel configured by cfg,
// logging to l at go-nsq's info level, hands its messages to h on
// concurrency goroutines and connects it to src. On error nothing is left
// running.
func StartConsumer(topic, channel string, cfg *nsq.Config, l *log.Logger, h nsq.Handler, concurrency int, src Sources) (*nsq.Consumer, error) {
	c, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		return nil, err
	}
	c.SetLogger(l, nsq.LogLevelInfo)
	c.AddConcurrentHandlers(h, concurrency)
	if err := c.ConnectToNSQDs(src.NSQD); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.ConnectToNSQLookupds(src.Lookupd); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StopConsumers stops every consumer, then waits until each has stopped:
// every message it received has been answered (go-nsq gives up waiting
// after 30s).
func StopConsumers(cs []*nsq.Consumer) {
	for _, c := range cs {
		c.Stop()
	}
	for _, c := range cs {
		<-c.StopChan
	}
}

// NewProducers creates a producer for each address, configured by cfg
// and logging to l at go-nsq's info level. On error none is left.
func NewProducers(addrs []string, cfg *nsq.Config, l *log.Logger) ([]*nsq.Producer, error) {
	ps := make([]*nsq.Producer, 0, len(addrs))
	for _, a := range addrs {
		p, err := nsq.NewProducer(a, cfg)
		if err != nil {
			StopProducers(ps)
			return nil, err
		}
		p.SetLogger(l, nsq.LogLevelInfo)
		ps = append(ps, p)
	}
	return ps, nil
}

// StopProducers stops every producer (waiting for none of them).
func StopProducers(ps []*nsq.Producer) {
	for _, p := range ps {
		p.Stop()
	}
}
