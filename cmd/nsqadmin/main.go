// Command nsqadmin is a drop-in replacement for NSQ v1.3.0's nsqadmin: the
// same flags with the same defaults, the same TOML config file, the same
// API; a web UI of our own, embedded in the binary.
//
// As upstream (mreiferson/go-options), a flag given on the command line
// wins, then the config file, then the default. Config keys are the flag
// names with '-' replaced by '_', except nsqlookupd_http_addresses,
// nsqd_http_addresses and admin_users; unknown keys are ignored.
package main

import (
	"flag"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/cmd/internal/app"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, stop))
}

// run is main without the process: it returns the exit status. It starts
// nsqadmin and blocks until stop delivers a signal.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	var opts *admin.Options
	return app.Run(app.Process{
		Name:    "nsqadmin",
		Version: admin.VersionString(),
		Parse: func() (showVersion bool, err error) {
			opts, showVersion, err = parseOptions(args, stderr)
			return showVersion, err
		},
		New: app.NewDaemon(func() (*admin.NSQAdmin, error) {
			if opts.LogOutput == nil {
				opts.LogOutput = stderr
			}
			return admin.New(opts)
		}),
	}, stdout, stderr, stop)
}

// parseOptions parses args (without the program name), then, unless
// --version was given, applies the config file named by --config to the
// options not given on the command line.
func parseOptions(args []string, stderr io.Writer) (opts *admin.Options, showVersion bool, err error) {
	// As upstream, log_level is checked even when the flag overrides it.
	return app.ParseOptions(args, stderr, admin.NewOptions, newFlagSet, "log_level")
}

// newFlagSet defines every upstream nsqadmin flag, bound to opts (whose
// values are the defaults), plus --config, --version and our chart
// options. The help texts are ours; names, kinds and defaults are
// upstream's.
func newFlagSet(opts *admin.Options, configFile *string, showVersion *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqadmin", flag.ContinueOnError)
	fs.StringVar(configFile, "config", "", "path to a TOML config file (flags given on the command line override it)")
	fs.BoolVar(showVersion, "version", false, "print the version and exit")

	fs.Var(&opts.LogLevel, "log-level", "least severe level logged: debug, info, warn, error or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "text at the start of every log line")
	fs.Bool("verbose", false, "[deprecated] ignored; use --log-level")

	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> of the web UI and its API")
	fs.StringVar(&opts.BasePath, "base-path", opts.BasePath, "URL path everything is served under (behind a proxy)")
	fs.StringVar(&opts.DevStaticDir, "dev-static-dir", opts.DevStaticDir, "(development) serve the UI's static files from this directory")

	fs.StringVar(&opts.GraphiteURL, "graphite-url", opts.GraphiteURL, "Graphite web server to draw statsd charts and rates from")
	fs.BoolVar(&opts.ProxyGraphite, "proxy-graphite", opts.ProxyGraphite, "let the browser reach Graphite through nsqadmin's /render")

	fs.StringVar(&opts.StatsdCounterFormat, "statsd-counter-format", opts.StatsdCounterFormat, "how the statsd daemon names counters in Graphite (%s is the key; empty for none)")
	fs.StringVar(&opts.StatsdGaugeFormat, "statsd-gauge-format", opts.StatsdGaugeFormat, "how the statsd daemon names gauges in Graphite (%s is the key; empty for none)")
	fs.StringVar(&opts.StatsdPrefix, "statsd-prefix", opts.StatsdPrefix, "nsqd's --statsd-prefix (%s stands for the nsqd's address)")
	fs.DurationVar(&opts.StatsdInterval, "statsd-interval", opts.StatsdInterval, "nsqd's --statsd-interval")

	fs.StringVar(&opts.NotificationHTTPEndpoint, "notification-http-endpoint", opts.NotificationHTTPEndpoint, "URL that receives a POST describing every admin action")

	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout of connections to nsqd, nsqlookupd and Graphite")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout of requests to nsqd, nsqlookupd and Graphite")

	fs.BoolVar(&opts.HTTPClientTLSInsecureSkipVerify, "http-client-tls-insecure-skip-verify", opts.HTTPClientTLSInsecureSkipVerify, "do not verify the certificates of HTTPS nsqd")
	fs.StringVar(&opts.HTTPClientTLSRootCAFile, "http-client-tls-root-ca-file", opts.HTTPClientTLSRootCAFile, "CA file to verify HTTPS nsqd with")
	fs.StringVar(&opts.HTTPClientTLSCert, "http-client-tls-cert", opts.HTTPClientTLSCert, "client certificate for HTTPS nsqd")
	fs.StringVar(&opts.HTTPClientTLSKey, "http-client-tls-key", opts.HTTPClientTLSKey, "key of --http-client-tls-cert")

	fs.StringVar(&opts.AllowConfigFromCIDR, "allow-config-from-cidr", opts.AllowConfigFromCIDR, "CIDR allowed to call /config")
	fs.StringVar(&opts.ACLHTTPHeader, "acl-http-header", opts.ACLHTTPHeader, "request header naming the authenticated user, for --admin-user")

	fs.Var((*stringsFlag)(&opts.NSQLookupdHTTPAddresses), "lookupd-http-address", "nsqlookupd HTTP address (repeatable)")
	fs.Var((*stringsFlag)(&opts.NSQDHTTPAddresses), "nsqd-http-address", "nsqd HTTP address, instead of nsqlookupd (repeatable)")
	fs.Var((*stringsFlag)(&opts.AdminUsers), "admin-user", "user allowed to act (create, pause, empty, delete, tombstone); repeatable; if none is given, everyone may")

	// ours
	fs.DurationVar(&opts.SampleInterval, "chart-sample-interval", opts.SampleInterval, "how often nsqadmin reads every nsqd's /stats for its live charts (0 turns them off)")
	fs.DurationVar(&opts.SampleHistory, "chart-history", opts.SampleHistory, "how far back the live charts go")
	return fs
}

// stringsFlag appends one value per use; as upstream, commas are not split.
type stringsFlag []string

func (f *stringsFlag) String() string { return strings.Join(*f, ",") }

func (f *stringsFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}
