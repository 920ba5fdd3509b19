package admin

import (
	"github.com/nsqfast/nsq/wire/httproute"

	"github.com/nsqfast/nsq/wire/lg"

	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// Options configures nsqadmin. NewOptions returns upstream v1.3.0's
// defaults; New validates them.
//
// Each field upstream exposes carries its flag name (`flag`) and, where it
// differs from the flag name with '-' replaced by '_', its config-file key
// (`cfg`); cmd/nsqadmin and GET /config/:opt read them. The fields without
// tags are ours.
//
// An Options must not be modified once passed to New: PUT /config/:opt
// changes a copy.
type Options struct {
	// LogLevel is the least severe level logged. Default LogInfo.
	LogLevel LogLevel `flag:"log-level"`
	// LogPrefix starts every log line. Default "[nsqadmin] ".
	LogPrefix string `flag:"log-prefix"`
	// LogOutput receives log lines; nil means os.Stderr. No flag.
	LogOutput io.Writer

	// HTTPAddress is where the UI and its API listen. Default
	// "0.0.0.0:4171".
	HTTPAddress string `flag:"http-address"`
	// BasePath is the URL path everything is served under. Default "/".
	BasePath string `flag:"base-path"`

	// DevStaticDir, when set, serves the UI's files from this directory
	// instead of the copies built into the binary (for editing the UI
	// without rebuilding).
	DevStaticDir string `flag:"dev-static-dir"`

	// GraphiteURL is the Graphite web server charts and rates come from;
	// empty disables Graphite.
	GraphiteURL string `flag:"graphite-url"`
	// ProxyGraphite makes the browser ask nsqadmin's /render, which
	// forwards to GraphiteURL, instead of Graphite itself.
	ProxyGraphite bool `flag:"proxy-graphite"`

	// StatsdPrefix, StatsdCounterFormat and StatsdGaugeFormat say how
	// nsqd's statsd metrics are named in Graphite (they must match nsqd's
	// --statsd-prefix and the statsd daemon); "%s" in StatsdPrefix stands
	// for the nsqd's address. Defaults "nsq.%s",
	// "stats.counters.%s.count", "stats.gauges.%s".
	StatsdPrefix        string `flag:"statsd-prefix"`
	StatsdCounterFormat string `flag:"statsd-counter-format"`
	StatsdGaugeFormat   string `flag:"statsd-gauge-format"`
	// StatsdInterval is nsqd's --statsd-interval: Graphite rates are per
	// interval. Default 60s.
	StatsdInterval time.Duration `flag:"statsd-interval"`

	// NSQLookupdHTTPAddresses are the nsqlookupd the cluster is learnt
	// from; NSQDHTTPAddresses are nsqd to use instead (one or the other).
	NSQLookupdHTTPAddresses []string `flag:"lookupd-http-address" cfg:"nsqlookupd_http_addresses"`
	NSQDHTTPAddresses       []string `flag:"nsqd-http-address" cfg:"nsqd_http_addresses"`

	// HTTPClientConnectTimeout and HTTPClientRequestTimeout bound the calls
	// to nsqd, nsqlookupd, Graphite and the notification endpoint.
	// Defaults 2s and 5s.
	HTTPClientConnectTimeout time.Duration `flag:"http-client-connect-timeout"`
	HTTPClientRequestTimeout time.Duration `flag:"http-client-request-timeout"`

	// TLS of those calls, for nsqd that serve HTTPS.
	HTTPClientTLSInsecureSkipVerify bool   `flag:"http-client-tls-insecure-skip-verify"`
	HTTPClientTLSRootCAFile         string `flag:"http-client-tls-root-ca-file"`
	HTTPClientTLSCert               string `flag:"http-client-tls-cert"`
	HTTPClientTLSKey                string `flag:"http-client-tls-key"`

	// AllowConfigFromCIDR is where /config/:opt may be called from; empty
	// allows everyone. Default "127.0.0.1/8".
	AllowConfigFromCIDR string `flag:"allow-config-from-cidr"`

	// NotificationHTTPEndpoint receives a POST with a JSON description of
	// every admin action; empty sends none.
	NotificationHTTPEndpoint string `flag:"notification-http-endpoint"`

	// ACLHTTPHeader is the request header naming the authenticated user
	// (set by a proxy in front). Default "X-Forwarded-User".
	ACLHTTPHeader string `flag:"acl-http-header"`
	// AdminUsers, when not empty, are the only users (per ACLHTTPHeader)
	// allowed to create, pause, empty, delete and tombstone. Default none:
	// everyone may.
	AdminUsers []string `flag:"admin-user" cfg:"admin_users"`

	// SampleInterval is how often nsqadmin reads /stats of every nsqd for
	// its own charts (ours, no flag upstream); 0 disables them. Default 2s.
	SampleInterval time.Duration `flag:"chart-sample-interval"`
	// SampleHistory is how far back the charts go. Default 30m.
	SampleHistory time.Duration `flag:"chart-history"`
	// HTTPLimits bound what one HTTP client can hold (timeouts, header
	// bytes); zero fields take httproute's defaults (docs/OPERATIONS.md,
	// Limits). No flag.
	HTTPLimits httproute.ServerLimits
}

// NewOptions returns upstream v1.3.0's defaults (and ours for the charts).
func NewOptions() *Options {
	return &Options{
		LogLevel:                 LogInfo,
		LogPrefix:                "[nsqadmin] ",
		HTTPAddress:              "0.0.0.0:4171",
		BasePath:                 "/",
		StatsdPrefix:             "nsq.%s",
		StatsdCounterFormat:      "stats.counters.%s.count",
		StatsdGaugeFormat:        "stats.gauges.%s",
		StatsdInterval:           60 * time.Second,
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,
		NSQLookupdHTTPAddresses:  []string{},
		NSQDHTTPAddresses:        []string{},
		AllowConfigFromCIDR:      "127.0.0.1/8",
		ACLHTTPHeader:            "X-Forwarded-User",
		AdminUsers:               []string{},
		SampleInterval:           2 * time.Second,
		SampleHistory:            30 * time.Minute,
	}
}

// maxSamples bounds the points kept per chart series.
const maxSamples = 10000

// validate checks o as upstream's New does, in the same order and with
// the same messages, then our own options; it returns the TLS
// configuration of calls to nsqd and nsqlookupd.
func (o *Options) validate() (*tls.Config, error) {
	tlsConfig, err := o.validateUpstream()
	if err != nil {
		return nil, err
	}
	if o.SampleInterval < 0 {
		return nil, fmt.Errorf("--chart-sample-interval (%s) must not be negative", o.SampleInterval)
	}
	if o.SampleInterval > 0 {
		if o.SampleHistory < o.SampleInterval {
			return nil, fmt.Errorf("--chart-history (%s) must be at least --chart-sample-interval (%s)", o.SampleHistory, o.SampleInterval)
		}
		if o.SampleHistory/o.SampleInterval > maxSamples {
			return nil, fmt.Errorf("--chart-history (%s) holds more than %d samples of --chart-sample-interval (%s)", o.SampleHistory, maxSamples, o.SampleInterval)
		}
	}
	return tlsConfig, nil
}

func (o *Options) validateUpstream() (*tls.Config, error) {
	if !o.LogLevel.Valid() {
		return nil, fmt.Errorf("--log-level: invalid level %d", int(o.LogLevel))
	}
	if len(o.NSQDHTTPAddresses) == 0 && len(o.NSQLookupdHTTPAddresses) == 0 {
		return nil, errors.New("--nsqd-http-address or --lookupd-http-address required")
	}
	if len(o.NSQDHTTPAddresses) != 0 && len(o.NSQLookupdHTTPAddresses) != 0 {
		return nil, errors.New("use --nsqd-http-address or --lookupd-http-address not both")
	}
	if o.HTTPClientTLSCert != "" && o.HTTPClientTLSKey == "" {
		return nil, errors.New("--http-client-tls-key must be specified with --http-client-tls-cert")
	}
	if o.HTTPClientTLSKey != "" && o.HTTPClientTLSCert == "" {
		return nil, errors.New("--http-client-tls-cert must be specified with --http-client-tls-key")
	}
	tlsConfig, err := o.clientTLS()
	if err != nil {
		return nil, err
	}
	for _, a := range o.NSQLookupdHTTPAddresses {
		if _, err := net.ResolveTCPAddr("tcp", a); err != nil {
			return nil, fmt.Errorf("failed to resolve --lookupd-http-address (%s) - %s", a, err)
		}
	}
	for _, a := range o.NSQDHTTPAddresses {
		if _, err := net.ResolveTCPAddr("tcp", a); err != nil {
			return nil, fmt.Errorf("failed to resolve --nsqd-http-address (%s) - %s", a, err)
		}
	}
	if o.ProxyGraphite {
		if _, err := url.Parse(o.GraphiteURL); err != nil {
			return nil, fmt.Errorf("failed to parse --graphite-url (%s) - %s", o.GraphiteURL, err)
		}
	}
	if o.AllowConfigFromCIDR != "" {
		if _, _, err := net.ParseCIDR(o.AllowConfigFromCIDR); err != nil {
			return nil, fmt.Errorf("failed to parse --allow-config-from-cidr (%s) - %s", o.AllowConfigFromCIDR, err)
		}
	}
	return tlsConfig, nil
}

// clientTLS is the TLS configuration of calls to nsqd and nsqlookupd.
func (o *Options) clientTLS() (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: o.HTTPClientTLSInsecureSkipVerify} //nolint:gosec // upstream's flag
	if o.HTTPClientTLSCert != "" && o.HTTPClientTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(o.HTTPClientTLSCert, o.HTTPClientTLSKey)
		if err != nil {
			return nil, fmt.Errorf("failed to LoadX509KeyPair %s, %s - %s", o.HTTPClientTLSCert, o.HTTPClientTLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.HTTPClientTLSRootCAFile != "" {
		pem, err := os.ReadFile(o.HTTPClientTLSRootCAFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read TLS root CA file %s - %s", o.HTTPClientTLSRootCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("failed to AppendCertsFromPEM %s", o.HTTPClientTLSRootCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// normalizeBasePath gives p a leading slash and cleans it; "" is "/".
func normalizeBasePath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

// LogLevel is the least severe level logged: upstream's levels, one type for every daemon
// (wire/lg).
type LogLevel = lg.Level

// Log levels, least severe first.
const (
	LogDebug = lg.Debug
	LogInfo  = lg.Info
	LogWarn  = lg.Warn
	LogError = lg.Error
	LogFatal = lg.Fatal
)

// ParseLogLevel accepts debug, info, warn, error or fatal, in any case.
func ParseLogLevel(s string) (LogLevel, error) { return lg.Parse(s) }
