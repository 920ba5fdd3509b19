package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/nsqfast/nsq/wire/apidoc"
)

// Header values shared by every response. net/http never modifies a value
// slice, and one of length == capacity cannot be appended to in place, so
// sharing them saves two allocations per response.
var (
	hdrNSQContentType = []string{"nsq; version=1.0"}
	hdrJSON           = []string{"application/json; charset=utf-8"}
)

// v1 writes an endpoint's result in the V1 form (see the package comment).
func (s *server) v1(e endpoint) handle {
	return func(w http.ResponseWriter, r *http.Request, param string) {
		data, err := e(w, r, param)
		if err != nil {
			writeV1Error(w, codeOf(err), err.Error())
			return
		}
		var body []byte
		switch d := data.(type) {
		case string:
			writeV1(w, http.StatusOK, false, nil, d)
			return
		case []byte:
			body = d
		case nil:
		default:
			b, err := json.Marshal(d)
			if err != nil {
				writeV1Error(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeV1(w, http.StatusOK, true, b, "")
			return
		}
		writeV1(w, http.StatusOK, false, body, "")
	}
}

func writeV1Error(w http.ResponseWriter, code int, text string) {
	b, _ := json.Marshal(apidoc.Message{Message: text})
	writeV1(w, code, true, b, "")
}

// writeV1 writes body, or str when body is nil.
func writeV1(w http.ResponseWriter, code int, isJSON bool, body []byte, str string) {
	h := w.Header()
	if isJSON {
		h["Content-Type"] = hdrJSON
	}
	h["X-Nsq-Content-Type"] = hdrNSQContentType
	w.WriteHeader(code)
	if body != nil {
		_, _ = w.Write(body)
	} else {
		_, _ = io.WriteString(w, str)
	}
}

// plainText writes an endpoint's string or []byte result, or its error's
// text, with no content type of its own (net/http sniffs text/plain).
func plainText(e endpoint) handle {
	return func(w http.ResponseWriter, r *http.Request, param string) {
		code := http.StatusOK
		data, err := e(w, r, param)
		if err != nil {
			code, data = codeOf(err), err.Error()
		}
		switch d := data.(type) {
		case string:
			w.WriteHeader(code)
			_, _ = io.WriteString(w, d)
		case []byte:
			w.WriteHeader(code)
			_, _ = w.Write(d)
		default:
			// a programming error; the recoverer answers 500
			panic(fmt.Sprintf("unknown response type %T", data))
		}
	}
}
