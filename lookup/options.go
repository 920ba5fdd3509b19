package lookup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
	if _, ok := o.LogLevel.label(); !ok {
		errs = append(errs, fmt.Errorf("--log-level: invalid level %d", int(o.LogLevel)))
	}
	if o.Limits != (lookupv1.Limits{}) && (o.Limits.MaxLine <= 0 || o.Limits.MaxBody < 0) {
		errs = append(errs, fmt.Errorf("limits: invalid %+v", o.Limits))
	}
	return errors.Join(errs...)
}

// LogLevel is the least severe level logged; the values are upstream's.
type LogLevel int

// Log levels, least severe first.
const (
	LogDebug LogLevel = iota + 1
	LogInfo
	LogWarn
	LogError
	LogFatal
)

// levelNames holds, by level, the name ParseLogLevel accepts and the label
// upstream puts in front of log lines.
var levelNames = [...]struct{ name, label string }{
	LogDebug: {"debug", "DEBUG"},
	LogInfo:  {"info", "INFO"},
	LogWarn:  {"warn", "WARNING"},
	LogError: {"error", "ERROR"},
	LogFatal: {"fatal", "FATAL"},
}

// ParseLogLevel accepts debug, info, warn, error or fatal, in any case.
func ParseLogLevel(s string) (LogLevel, error) {
	lower := strings.ToLower(s)
	for l := LogDebug; l <= LogFatal; l++ {
		if lower == levelNames[l].name {
			return l, nil
		}
	}
	return 0, fmt.Errorf("invalid log level '%s' (debug, info, warn, error, fatal)", s)
}

func (l LogLevel) label() (string, bool) {
	if l < LogDebug || l > LogFatal {
		return "", false
	}
	return levelNames[l].label, true
}

// String returns the log-line label: DEBUG, INFO, WARNING, ERROR or FATAL
// ("invalid" for anything else).
// Set parses upstream's names (flag.Value and config files).
func (l *LogLevel) Set(s string) error {
	v, err := ParseLogLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

func (l LogLevel) String() string {
	if s, ok := l.label(); ok {
		return s
	}
	return "invalid"
}
