package flame

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"html"
	"slices"
	"strings"
)

// node is a frame of the merged call tree.
type node struct {
	name     string
	value    int64
	children map[string]*node
}

func (n *node) child(name string) *node {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	c := n.children[name]
	if c == nil {
		c = &node{name: name}
		n.children[name] = c
	}
	return c
}

// Options shapes the SVG.
type Options struct {
	Title string
	// Index is the sample value to draw; negative means the profile's
	// default.
	Index int
	// Width in pixels; default 1200.
	Width int
}

const (
	rowH     = 16
	fontSize = 11
	charW    = 6.6 // average glyph width at fontSize, for truncating labels
	titleH   = 40
)

// SVG renders p as a flame graph.
func SVG(p *Profile, o Options) []byte {
	if o.Width <= 0 {
		o.Width = 1200
	}
	idx := o.Index
	if idx < 0 || idx >= len(p.SampleTypes) {
		idx = p.DefaultIndex
	}
	root := &node{name: "all"}
	depth := 0
	for _, s := range p.Samples {
		if idx >= len(s.Values) || s.Values[idx] <= 0 {
			continue
		}
		v := s.Values[idx]
		root.value += v
		n := root
		for i := len(s.Stack) - 1; i >= 0; i-- {
			n = n.child(s.Stack[i])
			n.value += v
		}
		depth = max(depth, len(s.Stack))
	}
	height := titleH + (depth+1)*rowH + 10
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="%d">`+"\n", o.Width, height, o.Width, height, fontSize)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fdfdf6"/>`+"\n", o.Width, height)
	what := ""
	if idx >= 0 && idx < len(p.SampleTypes) {
		what = p.SampleTypes[idx]
	}
	fmt.Fprintf(&b, `<text x="10" y="18" font-family="sans-serif" font-size="15" font-weight="bold">%s</text>`+"\n", esc(o.Title))
	fmt.Fprintf(&b, `<text x="10" y="33" font-family="sans-serif" font-size="11" fill="#555">%s, total %s; hover a frame for its share</text>`+"\n", esc(what), esc(format(root.value, what)))
	if root.value > 0 {
		scale := float64(o.Width-20) / float64(root.value)
		draw(&b, root, 10, height-10-rowH, scale, root.value, what)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// draw renders n at (x, y) and its children above it, widest first.
func draw(b *bytes.Buffer, n *node, x float64, y int, scale float64, total int64, unit string) {
	w := float64(n.value) * scale
	if w < 0.3 {
		return
	}
	pct := 100 * float64(n.value) / float64(total)
	fmt.Fprintf(b, `<g><title>%s (%s, %.2f%%)</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="1"/>`,
		esc(n.name), esc(format(n.value, unit)), pct, x, y, max(w-0.5, 0.1), rowH-1, color(n.name))
	if label := fit(short(n.name), w); label != "" {
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`, x+3, y+rowH-4, esc(label))
	}
	b.WriteString("</g>\n")
	kids := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		kids = append(kids, c)
	}
	slices.SortFunc(kids, func(a, c *node) int { return strings.Compare(a.name, c.name) })
	cx := x
	for _, c := range kids {
		draw(b, c, cx, y-rowH, scale, total, unit)
		cx += float64(c.value) * scale
	}
}

// short drops the package path of a function name:
// "github.com/a/b/pkg.(*T).M" -> "pkg.(*T).M".
func short(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// fit truncates label to the pixels available, or returns "" when not
// even a few characters fit.
func fit(label string, w float64) string {
	n := int((w - 6) / charW)
	switch {
	case n < 3:
		return ""
	case len(label) <= n:
		return label
	default:
		return label[:n-2] + ".."
	}
}

// color picks a warm colour from the name, stable across graphs; the Go
// runtime's frames are drawn in blue-grey so the broker's own code stands
// out.
func color(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	if strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "syscall.") || strings.HasPrefix(name, "internal/") {
		return fmt.Sprintf("rgb(%d,%d,%d)", 150+v%40, 170+v%40, 200+v%40)
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", 205+v%50, 80+(v>>8)%130, 40+(v>>16)%50)
}

// format writes a value in the unit of its sample type.
func format(v int64, sampleType string) string {
	if strings.HasSuffix(sampleType, "/nanoseconds") {
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2fs", float64(v)/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.1fms", float64(v)/1e6)
		default:
			return fmt.Sprintf("%dns", v)
		}
	}
	return fmt.Sprintf("%d", v)
}

func esc(s string) string { return html.EscapeString(s) }
