package nsqtool

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/nsqio/go-nsq"
)

// Version is the NSQ release the utilities behave as.
const Version = "1.3.0"

// VersionLine is what --version prints: "<tool> v1.3.0".
func VersionLine(tool string) string { return tool + " v" + Version }

// UserAgent is the user agent a tool's go-nsq connections report:
// "<tool>/1.3.0 go-nsq/1.1.0".
func UserAgent(tool string) string {
	return fmt.Sprintf("%s/%s go-nsq/%s", tool, Version, nsq.VERSION)
}

// StringArray is a flag that may be given several times; each value is
// appended. Not safe for concurrent use.
type StringArray []string

// String joins the values with commas.
func (a *StringArray) String() string { return strings.Join(*a, ",") }

// Set appends s.
func (a *StringArray) Set(s string) error {
	*a = append(*a, s)
	return nil
}

// Get returns the values (flag.Getter).
func (a *StringArray) Get() any { return []string(*a) }

// ConfigFlag returns a flag.Value that applies each "key,value" (or
// "key", meaning true) to cfg through go-nsq's Config.Set, as upstream's
// --consumer-opt and --producer-opt do: an unknown key or a bad value is a
// command-line error.
func ConfigFlag(cfg *nsq.Config) flag.Value { return &nsq.ConfigFlag{Config: cfg} }

// NewFlagSet returns a flag set named after the tool that reports errors
// and usage to stderr and does not exit.
func NewFlagSet(tool string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(tool, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args into fs. When it returns ok false, the tool must exit
// with code: 0 for -h, 2 for a bad command line (the flag package has
// already printed the error and the usage), as flag.ExitOnError would.
func Parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		return 0, false
	default:
		return 2, false
	}
}

// NewLogger is the logger of a tool: stderr with date and time, as the
// standard library's default logger that upstream's tools write to.
func NewLogger(stderr io.Writer) *log.Logger { return log.New(stderr, "", log.LstdFlags) }

// Failf logs a fatal error and returns 1, the exit status that goes with
// it: `return nsqtool.Failf(l, "...")` in place of upstream's log.Fatalf.
func Failf(l *log.Logger, format string, args ...any) int {
	l.Printf(format, args...)
	return 1
}

// CheckSources checks that exactly one of the two source lists is
// given: nsqd addresses (named by nsqdFlag) or nsqlookupd HTTP addresses.
func CheckSources(nsqdFlag string, nsqd, lookupd []string) error {
	switch {
	case len(nsqd) == 0 && len(lookupd) == 0:
		return fmt.Errorf("--%s or --lookupd-http-address required", nsqdFlag)
	case len(nsqd) > 0 && len(lookupd) > 0:
		return fmt.Errorf("use --%s or --lookupd-http-address not both", nsqdFlag)
	}
	return nil
}
