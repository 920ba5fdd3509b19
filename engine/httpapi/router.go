package httpapi

import (
	"net/http"

	"github.com/nsqfast/nsq/wire/httproute"
)

// handle serves one route; param is the value of the route's parameter
// segment ("" for static routes).
type handle func(w http.ResponseWriter, r *http.Request, param string)

// router adapts httproute.Router (upstream's routing behaviour, shared
// with nsqlookupd and nsqadmin) to this package's handles.
type router struct{ *httproute.Router }

func newRouter(notFound, notAllowed http.HandlerFunc) *router {
	rt := &router{httproute.New()}
	rt.NotFound = notFound
	rt.MethodNotAllowed = notAllowed
	return rt
}

func (rt *router) add(method, pattern string, h handle) {
	rt.Handle(method, pattern, func(w http.ResponseWriter, r *http.Request, ps httproute.Params) {
		h(w, r, ps.First())
	})
}
