// Command nsqlookupd is a drop-in replacement for NSQ v1.3.0's nsqlookupd:
// the same flags with the same defaults, and the same TOML config file.
//
// As upstream (mreiferson/go-options), a flag given on the command line
// wins, then the config file, then the default. Config keys are the flag
// names with '-' replaced by '_'; unknown keys are ignored.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/nsqfast/nsq/lookup"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, stop))
}

// run is main without the process: it returns the exit status. It starts
// nsqlookupd and blocks until stop delivers a signal.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	opts, showVersion, err := parseOptions(args, stderr)
	var uerr usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &uerr):
		return 2 // the flag package has printed the error and the usage
	case err != nil:
		fatalf(stderr, "%s", err)
		return 1
	case showVersion:
		fmt.Fprintln(stdout, lookup.VersionString())
		return 0
	}
	if opts.LogOutput == nil {
		opts.LogOutput = stderr
	}
	l, err := lookup.New(opts)
	if err != nil {
		fatalf(stderr, "failed to instantiate nsqlookupd - %s", err)
		return 1
	}
	if err := l.Main(); err != nil {
		fatalf(stderr, "failed to instantiate nsqlookupd - %s", err)
		l.Exit()
		return 1
	}
	<-stop
	l.Exit()
	return 0
}

// fatalf writes a line as upstream's fatal log does:
// "[nsqlookupd] 2006/01/02 15:04:05.000000 FATAL: ...".
func fatalf(w io.Writer, format string, args ...any) {
	l := log.New(w, "[nsqlookupd] ", log.Ldate|log.Ltime|log.Lmicroseconds)
	l.Print("FATAL: " + fmt.Sprintf(format, args...))
}

// usageError is a command-line parse error; the flag package has already
// reported it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseOptions parses args (without the program name), then, unless
// --version was given, applies the config file named by --config to the
// options not given on the command line.
func parseOptions(args []string, stderr io.Writer) (opts *lookup.Options, showVersion bool, err error) {
	opts = lookup.NewOptions()
	var configFile string
	fs := newFlagSet(opts, &configFile, &showVersion)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, false, err
		}
		return nil, false, usageError{err}
	}
	if showVersion || configFile == "" {
		return opts, showVersion, nil
	}
	cfg := map[string]any{}
	if _, err := toml.DecodeFile(configFile, &cfg); err != nil {
		return nil, false, fmt.Errorf("failed to load config file %s - %w", configFile, err)
	}
	// As upstream, log_level is checked even when the flag overrides it.
	if v, ok := cfg["log_level"]; ok {
		if _, err := lookup.ParseLogLevel(fmt.Sprint(v)); err != nil {
			return nil, false, fmt.Errorf("failed parsing log_level %+v", v)
		}
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	for _, k := range configKeys(opts) {
		raw, ok := cfg[k.key]
		if !ok || explicit[k.flag] {
			continue
		}
		if err := k.set(raw); err != nil {
			return nil, false, fmt.Errorf("failed to load config file %s - %s: %w", configFile, k.key, err)
		}
	}
	return opts, false, nil
}

// newFlagSet defines every upstream nsqlookupd flag, bound to opts (whose
// values are the defaults), plus --config and --version. The help texts
// are ours; names, kinds and defaults are upstream's.
func newFlagSet(opts *lookup.Options, configFile *string, showVersion *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqlookupd", flag.ContinueOnError)
	fs.StringVar(configFile, "config", "", "path to a TOML config file (flags given on the command line override it)")
	fs.BoolVar(showVersion, "version", false, "print the version and exit")

	fs.Var((*logLevelFlag)(&opts.LogLevel), "log-level", "least severe level logged: debug, info, warn, error or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "text at the start of every log line")
	fs.Bool("verbose", false, "[deprecated] ignored; use --log-level")

	fs.StringVar(&opts.TCPAddress, "tcp-address", opts.TCPAddress, "<addr>:<port> where nsqd connect to register")
	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> of the HTTP API")
	fs.StringVar(&opts.BroadcastAddress, "broadcast-address", opts.BroadcastAddress, "address of this nsqlookupd as told to nsqd; defaults to the hostname")

	fs.DurationVar(&opts.InactiveProducerTimeout, "inactive-producer-timeout", opts.InactiveProducerTimeout, "how long after its last ping an nsqd stays in the lookup")
	fs.DurationVar(&opts.TombstoneLifetime, "tombstone-lifetime", opts.TombstoneLifetime, "how long a tombstoned producer stays out of the lookup")
	return fs
}

// logLevelFlag is --log-level.
type logLevelFlag lookup.LogLevel

func (f *logLevelFlag) String() string { return lookup.LogLevel(*f).String() }

func (f *logLevelFlag) Set(s string) error {
	l, err := lookup.ParseLogLevel(s)
	if err != nil {
		return err
	}
	*f = logLevelFlag(l)
	return nil
}

// configKey is one config-file key: the flag it stands for and how a
// decoded TOML value is stored.
type configKey struct {
	key, flag string
	set       func(raw any) error
}

// configKeys lists the keys upstream reads, bound to opts. Values are
// converted as go-options converts them: durations may be strings ("5m")
// or integers (milliseconds).
func configKeys(opts *lookup.Options) []configKey {
	return []configKey{
		{"log_level", "log-level", func(raw any) error {
			l, err := lookup.ParseLogLevel(fmt.Sprint(raw))
			opts.LogLevel = l
			return err
		}},
		{"log_prefix", "log-prefix", setString(&opts.LogPrefix)},
		{"tcp_address", "tcp-address", setString(&opts.TCPAddress)},
		{"http_address", "http-address", setString(&opts.HTTPAddress)},
		{"broadcast_address", "broadcast-address", setString(&opts.BroadcastAddress)},
		{"inactive_producer_timeout", "inactive-producer-timeout", setDuration(&opts.InactiveProducerTimeout)},
		{"tombstone_lifetime", "tombstone-lifetime", setDuration(&opts.TombstoneLifetime)},
	}
}

func setString(dst *string) func(any) error {
	return func(raw any) error {
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T %v", raw, raw)
		}
		*dst = s
		return nil
	}
}

func setDuration(dst *time.Duration) func(any) error {
	return func(raw any) error {
		switch r := raw.(type) {
		case string:
			d, err := time.ParseDuration(r)
			if err != nil {
				return fmt.Errorf("want a duration, got %s", strconv.Quote(r))
			}
			*dst = d
		case int64:
			*dst = time.Duration(r) * time.Millisecond
		default:
			return fmt.Errorf("want a duration (\"5m\") or milliseconds, got %T %v", raw, raw)
		}
		return nil
	}
}
