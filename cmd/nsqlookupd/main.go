// Command nsqlookupd is a drop-in replacement for NSQ v1.3.0's nsqlookupd:
// the same flags with the same defaults, and the same TOML config file.
//
// As upstream (mreiferson/go-options), a flag given on the command line
// wins, then the config file, then the default. Config keys are the flag
// names with '-' replaced by '_'; unknown keys are ignored.
package main

import (
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nsqfast/nsq/cmd/internal/app"
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
	var opts *lookup.Options
	return app.Run(app.Process{
		Name:        "nsqlookupd",
		Version:     lookup.VersionString(),
		StartFailed: "failed to instantiate nsqlookupd - ",
		Parse: func() (showVersion bool, err error) {
			opts, showVersion, err = parseOptions(args, stderr)
			return showVersion, err
		},
		New: app.NewDaemon(func() (*lookup.NSQLookupd, error) {
			if opts.LogOutput == nil {
				opts.LogOutput = stderr
			}
			return lookup.New(opts)
		}),
	}, stdout, stderr, stop)
}

// parseOptions parses args (without the program name), then, unless
// --version was given, applies the config file named by --config to the
// options not given on the command line.
func parseOptions(args []string, stderr io.Writer) (opts *lookup.Options, showVersion bool, err error) {
	// As upstream, log_level is checked even when the flag overrides it.
	return app.ParseOptions(args, stderr, lookup.NewOptions, newFlagSet, "log_level")
}

// newFlagSet defines every upstream nsqlookupd flag, bound to opts (whose
// values are the defaults), plus --config and --version. The help texts
// are ours; names, kinds and defaults are upstream's.
func newFlagSet(opts *lookup.Options, configFile *string, showVersion *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqlookupd", flag.ContinueOnError)
	fs.StringVar(configFile, "config", "", "path to a TOML config file (flags given on the command line override it)")
	fs.BoolVar(showVersion, "version", false, "print the version and exit")

	fs.Var(&opts.LogLevel, "log-level", "least severe level logged: debug, info, warn, error or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "text at the start of every log line")
	fs.Bool("verbose", false, "[deprecated] ignored; use --log-level")

	fs.StringVar(&opts.TCPAddress, "tcp-address", opts.TCPAddress, "<addr>:<port> where nsqd connect to register")
	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> of the HTTP API")
	fs.StringVar(&opts.BroadcastAddress, "broadcast-address", opts.BroadcastAddress, "address of this nsqlookupd as told to nsqd; defaults to the hostname")

	fs.DurationVar(&opts.InactiveProducerTimeout, "inactive-producer-timeout", opts.InactiveProducerTimeout, "how long after its last ping an nsqd stays in the lookup")
	fs.DurationVar(&opts.TombstoneLifetime, "tombstone-lifetime", opts.TombstoneLifetime, "how long a tombstoned producer stays out of the lookup")
	return fs
}
