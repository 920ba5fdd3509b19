package netpoll

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// AUTH, as upstream: the client sends a secret; nsqd asks an auth server
// (GET /auth?remote_ip=&tls=&secret=&common_name=) which answers with an
// identity, a TTL and authorizations (a topic regex, channel regexes and
// the permissions "subscribe" and/or "publish"). SUB, PUB, MPUB and DPUB
// are checked against them; once the TTL has passed they are fetched again.
//
// The query is an HTTP call, so on the event loop it runs on its own
// goroutine: the connection stops reading commands until the answer comes
// back (its result is collected on the loop, which the goroutine wakes).
// An upgraded connection is served by its own goroutine and simply waits.

// authorization is one grant of an auth server's answer.
type authorization struct {
	Topic       string   `json:"topic"`
	Channels    []string `json:"channels"`
	Permissions []string `json:"permissions"`

	topicRE    *regexp.Regexp
	channelRES []*regexp.Regexp
}

// authState is an auth server's answer.
type authState struct {
	TTL            int             `json:"ttl"`
	Authorizations []authorization `json:"authorizations"`
	Identity       string          `json:"identity"`
	IdentityURL    string          `json:"identity_url"`
	expires        time.Time
}

func (a *authorization) has(perm string) bool {
	for _, p := range a.Permissions {
		if p == perm {
			return true
		}
	}
	return false
}

// allowed is upstream's rule: channel "" asks to publish, else to
// subscribe; the topic regex must match, and one channel regex must match
// the channel (for publishing, the empty string).
func (a *authorization) allowed(topic, channel string) bool {
	perm := "publish"
	if channel != "" {
		perm = "subscribe"
	}
	if !a.has(perm) || !a.topicRE.MatchString(topic) {
		return false
	}
	for _, re := range a.channelRES {
		if re.MatchString(channel) {
			return true
		}
	}
	return false
}

func (s *authState) allowed(topic, channel string) bool {
	for i := range s.Authorizations {
		if s.Authorizations[i].allowed(topic, channel) {
			return true
		}
	}
	return false
}

// authResult carries a query's outcome from its goroutine to the loop.
type authResult struct {
	state *authState
	err   error
}

// authClient is a connection's AUTH state; owned by the goroutine serving
// the connection, except result, which the query goroutine fills.
type authClient struct {
	secret  string
	state   *authState
	pending bool // a query is outstanding
	isCmd   bool // it answers an AUTH command (else it refreshes)
	fatal   *wire.Error
	result  atomic.Pointer[authResult]
	// ready is closed once the outstanding query's result is stored; a
	// connection handed off while pending waits on it (see inputEnded)
	ready chan struct{}
}

func (a *authClient) hasAuthorizations() bool {
	return a.state != nil && len(a.state.Authorizations) > 0
}

// errAuthPending tells process to stop before the current command and run
// it again once the auth server has answered.
var errAuthPending = &wire.Error{Code: "internal", Desc: "auth pending"}

func (c *Client) authEnabled() bool { return len(c.srv.opts.AuthHTTPAddresses) > 0 }

func (c *Client) authCommand(cmd *wire.Command) *wire.Error {
	if c.state.Load() != StateInit {
		return wire.ErrInvalidState(wire.CmdAuth)
	}
	if c.auth.hasAuthorizations() {
		return wire.ErrAuthAlreadySet()
	}
	if !c.authEnabled() {
		return wire.ErrAuthDisabled()
	}
	c.auth.secret = string(cmd.Body)
	return c.queryAuth(true)
}

// checkAuth is upstream's CheckAuth for SUB (channel != nil), PUB, MPUB
// and DPUB.
func (c *Client) checkAuth(cmd string, topic, channel []byte) *wire.Error {
	if !c.authEnabled() {
		return nil
	}
	if !c.auth.hasAuthorizations() {
		return wire.ErrAuthFirst(cmd)
	}
	if time.Now().After(c.auth.state.expires) {
		if e := c.queryAuth(false); e != nil {
			return e
		}
	}
	if !c.auth.state.allowed(string(topic), string(channel)) {
		return wire.ErrAuthUnauthorized(cmd, string(topic), string(channel))
	}
	return nil
}

