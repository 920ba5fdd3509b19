package httpapi

import (
	"net/http"
	"testing"

	gonsq "github.com/nsqio/go-nsq"
)

// TestTTLAndDeadLetterHTTP: the settings' endpoints, their errors, and
// their effect seen through /stats and /topic/peek with a real consumer.
func TestTTLAndDeadLetterHTTP(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))

	f.expect(f.do("GET", "/topic/ttl?topic=t", nil), http.StatusOK, `{"topic":"t","ttl":"0s","own":false}`)
	f.expect(f.do("POST", "/topic/ttl?topic=t&ttl=1h", nil), http.StatusOK, `{"topic":"t","ttl":"1h0m0s","own":true}`)
	f.expect(f.do("POST", "/topic/ttl?topic=t&ttl=default", nil), http.StatusOK, `{"topic":"t","ttl":"0s","own":false}`)
	for _, bad := range []string{"", "x", "-1s"} {
		f.expectV1Error(f.do("POST", "/topic/ttl?topic=t&ttl="+bad, nil), http.StatusBadRequest, "INVALID_ARG_TTL")
	}
	f.expectV1Error(f.do("GET", "/topic/ttl?topic=nope", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")

	f.expect(f.do("GET", "/channel/dead-letter?topic=t&channel=c", nil), http.StatusOK,
		`{"topic":"t","channel":"c","max_attempts":0,"dead_letter_topic":"t.c.dead","own":false}`)
	f.expect(f.do("POST", "/channel/dead-letter?topic=t&channel=c&max_attempts=2", nil), http.StatusOK,
		`{"topic":"t","channel":"c","max_attempts":2,"dead_letter_topic":"t.c.dead","own":true}`)
	for _, bad := range []string{"max_attempts=70000", "max_attempts=x", "max_attempts="} {
		f.expectV1Error(f.do("POST", "/channel/dead-letter?topic=t&channel=c&"+bad, nil), http.StatusBadRequest, "INVALID_ARG_MAX_ATTEMPTS")
	}
	for _, bad := range []string{"t", "a*b"} {
		f.expectV1Error(f.do("POST", "/channel/dead-letter?topic=t&channel=c&max_attempts=2&dead_letter_topic="+bad, nil), http.StatusBadRequest, "INVALID_ARG_DEAD_LETTER_TOPIC")
	}
	f.expectV1Error(f.do("GET", "/channel/dead-letter?topic=t&channel=nope", nil), http.StatusNotFound, "CHANNEL_NOT_FOUND")

	// A consumer that requeues everything: after 2 deliveries the message
	// is in t.c.dead, with the ID the consumer saw recorded.
	f.expect(f.do("POST", "/pub?topic=t", []byte("poison")), http.StatusOK, "OK")
	seen := make(chan string, 10)
	cfg := gonsq.NewConfig()
	cfg.DefaultRequeueDelay = 0
	c, err := gonsq.NewConsumer("t", "c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger{}, gonsq.LogLevelError)
	c.AddHandler(gonsq.HandlerFunc(func(m *gonsq.Message) error {
		m.DisableAutoResponse()
		seen <- string(m.ID[:])
		m.RequeueWithoutBackoff(0)
		return nil
	}))
	if err := c.ConnectToNSQD(f.tcp.Addr().String()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	first := <-seen
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "t")
		if ch, _ := findChannel(tp, "c"); ch.DeadLetterCount != 1 || tp.DeadLetterCount != 1 {
			return errf(0, "not yet")
		}
		return nil
	})
	if n := len(seen); n != 1 {
		t.Fatalf("%d more deliveries after the first, want 1", n)
	}
	d := f.peek("/topic/peek?topic=t.c.dead")
	if len(d.Messages) != 1 || d.Messages[0].Body != "poison" || d.Messages[0].OriginalID != first || d.Messages[0].OriginalAttempts != 2 || d.Messages[0].ID == first {
		t.Fatalf("dead letter %+v, first id %s", d.Messages, first)
	}

	// TTL: with 1ns everything stored expires (the scan loop passes it).
	f.expect(f.do("POST", "/topic/create?topic=old", nil), http.StatusOK, "")
	f.expectV1Empty(f.do("POST", "/channel/create?topic=old&channel=c", nil))
	for i := 0; i < 3; i++ {
		f.expect(f.do("POST", "/pub?topic=old", []byte("m")), http.StatusOK, "OK")
	}
	f.expect(f.do("POST", "/topic/ttl?topic=old&ttl=1ns", nil), http.StatusOK, `{"topic":"old","ttl":"1ns","own":true}`)
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "old")
		if ch, _ := findChannel(tp, "c"); ch.ExpiredCount != 3 || ch.Depth != 0 || tp.ExpiredCount != 3 {
			return errf(0, "not yet")
		}
		return nil
	})
}
