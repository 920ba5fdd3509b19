package report

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
)

// line is one series of a plot.
type line struct {
	name string
	x, y []float64
	dash bool
}

// plot is a line chart rendered as a standalone SVG document.
type plot struct {
	title, xlabel, ylabel string
	lines                 []line
	// xPercentile: x values are -log10(1-q), labelled as percentiles.
	xPercentile bool
	yLog        bool
	// xLog puts x on a log scale, ticked at xticks (default: whole
	// decades) and labelled by xfmt (default human); markers draws a dot
	// at every point (sparse curves: a sweep's few sizes).
	xLog    bool
	xticks  []float64
	xfmt    func(float64) string
	markers bool
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"}

const (
	svgW, svgH                 = 760, 420
	padL, padR, padT, padB     = 78, 44, 42, 58
	plotW, plotH               = svgW - padL - padR, svgH - padT - padB
	legendRow, legendMaxPerCol = 16, 8
)

func (p plot) svg() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(p.title))

	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, l := range p.lines {
		for i := range l.x {
			if (p.yLog && l.y[i] <= 0) || (p.xLog && l.x[i] <= 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, l.x[i]), math.Max(xmax, l.x[i])
			ymin, ymax = math.Min(ymin, l.y[i]), math.Max(ymax, l.y[i])
		}
	}
	if math.IsInf(xmin, 0) {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data</text></svg>`+"\n", padL, padT+plotH/2)
		return b.Bytes()
	}
	if p.xLog {
		if xmax <= xmin {
			xmax = xmin * 10
		}
	} else {
		xmin = 0
		if xmax <= xmin {
			xmax = xmin + 1
		}
	}
	var yticks []float64
	if p.yLog {
		// Whole decades, at most 12 of them below the maximum.
		ymax = math.Pow(10, math.Ceil(math.Log10(ymax)))
		ymin = math.Max(math.Pow(10, math.Floor(math.Log10(ymin))), ymax/1e12)
		if math.IsInf(ymax, 0) || !(ymin > 0) {
			ymin, ymax = 1, 10
		}
		if ymax <= ymin {
			ymax = ymin * 10
		}
		for d := ymin; d <= ymax*1.0001; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if v := d * m; v <= ymax*1.0001 {
					yticks = append(yticks, v)
				}
			}
		}
	} else {
		ymin = 0
		if ymax <= 0 {
			ymax = 1
		}
		yticks = niceTicks(0, ymax*1.05, 6)
		ymax = yticks[len(yticks)-1]
	}
	var xticks []float64
	switch {
	case p.xLog:
		xticks = p.xticks
		if len(xticks) == 0 {
			for d := math.Pow(10, math.Floor(math.Log10(xmin))); d <= xmax*1.0001; d *= 10 {
				xticks = append(xticks, d)
			}
		}
		// A margin of a sixteenth of the span on each side, so the first
		// and last points are not on the frame.
		m := (math.Log10(xmax) - math.Log10(xmin)) / 16
		xmin, xmax = xmin/math.Pow(10, m), xmax*math.Pow(10, m)
	case p.xPercentile:
		xmax = math.Min(math.Ceil(xmax), 9)
		for t := 0.0; t <= xmax; t++ {
			xticks = append(xticks, t)
		}
	default:
		xticks = niceTicks(0, xmax, 8)
		xmax = xticks[len(xticks)-1]
	}
	sx := func(x float64) float64 {
		if p.xLog {
			return padL + (math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*plotW
		}
		return padL + (x-xmin)/(xmax-xmin)*plotW
	}
	sy := func(y float64) float64 {
		if p.yLog {
			y = math.Max(y, ymin)
			return padT + plotH - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*plotH
		}
		return padT + plotH - (y-ymin)/(ymax-ymin)*plotH
	}

	// Grid and ticks.
	for _, t := range yticks {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y+4, human(t))
	}
	for _, t := range xticks {
		if p.xLog && (t < xmin || t > xmax) {
			continue
		}
		x := sx(t)
		label := human(t)
		switch {
		case p.xPercentile:
			label = percentileLabel(t)
		case p.xfmt != nil:
			label = p.xfmt(t)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x, padT, x, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, padT+plotH+16, label)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, svgH-14, esc(p.xlabel))
	fmt.Fprintf(&b, `<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, esc(p.ylabel))

	// Lines.
	for i, l := range p.lines {
		color := palette[i%len(palette)]
		dash := ""
		if l.dash {
			dash = ` stroke-dasharray="6,3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="`, color, dash)
		var dots bytes.Buffer
		for j := range l.x {
			if (p.yLog && l.y[j] <= 0) || (p.xLog && l.x[j] <= 0) {
				continue
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", sx(l.x[j]), sy(l.y[j]))
			if p.markers {
				fmt.Fprintf(&dots, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", sx(l.x[j]), sy(l.y[j]), color)
			}
		}
		b.WriteString("\"/>\n")
		b.Write(dots.Bytes())
	}
	// Legend, top left inside the plot.
	for i, l := range p.lines {
		col, row := i/legendMaxPerCol, i%legendMaxPerCol
		x := padL + 10 + col*220
		y := padT + 14 + row*legendRow
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`, x, y-4, x+18, y-4, palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+24, y, esc(l.name))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func esc(s string) string { return html.EscapeString(s) }

// percentileLabel labels t = -log10(1-q): 0 -> 0%, 1 -> 90%, 2 -> 99%, 3 -> 99.9%.
func percentileLabel(t float64) string {
	if t == 0 {
		return "0%"
	}
	q := 100 * (1 - math.Pow(10, -t))
	return strconv.FormatFloat(q, 'f', max(int(t)-2, 0), 64) + "%"
}

// niceTicks returns about n round tick values covering [lo, hi]. For a
// range it cannot divide (zero, denormal or not finite) it returns the two
// ends.
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if !(step > 0) || math.IsInf(step, 0) || math.IsInf(span, 0) || span/step > float64(4*n) {
		return []float64{lo, lo + span}
	}
	var ticks []float64
	for v := math.Floor(lo/step) * step; len(ticks) <= 4*n; v += step {
		ticks = append(ticks, v)
		if v >= hi-1e-9*step {
			break
		}
	}
	return ticks
}

// human formats v briefly: 1.5M, 250k, 12.5, 0.25.
func human(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a == 0:
		return "0"
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func trim(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// Line is one series of a LineChart.
type Line struct {
	Name string
	X, Y []float64
	// Dash draws the line dashed (a second figure of the same broker).
	Dash bool
}

// LineChart is a line chart of a few points per line, as a scaling sweep
// draws: x on a log scale (ticked at XTicks, labelled by XFormat), y
// linear or logarithmic, a dot at every point.
type LineChart struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	// XTicks are the x values to label (default: whole decades).
	XTicks []float64
	// XFormat labels an x tick (default: 1.5M, 250k, 12.5).
	XFormat func(float64) string
	YLog    bool
}

// SVG renders c as a standalone SVG document.
func (c LineChart) SVG() []byte {
	p := plot{title: c.Title, xlabel: c.XLabel, ylabel: c.YLabel, yLog: c.YLog,
		xLog: true, xticks: c.XTicks, xfmt: c.XFormat, markers: true}
	for _, l := range c.Lines {
		p.lines = append(p.lines, line{name: l.Name, x: l.X, y: l.Y, dash: l.Dash})
	}
	return p.svg()
}
