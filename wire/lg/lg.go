// Package lg is upstream NSQ's log levels as they show at its surfaces:
// the names --log-level and config files accept, the labels in front of
// log lines, and the numbers GET /config/log_level answers. Every daemon
// and tool shares this one type. Safe for concurrent use (values only).
package lg

import (
	"fmt"
	"strings"
)

// Level is the least severe level logged; the values are upstream's.
type Level int

// Levels, least severe first.
const (
	Debug Level = iota + 1
	Info
	Warn
	Error
	Fatal
)

// names holds, by level, the name Parse accepts and the label upstream
// puts in front of log lines.
var names = [...]struct{ name, label string }{
	Debug: {"debug", "DEBUG"},
	Info:  {"info", "INFO"},
	Warn:  {"warn", "WARNING"},
	Error: {"error", "ERROR"},
	Fatal: {"fatal", "FATAL"},
}

// Parse accepts debug, info, warn, error or fatal, in any case.
func Parse(s string) (Level, error) {
	lower := strings.ToLower(s)
	for l := Debug; l <= Fatal; l++ {
		if lower == names[l].name {
			return l, nil
		}
	}
	return 0, fmt.Errorf("invalid log level '%s' (debug, info, warn, error, fatal)", s)
}

// Valid reports whether l is one of the five levels.
func (l Level) Valid() bool { return l >= Debug && l <= Fatal }

// String is the log-line label: DEBUG, INFO, WARNING, ERROR or FATAL
// ("invalid" for anything else).
func (l Level) String() string {
	if !l.Valid() {
		return "invalid"
	}
	return names[l].label
}

// Set parses s (flag.Value, and config files through cmd/internal/app).
func (l *Level) Set(s string) error {
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}
