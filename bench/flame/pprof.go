// Package flame renders a profile as a flame graph in SVG: stacks from the
// root at the bottom to the leaf at the top, each frame as wide as the
// share of the profile's value spent in it. It reads the pprof format
// (gzipped protocol buffers, as /debug/pprof/profile and /debug/fgprof
// serve them) with a small decoder of its own, so the bench tools need
// no dependency for it.
package flame

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Profile is the part of a pprof profile a flame graph needs.
type Profile struct {
	// SampleTypes names each value of a sample ("cpu/nanoseconds").
	SampleTypes []string
	// DefaultIndex is the sample value to draw (the profile's default
	// sample type, else the last).
	DefaultIndex int
	// Samples are the stacks, leaf first, with their values.
	Samples []Sample
}

// Sample is one stack and its values.
type Sample struct {
	Stack  []string // function names, leaf first
	Values []int64
}

// maxDecoded bounds the decompressed size of a profile.
const maxDecoded = 256 << 20

// ErrFormat is returned for data that is not a pprof profile.
var ErrFormat = errors.New("flame: not a pprof profile")

// Parse decodes a pprof profile, gzipped or not.
func Parse(data []byte) (*Profile, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		raw, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if len(raw) > maxDecoded {
			return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxDecoded)
		}
		data = raw
	}
	return decode(data)
}

// The raw messages, as ids and string table indexes.
type rawSample struct {
	locs   []uint64
	values []int64
}

type rawLocation struct{ funcs []uint64 } // function ids, innermost (inlined callee) first

func decode(data []byte) (*Profile, error) {
	var (
		strs        []string
		sampleTypes [][2]int64
		samples     []rawSample
		locations   = map[uint64]rawLocation{}
		funcs       = map[uint64]int64{} // id -> name index
		defaultType int64
	)
	err := fields(data, func(num int, wt int, v uint64, b []byte) error {
		switch num {
		case 1: // sample_type
			var vt [2]int64
			if err := fields(b, func(n, _ int, v uint64, _ []byte) error {
				if n == 1 || n == 2 {
					vt[n-1] = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			sampleTypes = append(sampleTypes, vt)
		case 2: // sample
			var s rawSample
			if err := fields(b, func(n, wt int, v uint64, b []byte) error {
				switch n {
				case 1:
					return repeated(wt, v, b, func(x uint64) { s.locs = append(s.locs, x) })
				case 2:
					return repeated(wt, v, b, func(x uint64) { s.values = append(s.values, int64(x)) })
				}
				return nil
			}); err != nil {
				return err
			}
			samples = append(samples, s)
		case 4: // location
			var id uint64
			var loc rawLocation
			if err := fields(b, func(n, _ int, v uint64, b []byte) error {
				switch n {
				case 1:
					id = v
				case 4: // line
					return fields(b, func(n, _ int, v uint64, _ []byte) error {
						if n == 1 {
							loc.funcs = append(loc.funcs, v)
						}
						return nil
					})
				}
				return nil
			}); err != nil {
				return err
			}
			locations[id] = loc
		case 5: // function
			var id uint64
			var name int64
			if err := fields(b, func(n, _ int, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			funcs[id] = name
		case 6: // string_table
			strs = append(strs, string(b))
		case 14:
			defaultType = int64(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) string {
		if i < 0 || i >= int64(len(strs)) {
			return "?"
		}
		return strs[i]
	}
	p := &Profile{DefaultIndex: len(sampleTypes) - 1}
	for i, vt := range sampleTypes {
		p.SampleTypes = append(p.SampleTypes, str(vt[0])+"/"+str(vt[1]))
		if defaultType != 0 && vt[0] == defaultType {
			p.DefaultIndex = i
		}
	}
	if len(sampleTypes) == 0 {
		return nil, fmt.Errorf("%w: no sample types", ErrFormat)
	}
	for _, s := range samples {
		out := Sample{Values: s.values}
		for _, id := range s.locs {
			loc, ok := locations[id]
			if !ok || len(loc.funcs) == 0 {
				out.Stack = append(out.Stack, fmt.Sprintf("0x%x", id))
				continue
			}
			for _, f := range loc.funcs {
				name, ok := funcs[f]
				if !ok {
					out.Stack = append(out.Stack, "?")
					continue
				}
				out.Stack = append(out.Stack, str(name))
			}
		}
		p.Samples = append(p.Samples, out)
	}
	return p, nil
}

// fields calls fn for each field of a protocol buffer message: its number,
// wire type, and value (varints and fixed-size values in v, length-
// delimited ones in b).
func fields(data []byte, fn func(num, wt int, v uint64, b []byte) error) error {
	for len(data) > 0 {
		key, n := binary.Uvarint(data)
		if n <= 0 {
			return fmt.Errorf("%w: bad field key", ErrFormat)
		}
		data = data[n:]
		num, wt := int(key>>3), int(key&7)
		var v uint64
		var b []byte
		switch wt {
		case 0:
			v, n = binary.Uvarint(data)
			if n <= 0 {
				return fmt.Errorf("%w: bad varint", ErrFormat)
			}
			data = data[n:]
		case 1:
			if len(data) < 8 {
				return fmt.Errorf("%w: short fixed64", ErrFormat)
			}
			v, data = binary.LittleEndian.Uint64(data), data[8:]
		case 2:
			l, n := binary.Uvarint(data)
			if n <= 0 || l > uint64(len(data)-n) {
				return fmt.Errorf("%w: bad length", ErrFormat)
			}
			b, data = data[n:n+int(l)], data[n+int(l):]
		case 5:
			if len(data) < 4 {
				return fmt.Errorf("%w: short fixed32", ErrFormat)
			}
			v, data = uint64(binary.LittleEndian.Uint32(data)), data[4:]
		default:
			return fmt.Errorf("%w: wire type %d", ErrFormat, wt)
		}
		if err := fn(num, wt, v, b); err != nil {
			return err
		}
	}
	return nil
}

// repeated decodes a repeated varint field, packed (wire type 2) or not.
func repeated(wt int, v uint64, b []byte, add func(uint64)) error {
	if wt == 0 {
		add(v)
		return nil
	}
	if wt != 2 {
		return fmt.Errorf("%w: repeated field of wire type %d", ErrFormat, wt)
	}
	for len(b) > 0 {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("%w: bad packed varint", ErrFormat)
		}
		add(x)
		b = b[n:]
	}
	return nil
}
