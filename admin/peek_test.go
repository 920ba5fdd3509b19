package admin_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
	"github.com/nsqfast/nsq/engine/nsqd"
)

type peekAnswer struct {
	Nodes []struct {
		Node     string `json:"node"`
		Topic    string `json:"topic"`
		Channel  string `json:"channel"`
		Messages []struct {
			Body      string `json:"body"`
			State     string `json:"state"`
			Size      int    `json:"size"`
			Truncated bool   `json:"truncated"`
		} `json:"messages"`
		Error string `json:"error"`
	} `json:"nodes"`
	Message string `json:"message"`
}

// TestPeek: GET /api/peek lists each nsqd's next messages of a channel or
// topic, says which nsqd refuses (--allow-peek=false), and is for admin
// users only when they are configured.
func TestPeek(t *testing.T) {
	c := admintest.Start(t, admintest.Config{
		NSQDs: 2,
		NSQD: func(i int, o *nsqd.Options) {
			o.AllowPeek = i == 0
		},
		Admin: func(o *admin.Options) {
			o.AdminUsers = []string{"matt"}
			o.ACLHTTPHeader = "X-Who"
		},
	})
	for i := 0; i < 2; i++ {
		c.CreateChannel(t, i, "t", "c")
		c.Publish(t, i, "t", "one", "<b>two</b>", strings.Repeat("z", 50))
	}
	c.WaitRegistered(t, "t", "c", 2)
	if code, body := admintest.Do(t, "GET", c.URL("/api/peek?topic=t&channel=c"), ""); code != 403 || body != `{"message":"FORBIDDEN"}` {
		t.Fatalf("anonymous: %d %s", code, body)
	}
	if code, body := admintest.Do(t, "GET", c.URL("/api/peek?topic=t*"), "", "X-Who", "matt"); code != 400 || body != `{"message":"INVALID_TOPIC"}` {
		t.Fatalf("invalid topic: %d %s", code, body)
	}
	var a peekAnswer
	body := admintest.MustDo(t, "GET", c.URL("/api/peek?topic=t&channel=c&n=2&skip=1&max_body=10"), "", "X-Who", "matt")
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Nodes) != 2 {
		t.Fatalf("nodes: %s", body)
	}
	var open, closed int
	for i, n := range a.Nodes {
		if n.Node == c.Node(0) {
			open = i
		} else {
			closed = i
		}
	}
	got := a.Nodes[open]
	if got.Error != "" || got.Topic != "t" || got.Channel != "c" || len(got.Messages) != 2 ||
		got.Messages[0].Body != "<b>two</b>" || got.Messages[1].Body != "zzzzzzzzzz" ||
		!got.Messages[1].Truncated || got.Messages[1].Size != 50 || got.Messages[0].State != "ready" {
		t.Fatalf("open node: %s", body)
	}
	if e := a.Nodes[closed].Error; !strings.Contains(e, "PEEK_DISABLED") || len(a.Nodes[closed].Messages) != 0 {
		t.Fatalf("closed node: %s", body)
	}
	body = admintest.MustDo(t, "GET", c.URL("/api/peek?topic=t"), "", "X-Who", "matt")
	a = peekAnswer{}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if n := a.Nodes[open]; len(n.Messages) != 3 || n.Channel != "" || n.Messages[0].Body != "one" {
		t.Fatalf("topic peek: %s", body)
	}
	// nothing was consumed
	if ch := c.Channel(t, 0, "t", "c"); ch.Depth != 3 || ch.InFlightCount != 0 {
		t.Fatalf("channel after peeking: %+v", ch)
	}
}
