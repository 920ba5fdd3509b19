package httpapi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPubThenStatsDepth(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	for i := range 5 {
		r := f.do("POST", "/pub?topic=pubtest", []byte(fmt.Sprintf("msg-%d", i)))
		f.expect(r, http.StatusOK, "OK")
		if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
		if v := r.header.Get("X-NSQ-Content-Type"); v != "nsq; version=1.0" {
			t.Fatalf("X-NSQ-Content-Type %q", v)
		}
	}
	s := f.stats("topic=pubtest")
	if len(s.Topics) != 1 {
		t.Fatalf("topics %+v", s.Topics)
	}
	tp := s.Topics[0]
	if tp.TopicName != "pubtest" || tp.Depth != 5 || tp.MessageCount != 5 || tp.MessageBytes != 25 {
		t.Fatalf("topic stats %+v", tp)
	}
	// publishing is not logged, as upstream
	if f.logs.contains("POST /pub") {
		t.Fatal("/pub was logged")
	}
}

func TestPubErrors(t *testing.T) {
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.MaxMsgSize = 10
		o.MaxReqTimeout = time.Minute
	}})
	f.expectV1Error(f.do("POST", "/pub", []byte("m")), http.StatusBadRequest, "MISSING_ARG_TOPIC")
	f.expectV1Error(f.do("POST", "/pub?topic=", []byte("m")), http.StatusBadRequest, "INVALID_TOPIC")
	f.expectV1Error(f.do("POST", "/pub?topic=a*b", []byte("m")), http.StatusBadRequest, "INVALID_TOPIC")
	f.expectV1Error(f.do("POST", "/pub?topic="+strings.Repeat("x", 65), []byte("m")), http.StatusBadRequest, "INVALID_TOPIC")
	f.expectV1Error(f.do("POST", "/pub?topic=a", nil), http.StatusBadRequest, "MSG_EMPTY")
	f.expectV1Error(f.do("POST", "/pub?topic=a", []byte{}), http.StatusBadRequest, "MSG_EMPTY")

	// too big: by Content-Length, and by reading a chunked body
	f.expectV1Error(f.do("POST", "/pub?topic=a", []byte("12345678901")), http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	req, _ := http.NewRequest("POST", f.srv.URL+"/pub?topic=a", io.MultiReader(strings.NewReader("123456"), strings.NewReader("78901")))
	req.ContentLength = -1
	f.expectV1Error(f.send(req), http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	req, _ = http.NewRequest("POST", f.srv.URL+"/pub?topic=a", io.MultiReader(strings.NewReader("12345"), strings.NewReader("67890")))
	req.ContentLength = -1
	f.expect(f.send(req), http.StatusOK, "OK")
	// the body is checked before the topic
	f.expectV1Error(f.do("POST", "/pub", []byte("12345678901")), http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	f.expectV1Error(f.do("POST", "/pub", nil), http.StatusBadRequest, "MSG_EMPTY")
	if _, ok := f.eng.ExistingTopic("a"); !ok {
		t.Fatal("topic a not created")
	}

	// defer: integer milliseconds in [0, MaxReqTimeout]
	for _, d := range []string{"x", "1.5", "-1", "60001", "99999999999999999999"} {
		f.expectV1Error(f.do("POST", "/pub?topic=deferred&defer="+d, []byte("m")), http.StatusBadRequest, "INVALID_DEFER")
	}
	// as upstream, the topic was created before defer was checked
	if _, ok := f.eng.ExistingTopic("deferred"); !ok {
		t.Fatal("topic not created by a request with a bad defer")
	}
	if s := f.stats("topic=deferred"); s.Topics[0].MessageCount != 0 {
		t.Fatalf("rejected messages published: %+v", s.Topics[0])
	}
	f.do("POST", "/channel/create?topic=deferred&channel=c", nil)
	f.expect(f.do("POST", "/pub?topic=deferred&defer=60000", []byte("later")), http.StatusOK, "OK")
	f.expect(f.do("POST", "/pub?topic=deferred&defer=0", []byte("now")), http.StatusOK, "OK")
	waitFor(t, func() error {
		tp := f.stats("topic=deferred").Topics[0]
		c := tp.Channels[0]
		if tp.MessageCount != 2 || c.DeferredCount != 1 || c.Depth != 1 {
			return fmt.Errorf("deferred stats %+v", tp)
		}
		return nil
	})
}

func TestMPUBText(t *testing.T) {
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.MaxMsgSize = 5
		o.MaxBodySize = 20
	}})
	// empty lines are skipped; a final line needs no newline
	f.expect(f.do("POST", "/mpub?topic=m", []byte("a\nbb\n\nccc\n\n")), http.StatusOK, "OK")
	f.expect(f.do("POST", "/mpub?topic=m&binary=false", []byte("d\r\neeeee")), http.StatusOK, "OK")
	f.expect(f.do("POST", "/mpub?topic=m&binary=0", []byte("\n\n")), http.StatusOK, "OK")
	tp := f.stats("topic=m").Topics[0]
	// "d\r" keeps its carriage return, as upstream
	if tp.MessageCount != 5 || tp.MessageBytes != 1+2+3+2+5 {
		t.Fatalf("text mpub stats %+v", tp)
	}

	f.expectV1Error(f.do("POST", "/mpub", []byte("a")), http.StatusBadRequest, "MISSING_ARG_TOPIC")
	f.expectV1Error(f.do("POST", "/mpub?topic=a!", []byte("a")), http.StatusBadRequest, "INVALID_TOPIC")
	f.expectV1Error(f.do("POST", "/mpub?topic=m", []byte("a\n123456\nb")), http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	f.expectV1Error(f.do("POST", "/mpub?topic=m", []byte(strings.Repeat("1234\n", 5))), http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
	// exactly MaxBodySize is fine
	f.expect(f.do("POST", "/mpub?topic=m", []byte(strings.Repeat("123\n", 5))), http.StatusOK, "OK")
	// chunked: the body limit found while reading; a too-big line first
	// wins, as upstream reads line by line
	chunked := func(body string) *http.Request {
		req, _ := http.NewRequest("POST", f.srv.URL+"/mpub?topic=m", io.MultiReader(strings.NewReader(body)))
		req.ContentLength = -1
		return req
	}
	f.expectV1Error(f.send(chunked(strings.Repeat("1234\n", 5))), http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
	f.expectV1Error(f.send(chunked("123456\n"+strings.Repeat("1\n", 10))), http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	if tp := f.stats("topic=m").Topics[0]; tp.MessageCount != 10 {
		t.Fatalf("failed mpubs published something: %+v", tp)
	}
}

// mpubFrame encodes bodies in the binary /mpub framing.
func mpubFrame(bodies ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(bodies)))
	for _, m := range bodies {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return b
}

func TestMPUBBinary(t *testing.T) {
	f := newFixture(t, fixtureConfig{mutate: func(o *Options) {
		o.MaxMsgSize = 8
		o.MaxBodySize = 44 // at most (44-4)/5 = 8 messages
	}})
	f.expect(f.do("POST", "/mpub?topic=b&binary=true", mpubFrame("one", "two\nline", "three")), http.StatusOK, "OK")
	// any other value is binary too (with a warning)
	f.expect(f.do("POST", "/mpub?topic=b&binary=yes", mpubFrame("x")), http.StatusOK, "OK")
	if !f.logs.contains("deprecated value 'yes' used for /mpub binary param") {
		t.Fatalf("no deprecation warning: %q", f.logs.lines)
	}
	f.expect(f.do("POST", "/mpub?topic=b&binary=1", append(mpubFrame("y"), "trailing bytes"...)), http.StatusOK, "OK")
	tp := f.stats("topic=b").Topics[0]
	if tp.MessageCount != 5 || tp.MessageBytes != 3+8+5+1+1 {
		t.Fatalf("binary mpub stats %+v", tp)
	}

	count := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	for _, c := range []struct {
		name string
		body []byte
		text string
	}{
		{"no count", nil, "BAD_BODY"},
		{"short count", []byte{0, 0}, "BAD_BODY"},
		{"zero count", count(0), "BAD_BODY"},
		{"negative count", count(0xffffffff), "BAD_BODY"},
		{"too many", count(9), "BAD_BODY"},
		{"missing message", count(2), "BAD_MESSAGE"},
		{"short size", append(count(1), 0, 0), "BAD_MESSAGE"},
		{"zero size", append(count(1), 0, 0, 0, 0), "BAD_MESSAGE"},
		{"message too big", mpubFrame("123456789"), "BAD_MESSAGE"},
		{"truncated body", mpubFrame("12345")[:10], "BAD_MESSAGE"},
		{"second truncated", mpubFrame("1", "2")[:12], "BAD_MESSAGE"},
	} {
		r := f.do("POST", "/mpub?topic=b&binary=true", c.body)
		if r.code != http.StatusRequestEntityTooLarge || r.body != `{"message":"`+c.text+`"}` {
			t.Fatalf("%s: %d %s", c.name, r.code, r.body)
		}
	}
	// eight messages is the most; more by Content-Length is BODY_TOO_BIG
	f.expect(f.do("POST", "/mpub?topic=b&binary=true", mpubFrame("1", "2", "3", "4", "5", "6", "7", "8")), http.StatusOK, "OK")
	f.expectV1Error(f.do("POST", "/mpub?topic=b&binary=true", bytes.Repeat([]byte{1}, 45)), http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
	if tp := f.stats("topic=b").Topics[0]; tp.MessageCount != 13 {
		t.Fatalf("failed binary mpubs published something: %+v", tp)
	}
}

// Publishers share the body pool; /stats and admin calls run alongside.
func TestConcurrentPublish(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	const workers, each = 8, 50
	errs := make(chan error, workers+1)
	for w := range workers {
		go func() {
			for i := range each {
				body := []byte(fmt.Sprintf("w%d-%d", w, i))
				target := "/pub?topic=conc"
				if i%5 == 0 {
					body = []byte("a\nb\nc")
					target = "/mpub?topic=conc"
				}
				resp, err := http.Post(f.srv.URL+target, "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "OK" {
					errs <- fmt.Errorf("%s: %d %s", target, resp.StatusCode, b)
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		for range 20 {
			resp, err := http.Get(f.srv.URL + "/stats?format=json")
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
		}
		errs <- nil
	}()
	for range workers + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// 40 /pub and 10 /mpub of 3 per worker
	if tp := f.stats("topic=conc").Topics[0]; tp.MessageCount != workers*(40+10*3) {
		t.Fatalf("message count %d", tp.MessageCount)
	}
}
