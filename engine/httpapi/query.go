package httpapi

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

// query reads request parameters with url.ParseQuery's semantics (first
// value of a key wins; a malformed query is an error) without allocating
// for the plain queries publishers send: when the raw query has no escape,
// '+' or ';' and few parameters, its keys and values are the raw text, so
// it is scanned in place; otherwise it is parsed by url.ParseQuery.
type query struct {
	raw    string
	vals   url.Values
	parsed bool
}

// maxScannedParams keeps the in-place scan within url.ParseQuery's limit on
// the number of parameters (10000 by default), beyond which it fails.
const maxScannedParams = 64

func parseQuery(raw string) (query, error) {
	if strings.ContainsAny(raw, "%+;") || strings.Count(raw, "&") >= maxScannedParams {
		vals, err := url.ParseQuery(raw)
		return query{vals: vals, parsed: true}, err
	}
	return query{raw: raw}, nil
}

// get returns the first value of key, and whether key is present at all.
func (q *query) get(key string) (string, bool) {
	if q.parsed {
		if v, ok := q.vals[key]; ok {
			return v[0], true
		}
		return "", false
	}
	for s := q.raw; s != ""; {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// reqParams is upstream's full parameter read for the administrative
// endpoints: the query, and the body read (and discarded) to its end. A
// failure of either is 400 INVALID_REQUEST.
func (s *server) reqParams(r *http.Request) (query, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err == nil {
		_, err = io.Copy(io.Discard, r.Body)
	}
	if err != nil {
		s.logf(logError, "failed to parse request params - %s", err)
		return query{}, errInvalidRequest
	}
	return q, nil
}

// boolParams are the values upstream accepts for a boolean parameter.
func parseBool(v string) (b, ok bool) {
	switch v {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}
