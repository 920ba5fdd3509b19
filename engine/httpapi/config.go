package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// getConfig is GET /config/{opt}.
func (s *server) getConfig(_ http.ResponseWriter, _ *http.Request, opt string) (any, error) {
	if s.o.GetConfig == nil {
		return nil, errInvalidOption
	}
	v, ok := s.o.GetConfig(opt)
	if !ok {
		return nil, errInvalidOption
	}
	return v, nil
}

// putConfig is PUT /config/{opt}: only nsqlookupd_tcp_addresses (a JSON
// list of strings) and log_level (debug, info, warn, error or fatal, any
// case) can be changed. It answers the new value, as GET does.
func (s *server) putConfig(w http.ResponseWriter, r *http.Request, opt string) (any, error) {
	readMax := s.o.MaxMsgSize + 1
	body, err := readBody(nil, r.Body, readMax, -1)
	if err != nil {
		return nil, errInternal
	}
	if int64(len(body)) == readMax || len(body) == 0 {
		return nil, errInvalidValueLarge
	}
	switch opt {
	case "nsqlookupd_tcp_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return nil, errInvalidValue
		}
	case "log_level":
		if !validLogLevel(string(body)) {
			return nil, errInvalidValue
		}
	default:
		return nil, errInvalidOption
	}
	if s.o.SetConfig == nil {
		return nil, errInvalidOption
	}
	if err := s.o.SetConfig(opt, body); err != nil {
		s.logf(logError, "failed to set %s - %s", opt, err)
		return nil, errInvalidValue
	}
	return s.getConfig(w, r, opt)
}

// validLogLevel accepts upstream's level names.
func validLogLevel(v string) bool {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error", "fatal":
		return true
	}
	return false
}

// setBlockRate is PUT /debug/setblockrate?rate=N.
func (s *server) setBlockRate(w http.ResponseWriter, r *http.Request, _ string) {
	rate, err := strconv.Atoi(r.FormValue("rate"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, fmt.Sprintf("invalid block rate : %s", err))
		return
	}
	runtime.SetBlockProfileRate(rate)
	answerLikeUpstreamPanic(w)
}

// freeMemory is POST /debug/freememory.
func (s *server) freeMemory(w http.ResponseWriter, _ *http.Request, _ string) {
	debug.FreeOSMemory()
	answerLikeUpstreamPanic(w)
}

// answerLikeUpstreamPanic gives the answer upstream gives to a successful
// /debug/setblockrate or /debug/freememory: its plain-text wrapper has
// nothing to write for them and panics, and the router's panic handler
// answers 500 INTERNAL_ERROR. The work is done all the same.
func answerLikeUpstreamPanic(w http.ResponseWriter) {
	writeV1Error(w, http.StatusInternalServerError, "INTERNAL_ERROR")
}
