package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
)

// AdminAction is the JSON document POSTed to --notification-http-endpoint
// for every admin action, as upstream sends it.
type AdminAction struct {
	Action    string `json:"action"`
	Topic     string `json:"topic"`
	Channel   string `json:"channel,omitempty"`
	Node      string `json:"node,omitempty"`
	Timestamp int64  `json:"timestamp"`
	// User is the user name of the request's basic authentication.
	User      string `json:"user,omitempty"`
	RemoteIP  string `json:"remote_ip"`
	UserAgent string `json:"user_agent"`
	// URL is the request that caused the action.
	URL string `json:"url"`
	// Via is the hostname of the nsqadmin.
	Via string `json:"via"`
}

// notifyQueue bounds the actions waiting to be sent; beyond it, actions
// are dropped with an error logged (upstream starts a goroutine per
// action, without bound).
const notifyQueue = 1024

// notifier sends AdminActions, one at a time, in order.
type notifier struct {
	a      *NSQAdmin
	client *http.Client

	mu     sync.Mutex
	queue  chan *AdminAction
	closed bool
}

func newNotifier(a *NSQAdmin) *notifier {
	o := a.getOpts()
	return &notifier{
		a: a,
		client: &http.Client{
			Transport: cluster.NewTransport(a.tlsConfig, o.HTTPClientConnectTimeout, o.HTTPClientRequestTimeout),
			Timeout:   o.HTTPClientRequestTimeout,
		},
		queue: make(chan *AdminAction, notifyQueue),
	}
}

// enqueue queues act without waiting.
func (n *notifier) enqueue(act *AdminAction) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	select {
	case n.queue <- act:
	default:
		n.a.logf(LogError, "notification queue full, dropping %s of %q", act.Action, act.Topic)
	}
}

// close stops enqueueing; run sends what is queued, then returns.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
}

func (n *notifier) run() {
	for act := range n.queue {
		body, err := json.Marshal(act)
		if err != nil {
			n.a.logf(LogError, "failed to serialize admin action - %s", err)
			continue
		}
		endpoint := n.a.getOpts().NotificationHTTPEndpoint
		n.a.logf(LogInfo, "POSTing notification to %s", endpoint)
		resp, err := n.client.Post(endpoint, "application/json", bytes.NewReader(body))
		if err != nil {
			n.a.logf(LogError, "failed to POST notification - %s", err)
			continue
		}
		resp.Body.Close()
	}
	n.client.CloseIdleConnections()
}

// notify queues the notification of an action the request r caused, when
// an endpoint is configured.
func (a *NSQAdmin) notify(action, topic, channel, node string, r *http.Request) {
	if a.notifier == nil {
		return
	}
	via, _ := os.Hostname()
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.TLS != nil || r.Header.Get("X-Scheme") == "https" {
		u.Scheme = "https"
	}
	a.notifier.enqueue(&AdminAction{
		Action:    action,
		Topic:     topic,
		Channel:   channel,
		Node:      node,
		Timestamp: time.Now().Unix(),
		User:      basicAuthUser(r),
		RemoteIP:  r.RemoteAddr,
		UserAgent: r.UserAgent(),
		URL:       u.String(),
		Via:       via,
	})
}

// basicAuthUser is the user name of r's basic authentication, if any.
func basicAuthUser(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != "Basic" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return ""
	}
	user, _, ok := strings.Cut(string(b), ":")
	if !ok {
		return ""
	}
	return user
}
