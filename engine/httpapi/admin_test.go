package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestTopicAdmin(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil)) // idempotent
	if !f.logs.contains("200 POST /topic/create?topic=t (") {
		t.Fatalf("not logged: %q", f.logs.lines)
	}
	f.expectV1Error(f.do("POST", "/topic/create", nil), http.StatusBadRequest, "MISSING_ARG_TOPIC")
	f.expectV1Error(f.do("POST", "/topic/create?topic=a/b", nil), http.StatusBadRequest, "INVALID_TOPIC")

	for range 3 {
		f.do("POST", "/pub?topic=t", []byte("m"))
	}
	f.expectV1Empty(f.do("POST", "/topic/pause?topic=t", nil))
	if tp, _ := findTopic(f.stats(""), "t"); !tp.Paused || tp.Depth != 3 {
		t.Fatalf("after pause %+v", tp)
	}
	f.expectV1Empty(f.do("POST", "/topic/unpause?topic=t", nil))
	if tp, _ := findTopic(f.stats(""), "t"); tp.Paused {
		t.Fatalf("after unpause %+v", tp)
	}
	f.expectV1Empty(f.do("POST", "/topic/empty?topic=t", nil))
	if tp, _ := findTopic(f.stats(""), "t"); tp.Depth != 0 || tp.MessageCount != 3 {
		t.Fatalf("after empty %+v", tp)
	}

	for _, p := range []string{"/topic/pause", "/topic/unpause", "/topic/empty", "/topic/delete"} {
		f.expectV1Error(f.do("POST", p, nil), http.StatusBadRequest, "MISSING_ARG_TOPIC")
		f.expectV1Error(f.do("POST", p+"?topic=nope", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	// only empty validates the name; the others just do not find it
	f.expectV1Error(f.do("POST", "/topic/empty?topic=a*", nil), http.StatusBadRequest, "INVALID_TOPIC")
	f.expectV1Error(f.do("POST", "/topic/pause?topic=a*", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	f.expectV1Error(f.do("POST", "/topic/delete?topic=a*", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")

	f.expectV1Empty(f.do("POST", "/topic/delete?topic=t", nil))
	if _, ok := findTopic(f.stats(""), "t"); ok {
		t.Fatal("deleted topic still listed")
	}
	f.expectV1Error(f.do("POST", "/topic/delete?topic=t", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	// the parameters may come with a body, which is read and ignored
	f.expectV1Empty(f.do("POST", "/topic/create?topic=u", []byte("ignored")))
	f.expectV1Empty(f.do("POST", "/topic/pause?topic=u", []byte(strings.Repeat("x", 1<<20))))
}

func TestChannelAdmin(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	f.expectV1Error(f.do("POST", "/channel/create?topic=t&channel=c", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=d%23ephemeral", nil))
	for range 4 {
		f.do("POST", "/pub?topic=t", []byte("m"))
	}
	ch := func(name string) channelView {
		tp, ok := findTopic(f.stats("include_mem=false"), "t")
		if !ok {
			t.Fatal("topic t missing")
		}
		c, ok := findChannel(tp, name)
		if !ok {
			return channelView{missing: true}
		}
		return channelView{depth: c.Depth, paused: c.Paused}
	}
	if c := ch("c"); c.depth != 4 || c.paused {
		t.Fatalf("after publish %+v", c)
	}
	f.expectV1Empty(f.do("POST", "/channel/pause?topic=t&channel=c", nil))
	if c := ch("c"); !c.paused {
		t.Fatalf("after pause %+v", c)
	}
	f.expectV1Empty(f.do("POST", "/channel/unpause?topic=t&channel=c", nil))
	if c := ch("c"); c.paused {
		t.Fatalf("after unpause %+v", c)
	}
	f.expectV1Empty(f.do("POST", "/channel/empty?topic=t&channel=c", nil))
	if c := ch("c"); c.depth != 0 {
		t.Fatalf("after empty %+v", c)
	}
	if c := ch("d#ephemeral"); c.depth != 4 {
		t.Fatalf("other channel emptied too %+v", c)
	}
	f.expectV1Empty(f.do("POST", "/channel/delete?topic=t&channel=c", nil))
	if c := ch("c"); !c.missing {
		t.Fatal("deleted channel still listed")
	}

	for _, p := range []string{"/channel/create", "/channel/delete", "/channel/empty", "/channel/pause", "/channel/unpause"} {
		f.expectV1Error(f.do("POST", p, nil), http.StatusBadRequest, "MISSING_ARG_TOPIC")
		f.expectV1Error(f.do("POST", p+"?topic=a*&channel=c", nil), http.StatusBadRequest, "INVALID_ARG_TOPIC")
		f.expectV1Error(f.do("POST", p+"?topic=t", nil), http.StatusBadRequest, "MISSING_ARG_CHANNEL")
		f.expectV1Error(f.do("POST", p+"?topic=t&channel=", nil), http.StatusBadRequest, "INVALID_ARG_CHANNEL")
		f.expectV1Error(f.do("POST", p+"?topic=nope&channel=c", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
		if p != "/channel/create" {
			f.expectV1Error(f.do("POST", p+"?topic=t&channel=nope", nil), http.StatusNotFound, "CHANNEL_NOT_FOUND")
		}
	}
	if !f.logs.contains("404 POST /channel/delete?topic=t&channel=nope (") {
		t.Fatalf("not logged: %q", f.logs.lines)
	}
}

type channelView struct {
	depth   int64
	paused  bool
	missing bool
}
