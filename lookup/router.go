package lookup

import (
	"net/http"
	"path"
	"sort"
	"strings"
)

// router dispatches on exact paths, answering everything else the way the
// httprouter v1.3.0 configuration of upstream nsqlookupd does, which
// clients can observe:
//
//   - a path that has routes, but not for the request's method, answers
//     405 with "Allow: <methods>, OPTIONS" (sorted, ", "-separated);
//     OPTIONS on such a path answers 200 with that header and no body;
//   - a path one trailing slash away from a route of the same method is
//     redirected to it, and so is one that matches a route only when
//     cleaned (//, ., ..) or compared without regard to case, trailing
//     slash added or removed; the redirect is 301 for GET and 307 for
//     other methods (never for CONNECT or "/");
//   - anything else is 404.
//
// Routes are added before serving; the router is then read-only, so safe
// for concurrent use.
type router struct {
	routes   map[string]map[string]http.Handler // path -> method -> handler
	methods  map[string]bool                    // methods with at least one route
	notFound http.HandlerFunc
	notAllow http.HandlerFunc // the Allow header is already set
}

func newRouter(notFound, notAllowed http.HandlerFunc) *router {
	return &router{
		routes:   map[string]map[string]http.Handler{},
		methods:  map[string]bool{},
		notFound: notFound,
		notAllow: notAllowed,
	}
}

func (rt *router) handle(method, p string, h http.Handler) {
	if rt.routes[p] == nil {
		rt.routes[p] = map[string]http.Handler{}
	}
	rt.routes[p][method] = h
	rt.methods[method] = true
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rt.methods[r.Method] {
		if h := rt.routes[p][r.Method]; h != nil {
			h.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodConnect && p != "/" {
			if to, ok := rt.redirectTarget(r.Method, p); ok {
				code := http.StatusTemporaryRedirect
				if r.Method == http.MethodGet {
					code = http.StatusMovedPermanently
				}
				r.URL.Path = to
				http.Redirect(w, r, r.URL.String(), code)
				return
			}
		}
	}
	allow := rt.allow(p, r.Method)
	switch {
	case allow != "" && r.Method == http.MethodOptions:
		w.Header().Set("Allow", allow)
	case allow != "":
		w.Header().Set("Allow", allow)
		rt.notAllow(w, r)
	default:
		rt.notFound(w, r)
	}
}

// redirectTarget is where a request for p that matches no route of method
// is sent, if anywhere: first p with its trailing slash toggled, then the
// cleaned path matched without regard to case (either way about the
// trailing slash).
func (rt *router) redirectTarget(method, p string) (string, bool) {
	if alt := toggleSlash(p); rt.routes[alt][method] != nil {
		return alt, true
	}
	clean := cleanPath(p)
	for _, want := range [...]string{clean, toggleSlash(clean)} {
		for route, byMethod := range rt.routes {
			if byMethod[method] != nil && strings.EqualFold(route, want) {
				return route, true
			}
		}
	}
	return "", false
}

func toggleSlash(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return p[:len(p)-1]
	}
	return p + "/"
}

// cleanPath is path.Clean rooted at "/", keeping a trailing slash.
func cleanPath(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// allow is the Allow header for p: the other methods with a route there,
// plus OPTIONS, sorted; "" when there are none.
func (rt *router) allow(p, method string) string {
	var ms []string
	for m := range rt.routes[p] {
		if m != method && m != http.MethodOptions {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return ""
	}
	ms = append(ms, http.MethodOptions)
	sort.Strings(ms)
	return strings.Join(ms, ", ")
}
