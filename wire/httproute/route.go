// Package httproute is the HTTP router of nsqd's, nsqlookupd's and
// nsqadmin's APIs. It reproduces what clients can observe of the router
// upstream NSQ v1.3.0 uses (julienschmidt/httprouter v1.3.0 in upstream's
// configuration), because that is part of the APIs' behaviour:
//
//   - a path that has routes, but not for the request's method, answers
//     405 with an Allow header listing those methods plus OPTIONS, sorted
//     and joined by ", "; OPTIONS on such a path answers 200, empty, with
//     that header;
//   - a path one trailing slash away from a route of the same method, or
//     one that matches a route only once cleaned (//, ., ..) or compared
//     without regard to case, is redirected to the route's spelling: 301
//     for GET, 307 for other methods (never for CONNECT or "/");
//   - anything else is handed to the NotFound handler.
//
// Patterns are static paths, or contain ":name" segments (one non-empty
// segment) and may end in "*name" (the rest of the path, "/" included).
// A Router is built with Handle before serving and is read-only afterwards,
// so it is safe for concurrent use. Looking up a static route does not
// allocate.
package httproute

import (
	"net/http"
	"path"
	"slices"
	"strings"
)

// MaxParams is how many parameters a pattern may have.
const MaxParams = 4

// Params are the values of a matched route's parameters. It is a value
// (no allocation per request).
type Params struct {
	n    int
	keys [MaxParams]string
	vals [MaxParams]string
}

// ByName returns the value of the parameter called name ("" if absent).
func (p *Params) ByName(name string) string {
	for i := 0; i < p.n; i++ {
		if p.keys[i] == name {
			return p.vals[i]
		}
	}
	return ""
}

// First returns the first parameter's value ("" for static routes).
func (p *Params) First() string {
	if p.n == 0 {
		return ""
	}
	return p.vals[0]
}

// Handle serves a matched route.
type Handle func(w http.ResponseWriter, r *http.Request, ps Params)

type methodHandle struct {
	method string
	h      Handle
}

type paramRoute struct {
	method  string
	pattern string
	segs    []string // split on "/", without the leading ""
	h       Handle
}

// Router routes requests. See the package documentation.
type Router struct {
	static  map[string][]methodHandle
	params  []paramRoute
	methods map[string]bool

	// NotFound answers requests that match nothing (default: 404).
	NotFound http.Handler
	// MethodNotAllowed answers a known path with another method; the Allow
	// header is already set (default: 405).
	MethodNotAllowed http.Handler
}

// New returns an empty Router.
func New() *Router {
	return &Router{
		static:           map[string][]methodHandle{},
		methods:          map[string]bool{},
		NotFound:         http.HandlerFunc(http.NotFound),
		MethodNotAllowed: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusMethodNotAllowed) }),
	}
}

// Handle registers h for method and pattern.
func (rt *Router) Handle(method, pattern string, h Handle) {
	rt.methods[method] = true
	if !strings.ContainsAny(pattern, ":*") {
		rt.static[pattern] = append(rt.static[pattern], methodHandle{method, h})
		return
	}
	segs := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	n := 0
	for _, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			n++
		}
	}
	if n > MaxParams {
		panic("httproute: too many parameters in " + pattern)
	}
	rt.params = append(rt.params, paramRoute{method: method, pattern: pattern, segs: segs, h: h})
}

// HandlerFunc registers a plain handler.
func (rt *Router) HandlerFunc(method, pattern string, h http.HandlerFunc) {
	rt.Handle(method, pattern, func(w http.ResponseWriter, r *http.Request, _ Params) { h(w, r) })
}

// match matches p against a parameterised route; fold compares static
// segments without regard to case and returns the route's spelling.
func (pr *paramRoute) match(p string, fold bool, ps *Params) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	rest := p[1:]
	var b strings.Builder
	n := 0
	for i, seg := range pr.segs {
		if strings.HasPrefix(seg, "*") {
			if ps != nil {
				ps.keys[n], ps.vals[n] = seg[1:], "/"+rest
				ps.n = n + 1
			}
			if fold {
				b.WriteString("/" + rest)
			}
			return b.String(), true
		}
		var part string
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
			if i == len(pr.segs)-1 {
				return "", false // more path than pattern
			}
		} else {
			part, rest = rest, ""
			if i != len(pr.segs)-1 {
				return "", false // more pattern than path
			}
		}
		switch {
		case strings.HasPrefix(seg, ":"):
			if part == "" {
				return "", false
			}
			if ps != nil {
				ps.keys[n], ps.vals[n] = seg[1:], part
			}
			n++
			if fold {
				b.WriteString("/" + part)
			}
		case seg == part || (fold && strings.EqualFold(seg, part)):
			if fold {
				b.WriteString("/" + seg)
			}
		default:
			return "", false
		}
	}
	if ps != nil {
		ps.n = n
	}
	return b.String(), true
}

