package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// filter is the JSON filtering of --require-json-field,
// --require-json-value and --whitelist-json-field. It is read-only once
// made, so safe for concurrent use.
type filter struct {
	field     string   // required field; "" for none
	value     string   // its required value; "" for any
	number    float64  // value as a number,
	isNumber  bool     // when it is one
	whitelist []string // fields kept; none for all
}

func newFilter(field, value string, whitelist []string) *filter {
	f := &filter{field: field, value: value, whitelist: whitelist}
	if value != "" {
		n, err := strconv.ParseFloat(value, 64)
		f.number, f.isNumber = n, err == nil
	}
	return f
}

// active reports whether messages must be decoded at all.
func (f *filter) active() bool { return f.field != "" || len(f.whitelist) > 0 }

// errBackoff is the verdict on a message without the required field when
// a value is required: it is requeued with backoff, as upstream does.
var errBackoff = errors.New("backoff")

// apply decides what is published for body: out, or nothing when pass is
// false. A body that is not a JSON object is dropped (logged by the
// caller through errInvalid).
func (f *filter) apply(body []byte) (out []byte, pass bool, err error) {
	if !f.active() {
		return body, true, nil
	}
	var js map[string]any
	if err := json.Unmarshal(body, &js); err != nil {
		return nil, false, errInvalid
	}
	if pass, err := f.passes(js); !pass {
		return nil, false, err
	}
	if len(f.whitelist) == 0 {
		return body, true, nil
	}
	kept := make(map[string]any, len(f.whitelist))
	for _, k := range f.whitelist {
		v, ok := js[k]
		if !ok {
			continue
		}
		// Whole numbers are written as integers, as upstream writes them.
		if n, isNum := v.(float64); isNum && float64(int64(n)) == n {
			v = int64(n)
		}
		kept[k] = v
	}
	out, err = json.Marshal(kept)
	if err != nil {
		return nil, false, fmt.Errorf("unable to marshal filtered message %v", kept)
	}
	return out, true, nil
}

// errInvalid is the verdict on a body that is not a JSON object: it is
// dropped.
var errInvalid = errors.New("not a JSON object")

// passes applies the required field and value to a decoded message.
func (f *filter) passes(js map[string]any) (bool, error) {
	if f.field == "" {
		return true, nil
	}
	v, ok := js[f.field]
	if !ok {
		if f.value != "" {
			return false, errBackoff
		}
		return false, nil
	}
	if f.value == "" {
		return true, nil
	}
	switch tv := v.(type) {
	case string:
		return tv == f.value, nil
	case float64:
		return f.isNumber && tv == f.number, nil
	default:
		// Neither a string nor a number: no comparison.
		return false, nil
	}
}
