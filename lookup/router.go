package lookup

import (
	"net/http"

	"github.com/nsqfast/nsq/wire/httproute"
)

// router adapts httproute.Router (upstream's routing behaviour, shared
// with nsqd and nsqadmin) to plain handlers.
type router struct{ *httproute.Router }

func newRouter(notFound, notAllowed http.HandlerFunc) *router {
	rt := &router{httproute.New()}
	rt.NotFound = notFound
	rt.MethodNotAllowed = notAllowed
	return rt
}

func (rt *router) handle(method, p string, h http.Handler) {
	rt.HandlerFunc(method, p, h.ServeHTTP)
}
