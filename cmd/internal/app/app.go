// Package app is the command-line scaffolding the daemons share (nsqd,
// nsqlookupd, nsqadmin): upstream's --config TOML file resolved against
// flags as mreiferson/go-options resolves it, FATAL lines, --version.
//
// Options structs name their flag and config key in struct tags:
// `flag:"tcp-address" cfg:"tcp_address"` (cfg defaults to the flag name
// with '-' replaced by '_'). A flag given on the command line wins over
// the config file, which wins over the default; config keys that name no
// field are ignored.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// UsageError is a flag error that the flag package already reported.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Setter is implemented by option types with their own syntax (log levels,
// TLS versions...): config values are converted with fmt.Sprint and Set.
type Setter interface{ Set(string) error }

// Parse parses args with fs, then, unless *version is set or *config is
// empty, loads the TOML file *config and applies it to opts (a pointer to
// a tagged Options struct) for every option whose flag was not given.
// Keys in checked are validated (with upstream's "failed parsing <key>"
// error) even when the command line overrides them, as upstream does.
// Flag errors are reported by fs and returned as UsageError (or
// flag.ErrHelp).
func Parse(fs *flag.FlagSet, args []string, config *string, version *bool, opts any, checked ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	// Upstream ignores arguments after the flags; so does this.
	if *version || *config == "" {
		return nil
	}
	cfg := map[string]any{}
	if _, err := toml.DecodeFile(*config, &cfg); err != nil {
		return fmt.Errorf("failed to load config file %s - %w", *config, err)
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if err := ApplyConfig(opts, cfg, explicit, checked...); err != nil {
		return err
	}
	return nil
}

// ConfigKey is the config file key of an Options field: its cfg tag, or
// else its flag name with '-' replaced by '_' (upstream's rule).
func ConfigKey(f reflect.StructField) string {
	if k := f.Tag.Get("cfg"); k != "" {
		return k
	}
	return strings.ReplaceAll(f.Tag.Get("flag"), "-", "_")
}

// ApplyConfig sets each tagged field of opts from its key in cfg (as
// decoded by BurntSushi/toml), unless its flag is in explicit.
func ApplyConfig(opts any, cfg map[string]any, explicit map[string]bool, checked ...string) error {
	v := reflect.ValueOf(opts).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		key := ConfigKey(f)
		raw, ok := cfg[key]
		if !ok {
			continue
		}
		dst := v.Field(i).Addr().Interface()
		if explicit[name] {
			if !contains(checked, key) {
				continue
			}
			dst = reflect.New(f.Type).Interface() // check, then discard
		}
		if err := SetFromConfig(dst, raw); err != nil {
			if contains(checked, key) {
				return fmt.Errorf("failed parsing %s %+v", key, raw)
			}
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SetFromConfig converts a decoded TOML value as go-options does and stores
// it in *dst: durations may be strings ("2s") or integers (milliseconds);
// numbers and booleans may also be strings; lists may be a comma-separated
// string; types with a Set method parse fmt.Sprint(raw).
func SetFromConfig(dst, raw any) error {
	switch p := dst.(type) {
	case *string:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T %v", raw, raw)
		}
		*p = s
	case *bool:
		switch r := raw.(type) {
		case bool:
			*p = r
		case string:
			b, err := strconv.ParseBool(r)
			if err != nil {
				return fmt.Errorf("want a boolean, got %q", r)
			}
			*p = b
		case int64:
			// go-options maps 0 to true and any other integer to false.
			// It looks like a bug, but a config file that relies on it
			// must keep meaning the same thing here.
			*p = r == 0
		default:
			return fmt.Errorf("want a boolean, got %T %v", raw, raw)
		}
	case *int:
		n, err := configInt(raw)
		if err != nil {
			return err
		}
		*p = int(n)
	case *int64:
		n, err := configInt(raw)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		switch r := raw.(type) {
		case string:
			d, err := time.ParseDuration(r)
			if err != nil {
				return fmt.Errorf("want a duration, got %q", r)
			}
			*p = d
		case int64:
			*p = time.Duration(r) * time.Millisecond
		default:
			return fmt.Errorf("want a duration (\"2s\") or milliseconds, got %T %v", raw, raw)
		}
	case *[]string:
		switch r := raw.(type) {
		case string:
			*p = []string{}
			for _, s := range strings.Split(r, ",") {
				if s = strings.TrimSpace(s); s != "" {
					*p = append(*p, s)
				}
			}
		case []any:
			list := make([]string, 0, len(r))
			for _, e := range r {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("want a list of strings, got an element %T %v", e, e)
				}
				list = append(list, s)
			}
			*p = list
		default:
			return fmt.Errorf("want a list of strings, got %T %v", raw, raw)
		}
	case *[]float64:
		// Unlike a flag, upstream does not sort values from the file.
		switch r := raw.(type) {
		case string:
			list, err := ParseFloatList(r)
			if err != nil {
				return err
			}
			*p = list
		case []any:
			list := make([]float64, 0, len(r))
			for _, e := range r {
				switch n := e.(type) {
				case float64:
					list = append(list, n)
				case int64:
					list = append(list, float64(n))
				default:
					return fmt.Errorf("want a list of numbers, got an element %T %v", e, e)
				}
			}
			*p = list
		default:
			return fmt.Errorf("want a list of numbers, got %T %v", raw, raw)
		}
	case Setter:
		return p.Set(fmt.Sprint(raw))
	default:
		return fmt.Errorf("cannot set a field of type %T from the config file", dst)
	}
	return nil
}

func configInt(raw any) (int64, error) {
	switch r := raw.(type) {
	case int64:
		return r, nil
	case string:
		n, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", r)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %T %v", raw, raw)
}

// ParseFloatList parses "0.99,0.5" (upstream's percentile list syntax).
func ParseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", part)
		}
		out = append(out, v)
	}
	return out, nil
}

