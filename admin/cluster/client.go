package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponse bounds how much of an answer is read: a /stats document with
// clients of a few thousand channels fits many times over.
const maxResponse = 256 << 20

// Client makes the V1 calls of nsqd's and nsqlookupd's HTTP APIs, as
// upstream's internal/http_api client does: every request asks for
// "application/vnd.nsq; version=1.0"; a 403 from a plain-HTTP endpoint
// that names an "https_port" (nsqd with --tls-required) is retried once
// over HTTPS on that port; any other status but 200 is an error naming the
// status and the body. It is safe for concurrent use.
type Client struct {
	c *http.Client
}

// NewClient returns a Client whose connections time out after
// connectTimeout and whose requests (headers, then the whole exchange)
// after requestTimeout; tlsConfig (may be nil) is used for HTTPS.
func NewClient(tlsConfig *tls.Config, connectTimeout, requestTimeout time.Duration) *Client {
	return &Client{c: &http.Client{
		Transport: NewTransport(tlsConfig, connectTimeout, requestTimeout),
		Timeout:   requestTimeout,
	}}
}

// NewTransport is the transport of NewClient, for callers that need their
// own http.Client (the notification sender, the Graphite proxy).
func NewTransport(tlsConfig *tls.Config, connectTimeout, requestTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   connectTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		TLSClientConfig:       tlsConfig,
	}
}

// CloseIdle closes idle connections (at shutdown).
func (c *Client) CloseIdle() { c.c.CloseIdleConnections() }

// GetJSON GETs endpoint and decodes the 200 answer into v.
func (c *Client) GetJSON(ctx context.Context, endpoint string, v any) error {
	body, err := c.do(ctx, http.MethodGet, endpoint)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// Post POSTs to endpoint with an empty body; any 200 answer is success.
func (c *Client) Post(ctx context.Context, endpoint string) error {
	_, err := c.do(ctx, http.MethodPost, endpoint)
	return err
}

func (c *Client) do(ctx context.Context, method, endpoint string) ([]byte, error) {
	for retried := false; ; retried = true {
		req, err := http.NewRequestWithContext(ctx, method, endpoint, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Add("Accept", "application/vnd.nsq; version=1.0")
		resp, err := c.c.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusOK {
			return body, nil
		}
		if resp.StatusCode == http.StatusForbidden && !retried && !strings.HasPrefix(endpoint, "https") {
			endpoint, err = httpsEndpoint(endpoint, body)
			if err != nil {
				return nil, err
			}
			continue
		}
		return nil, fmt.Errorf("got response %s %q", resp.Status, body)
	}
}

// httpsEndpoint is endpoint over HTTPS on the port a 403 answer names.
func httpsEndpoint(endpoint string, body []byte) (string, error) {
	var forbidden struct {
		HTTPSPort int `json:"https_port"`
	}
	if err := json.Unmarshal(body, &forbidden); err != nil {
		return "", err
	}
	if forbidden.HTTPSPort == 0 {
		// a 403 for another reason than --tls-required (an nsqd's
		// --allow-peek=false): no HTTPS port to retry on
		return "", fmt.Errorf("got response 403 Forbidden %q", body)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", err
	}
	u.Scheme = "https"
	u.Host = net.JoinHostPort(host, strconv.Itoa(forbidden.HTTPSPort))
	return u.String(), nil
}
