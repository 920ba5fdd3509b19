package report

import (
	"bytes"
	"fmt"
	"math"
)

// Bar is one bar of BarChart.
type Bar struct {
	Label string
	// Value is the bar's length; Low and High, when set, a whisker around
	// it; Mark, when set, a target drawn as a black tick.
	Value, Low, High, Mark float64
	// OK colours the bar green (met), else red.
	OK bool
}

// BarChart renders horizontal bars on a log scale with a line at 1 (a
// factor chart: 1 is "as good as", right of it is better) as a standalone
// SVG document.
func BarChart(title, xlabel string, bars []Bar) []byte {
	const (
		w, rowH, left, right, top = 760, 34, 90, 40, 48
	)
	h := top + rowH*len(bars) + 50
	pw := float64(w - left - right)
	lo, hi := 1.0, 1.0
	for _, b := range bars {
		for _, v := range []float64{b.Value, b.Low, b.High, b.Mark} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	sx := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return float64(left) + (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*pw
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(title))
	bottom := top + rowH*len(bars)
	for d := lo; d <= hi*1.0001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v > hi*1.0001 {
				break
			}
			x := sx(v)
			stroke := "#e5e5e5"
			if v == 1 {
				stroke = "#888"
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", x, top-6, x, bottom, stroke)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s×</text>`+"\n", x, bottom+16, human(v))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+int(pw)/2, h-12, esc(xlabel))
	for i, bar := range bars {
		y := float64(top + rowH*i)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+rowH/2+4, esc(bar.Label))
		if bar.Value > 0 {
			color := "#d62728"
			if bar.OK {
				color = "#2ca02c"
			}
			x0, x1 := sx(math.Min(1, bar.Value)), sx(math.Max(1, bar.Value))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="0.75"/>`+"\n", x0, y+6, math.Max(x1-x0, 1), rowH-12, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%.2f×</text>`+"\n", math.Min(sx(math.Max(bar.Value, bar.High))+6, float64(w-right)), y+rowH/2+4, bar.Value)
		}
		if bar.Low > 0 && bar.High > 0 {
			ym := y + rowH/2
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-width="1.5"/>`+"\n", sx(bar.Low), ym, sx(bar.High), ym)
			for _, v := range []float64{bar.Low, bar.High} {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-width="1.5"/>`+"\n", sx(v), ym-5, sx(v), ym+5)
			}
		}
		if bar.Mark > 0 {
			x := sx(bar.Mark)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="3"/>`+"\n", x, y+2, x, y+rowH-2)
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