// lookup finds the handle of method for p.
func (rt *Router) lookup(method, p string, ps *Params) Handle {
	for _, mh := range rt.static[p] {
		if mh.method == method {
			return mh.h
		}
	}
	for i := range rt.params {
		pr := &rt.params[i]
		if pr.method != method {
			continue
		}
		var tmp Params
		if _, ok := pr.match(p, false, &tmp); ok {
			if ps != nil {
				*ps = tmp
			}
			return pr.h
		}
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rt.methods[r.Method] {
		var ps Params
		if h := rt.lookup(r.Method, p, &ps); h != nil {
			h(w, r, ps)
			return
		}
		if r.Method != http.MethodConnect && p != "/" {
			code := http.StatusMovedPermanently
			if r.Method != http.MethodGet {
				code = http.StatusTemporaryRedirect
			}
			if alt, ok := rt.trailingSlashAlternative(r.Method, p); ok {
				r.URL.Path = alt
				http.Redirect(w, r, r.URL.String(), code)
				return
			}
			if fixed, ok := rt.fixPath(r.Method, p); ok {
				r.URL.Path = fixed
				http.Redirect(w, r, r.URL.String(), code)
				return
			}
		}
	}
	if allow := rt.allowed(p, r.Method); allow != "" {
		w.Header().Set("Allow", allow)
		if r.Method == http.MethodOptions {
			return
		}
		rt.MethodNotAllowed.ServeHTTP(w, r)
		return
	}
	rt.NotFound.ServeHTTP(w, r)
}

// trailingSlashAlternative reports the path with its trailing slash removed
// or added, if a route of method matches that.
func (rt *Router) trailingSlashAlternative(method, p string) (string, bool) {
	alt := p + "/"
	if strings.HasSuffix(p, "/") {
		alt = p[:len(p)-1]
	}
	if rt.lookup(method, alt, nil) != nil {
		return alt, true
	}
	// httprouter's quirk: an empty last parameter followed by a slash
	// ("/config//") recommends the path without that slash ("/config/"),
	// although that does not match either.
	for i := range rt.params {
		pr := &rt.params[i]
		last := pr.segs[len(pr.segs)-1]
		if pr.method == method && strings.HasPrefix(last, ":") {
			prefix := pr.pattern[:len(pr.pattern)-len(last)]
			if p == prefix+"/" {
				return prefix, true
			}
		}
	}
	return "", false
}

// fixPath cleans p and looks it up case-insensitively (trying the trailing
// slash both ways), returning the route's own spelling.
func (rt *Router) fixPath(method, p string) (string, bool) {
	clean := cleanPath(p)
	candidates := []string{clean, clean + "/"}
	if strings.HasSuffix(clean, "/") && clean != "/" {
		candidates[1] = clean[:len(clean)-1]
	}
	for _, c := range candidates {
		for route, mhs := range rt.static {
			if strings.EqualFold(route, c) && slices.ContainsFunc(mhs, func(mh methodHandle) bool { return mh.method == method }) {
				return route, true
			}
		}
		for i := range rt.params {
			pr := &rt.params[i]
			if pr.method != method {
				continue
			}
			if fixed, ok := pr.match(c, true, nil); ok {
				return fixed, true
			}
		}
	}
	return "", false
}

// cleanPath is path.Clean for a URL path: rooted, and keeping a trailing
// slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// allowed lists, as an Allow header value, the methods other than
// reqMethod (and OPTIONS) that have a route for p, plus OPTIONS; "" when
// there are none.
func (rt *Router) allowed(p, reqMethod string) string {
	var methods []string
	for m := range rt.methods {
		if m == reqMethod || m == http.MethodOptions {
			continue
		}
		if rt.lookup(m, p, nil) != nil {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		return ""
	}
	methods = append(methods, http.MethodOptions)
	slices.Sort(methods)
	return strings.Join(methods, ", ")
}
