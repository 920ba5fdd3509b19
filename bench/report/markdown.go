package report

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Markdown renders the report: how it was run, the table, the charts (by
// file name, as written by Write), and every error, skip, note and profile.
func (r *Report) Markdown(charts []Chart) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# nsq_bench report\n\n")
	w("- started %s, took %s\n", r.Started.Format("2006-01-02 15:04:05 MST"), r.Finished.Sub(r.Started).Round(1e9))
	m := r.Machine
	w("- machine: %d CPUs", m.CPUs)
	if m.CPUModel != "" {
		w(" (%s)", m.CPUModel)
	}
	if m.MemMiB > 0 {
		w(", %.1f GiB RAM", float64(m.MemMiB)/1024)
	}
	if m.Kernel != "" {
		w(", Linux %s", m.Kernel)
	}
	w(", %s", m.GoVersion)
	if m.LoadAvg != "" {
		w("; load average at start %s", m.LoadAvg)
	}
	w("\n")
	if len(r.Command) > 0 {
		w("- command: `%s`\n", strings.Join(r.Command, " "))
	}
	if len(r.Params) > 0 {
		w("- parameters (0 = the scenario's default): `%s`\n", r.Params)
	}
	if r.Rounds > 1 {
		order := make([]string, len(r.Brokers))
		for i, b := range r.Brokers {
			order[i] = b.Name
		}
		w("- %d rounds, brokers alternating (%s, %s, ...), each run on a fresh data path\n", r.Rounds, strings.Join(order, ", "), strings.Join(order, ", "))
	}
	w("\n| broker | binary or address | version | flags |\n|---|---|---|---|\n")
	for _, br := range r.Brokers {
		where := br.Binary
		if where == "" {
			where = br.Address
		}
		w("| %s | `%s` | %s | `%s` |\n", br.Name, where, br.Version, strings.Join(br.Args, " "))
	}

	w("\n## Results\n\n")
	if len(r.Brokers) == 2 {
		a, bn := r.Brokers[0].Name, r.Brokers[1].Name
		w("Each cell is the median over the rounds, with [min–max]. %s/%s is the ratio of the medians; the verdict says which is better, or \"within noise\" when the two ranges overlap or the medians differ by less than 2%% (there is none with a single round).\n\n", a, bn)
		w("| scenario | figure | unit | %s | %s | %s/%s | verdict |\n|---|---|---|--:|--:|--:|---|\n", a, bn, a, bn)
		for _, row := range r.Summary {
			ratio := ""
			if row.Ratio != 0 {
				ratio = strconv.FormatFloat(row.Ratio, 'f', 2, 64)
			}
			w("| %s | %s | %s | %s | %s | %s | %s |\n", row.Scenario, row.Figure, row.Unit, row.Stats[0], row.Stats[1], ratio, row.Verdict)
		}
	} else {
		if r.Rounds > 1 {
			w("Each value is the median over the rounds, with [min–max].\n\n")
		}
		w("| scenario | figure | value | unit |\n|---|---|--:|---|\n")
		for _, row := range r.Summary {
			c := ""
			if len(row.Stats) > 0 {
				c = row.Stats[0].String()
			}
			w("| %s | %s | %s | %s |\n", row.Scenario, row.Figure, c, row.Unit)
		}
	}

	if len(charts) > 0 {
		w("\n## Charts\n")
		last := ""
		for _, c := range charts {
			if c.Scenario != last {
				w("\n### %s\n\n", c.Scenario)
				last = c.Scenario
			}
			w("![%s](%s)\n", c.Title, c.File)
		}
	}

	var notes []string
	var profiles []string
	for _, run := range r.Runs {
		tag := fmt.Sprintf("%s on %s, round %d", run.Scenario, run.Broker, run.Round)
		if run.Error != "" {
			notes = append(notes, fmt.Sprintf("**%s failed**: %s", tag, run.Error))
		}
		if run.Skipped != "" {
			notes = append(notes, fmt.Sprintf("%s skipped: %s", tag, run.Skipped))
		}
		if run.Result != nil {
			for _, n := range run.Result.Notes {
				notes = append(notes, tag+": "+n)
			}
		}
		for _, n := range run.Notes {
			notes = append(notes, tag+": "+n)
		}
		profiles = append(profiles, run.Profiles...)
	}
	if len(notes) > 0 {
		w("\n## Notes\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
	}
	if len(profiles) > 0 {
		w("\n## Profiles\n\nOpen one with `go tool pprof -http=: <file>` (see docs/PROFILING.md).\n\n")
		for _, p := range profiles {
			w("- [%s](%s)\n", p, p)
		}
	}
	return b.Bytes()
}

// String formats s: the median, and [min–max] when there are several
// values that differ.
func (s Stat) String() string {
	switch {
	case len(s.Values) == 0:
		return "–"
	case len(s.Values) == 1 || s.Min == s.Max:
		return Num(s.Median)
	default:
		return fmt.Sprintf("%s [%s–%s]", Num(s.Median), Num(s.Min), Num(s.Max))
	}
}

// Num formats a figure: thousands separated above 1000, three significant
// digits below.
func Num(v float64) string {
	if math.Abs(v) >= 1000 {
		s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var out []byte
		for i, c := range []byte(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, c)
		}
		if neg {
			return "-" + string(out)
		}
		return string(out)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
