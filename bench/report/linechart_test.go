package report

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
)

// TestLineChartLogX: points on a log x axis are spaced by their ratio
// (1, 10, 100 equally apart), ticked where asked with the given labels,
// one dot per point; x <= 0 and, on a log y axis, y <= 0 are left out.
func TestLineChartLogX(t *testing.T) {
	c := LineChart{
		Title: "t", XLabel: "x", YLabel: "y", YLog: true,
		XTicks:  []float64{1, 10, 100},
		XFormat: func(v float64) string { return "x" + strconv.FormatFloat(v, 'f', -1, 64) },
		Lines: []Line{
			{Name: "ours", X: []float64{1, 10, 100}, Y: []float64{5, 50, 500}},
			{Name: "upstream", X: []float64{0, 1, 10, 100}, Y: []float64{7, 0, 60, 600}, Dash: true},
		},
	}
	data := c.SVG()
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Circles []struct{} `xml:"circle"`
		Texts   []string   `xml:"text"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	if len(doc.Polylines) != 2 || len(doc.Circles) != 5 {
		t.Fatalf("%d lines, %d dots; want 2 and 5", len(doc.Polylines), len(doc.Circles))
	}
	var xs []float64
	for _, p := range strings.Fields(doc.Polylines[0].Points) {
		x, _, _ := strings.Cut(p, ",")
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, v)
	}
	if len(xs) != 3 || xs[0] >= xs[1] || xs[1] >= xs[2] || abs(xs[1]-xs[0]-(xs[2]-xs[1])) > 0.2 {
		t.Errorf("x positions %v are not evenly spaced in log", xs)
	}
	if n := len(strings.Fields(doc.Polylines[1].Points)); n != 2 {
		t.Errorf("upstream line has %d points, want 2 (x=0 and y=0 left out)", n)
	}
	texts := strings.Join(doc.Texts, "|")
	for _, want := range []string{"x1", "x10", "x100", "ours", "upstream"} {
		if !strings.Contains(texts, want) {
			t.Errorf("no label %q in %s", want, texts)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
