package main

import (
	"github.com/nsqfast/nsq/wire/lg"

	"flag"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

// Options are nsq_to_file's settings, one per upstream flag (named in
// each field's comment); NewOptions gives upstream's defaults.
type Options struct {
	Topics               []string      // --topic (repeatable)
	TopicPattern         string        // --topic-pattern: a regexp topics must match
	TopicRefreshInterval time.Duration // --topic-refresh: how often nsqlookupd is asked for topics
	Channel              string        // --channel

	NSQDTCPAddrs             []string      // --nsqd-tcp-address
	NSQLookupdHTTPAddrs      []string      // --lookupd-http-address
	ConsumerOpts             []string      // --consumer-opt, "key,value"
	MaxInFlight              int           // --max-in-flight; also the most messages written before a sync
	HTTPClientConnectTimeout time.Duration // --http-client-connect-timeout
	HTTPClientRequestTimeout time.Duration // --http-client-request-timeout

	LogPrefix      string        // --log-prefix
	LogLevel       string        // --log-level: debug, info, warn, error or fatal
	OutputDir      string        // --output-dir
	WorkDir        string        // --work-dir: files are written here, then moved to OutputDir; "" means OutputDir
	DatetimeFormat string        // --datetime-format: strftime format of <DATETIME>
	FilenameFormat string        // --filename-format
	HostIdentifier string        // --host-identifier: <HOST> in filenames; may hold <SHORT_HOST> and <HOSTNAME>
	GZIPLevel      int           // --gzip-level, 1 to 9
	GZIP           bool          // --gzip
	SkipEmptyFiles bool          // --skip-empty-files
	RotateSize     int64         // --rotate-size: bytes (before compression); 0 for none
	RotateInterval time.Duration // --rotate-interval; 0 for none
	SyncInterval   time.Duration // --sync-interval
}

// NewOptions returns upstream's defaults.
func NewOptions() *Options {
	return &Options{
		LogPrefix:                "[nsq_to_file] ",
		LogLevel:                 "info",
		Channel:                  "nsq_to_file",
		MaxInFlight:              200,
		OutputDir:                "/tmp",
		DatetimeFormat:           "%Y-%m-%d_%H",
		FilenameFormat:           "<TOPIC>.<HOST><REV>.<DATETIME>.log",
		GZIPLevel:                6,
		TopicRefreshInterval:     time.Minute,
		SyncInterval:             30 * time.Second,
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,
	}
}

// newFlagSet binds every upstream flag to opts (whose values are the
// defaults), plus --version. Help texts are ours.
func newFlagSet(opts *Options, showVersion *bool, stderr io.Writer) *flag.FlagSet {
	fs := nsqtool.NewFlagSet(tool, stderr)
	fs.BoolVar(showVersion, "version", false, "print the version and exit")
	fs.StringVar(&opts.LogLevel, "log-level", opts.LogLevel, "least severe level logged: debug, info, warn, error or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "text at the start of every log line")

	fs.StringVar(&opts.Channel, "channel", opts.Channel, "channel to read")
	fs.IntVar(&opts.MaxInFlight, "max-in-flight", opts.MaxInFlight, "most messages in flight at once (and written before a sync)")

	fs.StringVar(&opts.OutputDir, "output-dir", opts.OutputDir, "directory of the finished files")
	fs.StringVar(&opts.WorkDir, "work-dir", opts.WorkDir, "directory of the files being written, moved to --output-dir when closed (default: --output-dir)")
	fs.StringVar(&opts.DatetimeFormat, "datetime-format", opts.DatetimeFormat, "strftime format of <DATETIME> in --filename-format")
	fs.StringVar(&opts.FilenameFormat, "filename-format", opts.FilenameFormat, "name of the files; <TOPIC>, <HOST>, <PID>, <DATETIME> and <REV> are replaced (<REV> by -NNNNNN, counting up when the name is taken)")
	fs.StringVar(&opts.HostIdentifier, "host-identifier", opts.HostIdentifier, "<HOST> in filenames instead of the short hostname; may hold <SHORT_HOST> and <HOSTNAME>")
	fs.IntVar(&opts.GZIPLevel, "gzip-level", opts.GZIPLevel, "gzip compression level, 1 (fastest) to 9 (smallest)")
	fs.BoolVar(&opts.GZIP, "gzip", opts.GZIP, "gzip the files")
	fs.BoolVar(&opts.SkipEmptyFiles, "skip-empty-files", opts.SkipEmptyFiles, "open no file until there is a message for it")
	fs.DurationVar(&opts.TopicRefreshInterval, "topic-refresh", opts.TopicRefreshInterval, "how often to ask nsqlookupd for new topics (without --topic)")
	fs.StringVar(&opts.TopicPattern, "topic-pattern", opts.TopicPattern, "only write the topics this regular expression matches")

	fs.Int64Var(&opts.RotateSize, "rotate-size", opts.RotateSize, "start a new file once one holds more than this many bytes (before compression); 0 for never")
	fs.DurationVar(&opts.RotateInterval, "rotate-interval", opts.RotateInterval, "start a new file this often; 0 for never")
	fs.DurationVar(&opts.SyncInterval, "sync-interval", opts.SyncInterval, "how often to fsync the files (and acknowledge what they hold)")

	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "how long connecting to an HTTP API may take")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "how long an HTTP request may take")

	fs.Var((*nsqtool.StringArray)(&opts.NSQDTCPAddrs), "nsqd-tcp-address", "nsqd TCP address to read from (repeatable)")
	fs.Var((*nsqtool.StringArray)(&opts.NSQLookupdHTTPAddrs), "lookupd-http-address", "nsqlookupd HTTP address to find nsqd and topics with (repeatable)")
	fs.Var((*nsqtool.StringArray)(&opts.Topics), "topic", "topic to write (repeatable; without it, every topic nsqlookupd knows)")
	fs.Var((*nsqtool.StringArray)(&opts.ConsumerOpts), "consumer-opt", "go-nsq Config option for the consumers, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	return fs
}

// logLevel is a level of nsq_to_file's log (upstream's levels).
type logLevel = lg.Level

const (
	levelDebug = lg.Debug
	levelInfo  = lg.Info
	levelWarn  = lg.Warn
	levelError = lg.Error
	levelFatal = lg.Fatal
)

func parseLogLevel(s string) (logLevel, error) { return lg.Parse(s) }

// logFunc logs a line at a level: "<prefix>2006/01/02 15:04:05.000000 INFO: ...".
type logFunc func(lvl logLevel, format string, args ...any)

func newLogFunc(stderr io.Writer, prefix string, min logLevel) logFunc {
	l := log.New(stderr, prefix, log.Ldate|log.Ltime|log.Lmicroseconds)
	return func(lvl logLevel, format string, args ...any) {
		if lvl >= min {
			l.Print(lvl.String() + ": " + fmt.Sprintf(format, args...))
		}
	}
}
