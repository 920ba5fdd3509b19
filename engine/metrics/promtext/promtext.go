// Package promtext writes the Prometheus text exposition format (version
// 0.0.4), the answer of a /metrics endpoint, with the standard library
// only: no registry, no collectors, no global state. A handler builds the
// whole answer on each scrape from the numbers it already has.
//
// Writer is append-style: Family starts a metric family (its HELP and TYPE
// lines), Sample adds one line, Summary the lines of one summary. The
// caller groups each family's samples together, as the format requires.
// GoRuntime and Process add the usual go_* and process_* families.
//
// A Writer is not safe for concurrent use.
package promtext

import (
	"math"
	"net/http"
	"strconv"
)

// ContentType is the Content-Type of the format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric types, as the TYPE line names them.
const (
	Counter = "counter"
	Gauge   = "gauge"
	Summary = "summary"
	Untyped = "untyped"
)

// Writer accumulates an exposition in memory. The zero value is ready.
type Writer struct {
	buf []byte
}

// Bytes returns what has been written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset empties w, keeping its buffer.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

// Family starts a metric family: its HELP and TYPE lines. Every sample of
// the family must follow before the next Family.
func (w *Writer) Family(name, typ, help string) {
	w.buf = append(w.buf, "# HELP "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = appendEscaped(w.buf, help, false)
	w.buf = append(w.buf, "\n# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, typ...)
	w.buf = append(w.buf, '\n')
}

// Sample writes one sample line. labels are name, value pairs; an odd
// trailing name is ignored.
func (w *Writer) Sample(name string, value float64, labels ...string) {
	w.buf = append(w.buf, name...)
	w.buf = appendLabels(w.buf, labels, "", "")
	w.buf = append(w.buf, ' ')
	w.buf = AppendValue(w.buf, value)
	w.buf = append(w.buf, '\n')
}

// Quantile is one quantile of a summary.
type Quantile struct {
	Quantile float64
	Value    float64
}

// Summary writes the samples of one summary: a line per quantile (with a
// "quantile" label after labels), then name_sum and name_count.
func (w *Writer) Summary(name string, quantiles []Quantile, sum float64, count uint64, labels ...string) {
	var q [32]byte
	for _, x := range quantiles {
		w.buf = append(w.buf, name...)
		w.buf = appendLabels(w.buf, labels, "quantile", string(strconv.AppendFloat(q[:0], x.Quantile, 'g', -1, 64)))
		w.buf = append(w.buf, ' ')
		w.buf = AppendValue(w.buf, x.Value)
		w.buf = append(w.buf, '\n')
	}
	w.Sample(name+"_sum", sum, labels...)
	w.Sample(name+"_count", float64(count), labels...)
}

// appendLabels writes {a="x",b="y"} (nothing when there are no labels),
// with extraName="extraValue" last when extraName is not empty.
func appendLabels(dst []byte, labels []string, extraName, extraValue string) []byte {
	if len(labels) < 2 && extraName == "" {
		return dst
	}
	dst = append(dst, '{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLabel(dst, labels[i], labels[i+1])
	}
	if extraName != "" {
		if len(labels) >= 2 {
			dst = append(dst, ',')
		}
		dst = appendLabel(dst, extraName, extraValue)
	}
	return append(dst, '}')
}

func appendLabel(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, '=', '"')
	dst = appendEscaped(dst, value, true)
	return append(dst, '"')
}

// appendEscaped escapes a backslash and a newline (HELP text), and a
// double quote too in a label value.
func appendEscaped(dst []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '"' && quote:
			dst = append(dst, '\\', '"')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendValue appends a sample value: integers exactly as integers, other
// values in the shortest form that reads back the same, and +Inf, -Inf,
// NaN as the format spells them.
func AppendValue(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// Handler serves an exposition built by fill on each GET.
func Handler(fill func(w *Writer)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		var w Writer
		fill(&w)
		rw.Header().Set("Content-Type", ContentType)
		_, _ = rw.Write(w.Bytes())
	})
}