// Fatalf writes one of upstream's FATAL lines, e.g.
// "[nsqd] 2006/01/02 15:04:05.000000 FATAL: ...".
func Fatalf(w io.Writer, prefix, format string, args ...any) {
	l := log.New(w, prefix, log.Ldate|log.Ltime|log.Lmicroseconds)
	l.Printf("FATAL: "+format, args...)
}

// SplitErrors undoes errors.Join, so each problem gets its own line.
func SplitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// VersionString is upstream's --version line, e.g.
// "nsqd v1.3.0 (built w/go1.26.1)".
func VersionString(app, version string) string {
	return fmt.Sprintf("%s v%s (built w/%s)", app, version, runtime.Version())
}

// Daemon is a server Run starts and stops: nsqd, nsqlookupd, nsqadmin.
type Daemon interface {
	Main() error // start listening; return once started
	Exit()       // stop
}

// ParseOptions makes a daemon's options with newOpts, defines its flags
// with newFlagSet (which binds --config and --version to the two pointers
// it is given) and parses args as Parse does, flag errors to stderr.
func ParseOptions[O any](args []string, stderr io.Writer, newOpts func() *O, newFlagSet func(*O, *string, *bool) *flag.FlagSet, checked ...string) (opts *O, showVersion bool, err error) {
	opts = newOpts()
	var configFile string
	fs := newFlagSet(opts, &configFile, &showVersion)
	fs.SetOutput(stderr)
	if err := Parse(fs, args, &configFile, &showVersion, opts, checked...); err != nil {
		return nil, false, err
	}
	return opts, showVersion, nil
}

// NewDaemon adapts a constructor of a concrete daemon type to Process.New,
// so that a failed constructor's typed nil does not become a non-nil
// Daemon.
func NewDaemon[D Daemon](newD func() (D, error)) func() (Daemon, error) {
	return func() (Daemon, error) {
		d, err := newD()
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}

// Process describes one daemon to Run.
type Process struct {
	// Name is the daemon's name: its FATAL lines start "[Name] ".
	Name string
	// Version is the line --version prints.
	Version string
	// StartFailed prefixes a Main error in its FATAL line (upstream's
	// wording differs between daemons).
	StartFailed string
	// Parse parses the command line and config file (see Parse).
	Parse func() (showVersion bool, err error)
	// New validates the options and creates the daemon; each error joined
	// into its error gets a FATAL line of its own.
	New func() (Daemon, error)
}

// Run is a daemon's main without the process: it parses, answers
// --version and -h, creates and starts the daemon, blocks until stop
// delivers a signal, stops it, and returns the exit status: 0, 1 for a
// fatal error, 2 for a command-line error (already reported).
func Run(p Process, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	prefix := "[" + p.Name + "] "
	showVersion, err := p.Parse()
	var uerr UsageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &uerr):
		return 2 // the flag package has printed the error and the usage
	case err != nil:
		Fatalf(stderr, prefix, "%s", err)
		return 1
	case showVersion:
		fmt.Fprintln(stdout, p.Version)
		return 0
	}
	d, err := p.New()
	if err != nil {
		for _, e := range SplitErrors(err) {
			Fatalf(stderr, prefix, "failed to instantiate %s - %s", p.Name, e)
		}
		return 1
	}
	if err := d.Main(); err != nil {
		Fatalf(stderr, prefix, "%s%s", p.StartFailed, err)
		d.Exit()
		return 1
	}
	<-stop
	d.Exit()
	return 0
}
