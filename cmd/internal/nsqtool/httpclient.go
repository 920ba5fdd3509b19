package nsqtool

import (
	"net/http"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
)

// NewHTTPClient is the client nsq_to_http sends with, as upstream's: its
// connections time out after connectTimeout, its requests after
// requestTimeout (waiting for the headers, and in all), and it uses no
// proxy.
func NewHTTPClient(connectTimeout, requestTimeout time.Duration) *http.Client {
	t := cluster.NewTransport(nil, connectTimeout, requestTimeout)
	t.Proxy = nil
	return &http.Client{Transport: t, Timeout: requestTimeout}
}

// NewCluster queries nsqd and nsqlookupd over HTTP with the given
// timeouts, as upstream's tools do (internal/clusterinfo), logging
// nothing.
func NewCluster(connectTimeout, requestTimeout time.Duration) *cluster.Cluster {
	return cluster.New(cluster.NewClient(nil, connectTimeout, requestTimeout), nil)
}