// queryAuth asks the auth servers: synchronously on an upgraded
// connection's own goroutine, else in the background (errAuthPending).
func (c *Client) queryAuth(isCmd bool) *wire.Error {
	q := authQuery{
		secret:   c.auth.secret,
		tls:      c.tlsOn,
		remoteIP: "",
	}
	if h, _, err := net.SplitHostPort(c.remoteAddr); err == nil {
		q.remoteIP = h
	}
	c.info.Lock()
	if st := c.info.tls; st != nil && len(st.PeerCertificates) > 0 {
		q.commonName = st.PeerCertificates[0].Subject.CommonName
	}
	c.info.Unlock()
	if c.up.Load() != nil {
		st, err := c.srv.queryAuthServers(q)
		return c.applyAuth(st, err, isCmd)
	}
	c.auth.pending = true
	c.auth.isCmd = isCmd
	ready := make(chan struct{})
	c.auth.ready = ready
	go func() {
		st, err := c.srv.queryAuthServers(q)
		c.auth.result.Store(&authResult{state: st, err: err})
		close(ready)
		_ = c.conn.Wake(nil)
	}()
	if isCmd {
		return nil // AUTH is consumed; its answer comes with the result
	}
	return errAuthPending
}

// collect takes a finished background query's result; false if none yet.
func (a *authClient) collect(c *Client) bool {
	r := a.result.Swap(nil)
	if r == nil {
		return false
	}
	a.pending = false
	a.fatal = c.applyAuth(r.state, r.err, a.isCmd)
	return true
}

func (c *Client) applyAuth(st *authState, err error, isCmd bool) *wire.Error {
	if err != nil {
		// upstream does not tell untrusted clients why
		c.srv.logf(engine.LogWarn, "PROTOCOL(V2): [%s] AUTH failed %s", c.remoteAddr, err)
		return wire.ErrAuthFailed()
	}
	c.auth.state = st
	c.info.Lock()
	c.info.authed = true
	c.info.authIdentity, c.info.authURL = st.Identity, st.IdentityURL
	c.info.Unlock()
	if !isCmd {
		return nil
	}
	if !c.auth.hasAuthorizations() {
		return wire.ErrAuthNoAuthorizations()
	}
	resp := wire.AuthResponse{Identity: st.Identity, IdentityURL: st.IdentityURL, PermissionCount: len(st.Authorizations)}
	c.appendOut(func(b []byte) []byte { return wire.AppendResponse(b, resp.AppendJSON(nil)) })
	return nil
}

type authQuery struct {
	secret, remoteIP, commonName string
	tls                          bool
}

// queryAuthServers tries each auth server, starting at a random one, until
// one answers.
func (s *Server) queryAuthServers(q authQuery) (*authState, error) {
	addrs := s.opts.AuthHTTPAddresses
	start := rand.IntN(len(addrs))
	var errs []string
	for i := range addrs {
		a := addrs[(start+i)%len(addrs)]
		st, err := s.queryAuthServer(a, q)
		if err == nil {
			return st, nil
		}
		errs = append(errs, fmt.Sprintf("failed to auth against %s - %s", a, err))
	}
	return nil, errors.New(strings.Join(errs, "; "))
}

func (s *Server) authHTTPClient() *http.Client {
	s.authClientOnce.Do(func() {
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: s.opts.HTTPClientConnectTimeout}).DialContext,
			TLSClientConfig:     s.opts.AuthClientTLSConfig,
			MaxIdleConnsPerHost: 4,
		}
		s.authClient = &http.Client{Transport: tr, Timeout: s.opts.HTTPClientRequestTimeout}
	})
	return s.authClient
}

func (s *Server) queryAuthServer(addr string, q authQuery) (*authState, error) {
	v := url.Values{}
	v.Set("remote_ip", q.remoteIP)
	v.Set("tls", fmt.Sprint(q.tls))
	v.Set("secret", q.secret)
	v.Set("common_name", q.commonName)
	endpoint := "http://" + addr + "/auth?" + v.Encode()
	if strings.Contains(addr, "://") {
		endpoint = addr + "?" + v.Encode()
	}
	req, err := http.NewRequest("GET", endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := s.authHTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("got response %s", resp.Status)
	}
	var st authState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	for i := range st.Authorizations {
		a := &st.Authorizations[i]
		for _, p := range a.Permissions {
			if p != "subscribe" && p != "publish" {
				return nil, fmt.Errorf("unknown permission %s", p)
			}
		}
		if a.topicRE, err = regexp.Compile(a.Topic); err != nil {
			return nil, fmt.Errorf("unable to compile topic %q %s", a.Topic, err)
		}
		for _, ch := range a.Channels {
			re, err := regexp.Compile(ch)
			if err != nil {
				return nil, fmt.Errorf("unable to compile channel %q %s", ch, err)
			}
			a.channelRES = append(a.channelRES, re)
		}
	}
	if st.TTL <= 0 {
		return nil, fmt.Errorf("invalid TTL %d (must be >0)", st.TTL)
	}
	st.expires = time.Now().Add(time.Duration(st.TTL) * time.Second)
	return &st, nil
}
