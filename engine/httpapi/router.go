package httpapi

import (
	"net/http"
	"path"
	"slices"
	"strings"
)

// handle serves one route; param is the value of the route's trailing
// parameter segment ("" for static routes).
type handle func(w http.ResponseWriter, r *http.Request, param string)

// router reproduces the observable behaviour of the httprouter (v1.3.0)
// configuration upstream nsqd uses:
//
//   - a path registered for other methods only answers 405 with an Allow
//     header listing them plus OPTIONS, sorted and joined by ", ";
//   - OPTIONS on a known path answers 200, empty, with that Allow header;
//   - a path that differs from a route of the same method only by a trailing
//     slash, by case or by superfluous "..", "." or "//" elements is
//     redirected (301 for GET, 307 for other methods);
//   - anything else is 404.
//
// Routes are either static or a static prefix ending in '/' followed by one
// parameter segment (upstream's "/config/:opt"). A router is built once by
// add and is then read-only, so safe for concurrent use.
type router struct {
	static   map[string][]methodHandle // path -> handles
	params   []paramRoute
	methods  map[string]bool // methods that have at least one route
	notFound http.HandlerFunc
	notAllow http.HandlerFunc // 405; Allow is already set
}

type methodHandle struct {
	method string
	h      handle
}

type paramRoute struct {
	method string
	prefix string // up to and including the '/' before the parameter
	h      handle
}

func newRouter(notFound, notAllowed http.HandlerFunc) *router {
	return &router{
		static:   map[string][]methodHandle{},
		methods:  map[string]bool{},
		notFound: notFound,
		notAllow: notAllowed,
	}
}

// add registers h for method and pattern; a pattern whose last segment
// starts with ':' takes that segment as the parameter.
func (rt *router) add(method, pattern string, h handle) {
	rt.methods[method] = true
	if i := strings.LastIndexByte(pattern, '/'); i >= 0 && strings.HasPrefix(pattern[i+1:], ":") {
		rt.params = append(rt.params, paramRoute{method: method, prefix: pattern[:i+1], h: h})
		return
	}
	rt.static[pattern] = append(rt.static[pattern], methodHandle{method, h})
}

// lookup finds the handle of method for p, with the parameter value.
func (rt *router) lookup(method, p string) (handle, string) {
	for _, mh := range rt.static[p] {
		if mh.method == method {
			return mh.h, ""
		}
	}
	for _, pr := range rt.params {
		if pr.method == method && strings.HasPrefix(p, pr.prefix) {
			if v := p[len(pr.prefix):]; validParam(v) {
				return pr.h, v
			}
		}
	}
	return nil, ""
}

func validParam(v string) bool { return v != "" && strings.IndexByte(v, '/') < 0 }

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rt.methods[r.Method] {
		if h, param := rt.lookup(r.Method, p); h != nil {
			h(w, r, param)
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

	if r.Method == http.MethodOptions {
		if allow := rt.allowed(p, r.Method); allow != "" {
			w.Header().Set("Allow", allow)
			return
		}
	} else if allow := rt.allowed(p, r.Method); allow != "" {
		w.Header().Set("Allow", allow)
		rt.notAllow(w, r)
		return
	}
	rt.notFound(w, r)
}

// trailingSlashAlternative reports the path with its trailing slash removed
// or added, if a route of method matches that.
func (rt *router) trailingSlashAlternative(method, p string) (string, bool) {
	alt := p + "/"
	if strings.HasSuffix(p, "/") {
		alt = p[:len(p)-1]
	}
	if h, _ := rt.lookup(method, alt); h != nil {
		return alt, true
	}
	// httprouter's quirk: an empty parameter followed by a slash
	// ("/config//") recommends the path without it ("/config/"), although
	// that does not match either
	for _, pr := range rt.params {
		if pr.method == method && p == pr.prefix+"/" {
			return pr.prefix, true
		}
	}
	return "", false
}

// fixPath cleans p and looks it up case-insensitively (trying the trailing
// slash both ways), returning the route's own spelling.
func (rt *router) fixPath(method, p string) (string, bool) {
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
		for _, pr := range rt.params {
			if pr.method == method && len(c) > len(pr.prefix) && strings.EqualFold(c[:len(pr.prefix)], pr.prefix) && validParam(c[len(pr.prefix):]) {
				return pr.prefix + c[len(pr.prefix):], true
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
func (rt *router) allowed(p, reqMethod string) string {
	var methods []string
	for m := range rt.methods {
		if m == reqMethod || m == http.MethodOptions {
			continue
		}
		if h, _ := rt.lookup(m, p); h != nil {
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
