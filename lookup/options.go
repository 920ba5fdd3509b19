package lookup

import (
	"github.com/nsqfast/nsq/wire/httproute"

	"github.com/nsqfast/nsq/wire/lg"

	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nsqfast/nsq/wire/lookupv1"
)

// Options configures an nsqlookupd. NewOptions returns upstream v1.3.0's
// defaults; Validate checks it.
//
// Each field upstream exposes carries its flag name (`flag`) and its
// config-file key (`cfg`); cmd/nsqlookupd reads them. An Options must not
// be modified once passed to New.
type Options struct {
	// LogLevel is the least severe level logged. Default LogInfo.
	LogLevel LogLevel `flag:"log-level" cfg:"log_level"`
	// LogPrefix starts every log line. Default "[nsqlookupd] ".
	LogPrefix string `flag:"log-prefix" cfg:"log_prefix"`
	// LogOutput receives log lines; nil means os.Stderr. No flag.
	LogOutput io.Writer

	// TCPAddress is where nsqd connect to register. Default "0.0.0.0:4160".
	TCPAddress string `flag:"tcp-address" cfg:"tcp_address"`
	// HTTPAddress is where the HTTP API listens. Default "0.0.0.0:4161".
	HTTPAddress string `flag:"http-address" cfg:"http_address"`
	// BroadcastAddress is the host this nsqlookupd tells nsqd in its
	// IDENTIFY response (nsqd query its HTTP API there). Default: the
	// hostname.
	BroadcastAddress string `flag:"broadcast-address" cfg:"broadcast_address"`

	// InactiveProducerTimeout is how long after its last PING an nsqd is
	// left out of /lookup and /nodes. Default 300s.
	InactiveProducerTimeout time.Duration `flag:"inactive-producer-timeout" cfg:"inactive_producer_timeout"`
	// TombstoneLifetime is how long a producer tombstoned by
	// /topic/tombstone is left out of /lookup. Default 45s.
	TombstoneLifetime time.Duration `flag:"tombstone-lifetime" cfg:"tombstone_lifetime"`

	// Limits bound command lines and IDENTIFY bodies on the TCP protocol;
	// the zero value means lookupv1.DefaultLimits. No flag (upstream has no
	// limits).
	Limits lookupv1.Limits
	// HTTPLimits bound what one HTTP client can hold (timeouts, header
	// bytes); zero fields take httproute's defaults (docs/OPERATIONS.md,
	// Limits). No flag.
	HTTPLimits httproute.ServerLimits
}

// NewOptions returns upstream v1.3.0's defaults. The broadcast address is
// the hostname, or "localhost" if it cannot be read (upstream exits
// instead).
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "localhost"
	}
	return &Options{
		LogLevel:                LogInfo,
		LogPrefix:               "[nsqlookupd] ",
		TCPAddress:              "0.0.0.0:4160",
		HTTPAddress:             "0.0.0.0:4161",
		BroadcastAddress:        hostname,
		InactiveProducerTimeout: 300 * time.Second,
		TombstoneLifetime:       45 * time.Second,
	}
}

// Validate reports every problem with o, joined; each message starts with
// the flag it is about. Upstream checks nothing beyond parsing; neither
// does this, except for values that cannot work at all.
func (o *Options) Validate() error {
	var errs []error
	if !o.LogLevel.Valid() {
		errs = append(errs, fmt.Errorf("--log-level: invalid level %d", int(o.LogLevel)))
	}
	if o.Limits != (lookupv1.Limits{}) && (o.Limits.MaxLine <= 0 || o.Limits.MaxBody < 0) {
		errs = append(errs, fmt.Errorf("limits: invalid %+v", o.Limits))
	}
	return errors.Join(errs...)
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
