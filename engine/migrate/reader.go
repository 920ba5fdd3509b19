package migrate

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// upstreamDir is what an upstream data path holds: the data file numbers
// and metadata files of each diskqueue.
type upstreamDir struct {
	dir   string
	files map[string][]int64 // queue name -> data file numbers, ascending
	metas map[string]bool    // queue name -> has a metadata file
}

const dqInfix = ".diskqueue."

// scanUpstreamDir lists the diskqueue files in dir.
func scanUpstreamDir(dir string) (*upstreamDir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	u := &upstreamDir{dir: dir, files: map[string][]int64{}, metas: map[string]bool{}}
	for _, de := range ents {
		if de.IsDir() {
			continue
		}
		name, num, meta, ok := parseDQFileName(de.Name())
		switch {
		case !ok:
		case meta:
			u.metas[name] = true
		default:
			u.files[name] = append(u.files[name], num)
		}
	}
	for _, nums := range u.files {
		slices.Sort(nums)
	}
	return u, nil
}

// parseDQFileName recognises "<queue>.diskqueue.meta.dat" and
// "<queue>.diskqueue.<digits>.dat". Queue names may contain dots, so the
// name is taken from the right.
func parseDQFileName(fn string) (queue string, num int64, meta, ok bool) {
	rest, found := strings.CutSuffix(fn, ".dat")
	if !found {
		return "", 0, false, false
	}
	i := strings.LastIndex(rest, dqInfix)
	if i <= 0 {
		return "", 0, false, false
	}
	queue, tail := rest[:i], rest[i+len(dqInfix):]
	if tail == "meta" {
		return queue, 0, true, true
	}
	if len(tail) < 6 || strings.TrimLeft(tail, "0123456789") != "" {
		return "", 0, false, false
	}
	n, err := strconv.ParseInt(tail, 10, 64)
	if err != nil {
		return "", 0, false, false
	}
	return queue, n, false, true
}

// dqSpan is part of a diskqueue's backlog: a data file from off to its end.
type dqSpan struct {
	path string
	off  int64
	size int64
}

// dqPlan is where a diskqueue's backlog lies, in delivery order.
type dqPlan struct {
	queue string
	spans []dqSpan
}

// bytes is the size of the backlog's records, framing included.
func (p *dqPlan) bytes() int64 {
	var n int64
	for _, s := range p.spans {
		n += s.size - s.off
	}
	return n
}

// planQueue finds the backlog of diskqueue queue: what upstream would
// deliver after a restart. That is every record from the read position to
// the end of the files, including records written after the metadata was
// last synced (upstream reads them too). Anything upstream would skip or
// repair is reported through warn.
func (u *upstreamDir) planQueue(queue string, warn func(format string, args ...any)) dqPlan {
	p := dqPlan{queue: queue}
	nums := u.files[queue]
	var m dqMeta
	haveMeta := false
	if u.metas[queue] {
		b, err := os.ReadFile(filepath.Join(u.dir, dqMetaName(queue)))
		if err == nil {
			m, err = parseMeta(b)
		}
		if err != nil {
			warn("diskqueue %s: metadata unreadable (%s): importing every record of its files", queue, err)
		} else {
			haveMeta = true
		}
	}
	if !haveMeta {
		if len(nums) == 0 {
			return p
		}
		if !u.metas[queue] {
			warn("diskqueue %s: no metadata file (upstream never synced it): importing every record of its files", queue)
		}
		m = dqMeta{ReadFileNum: nums[0], WriteFileNum: nums[len(nums)-1], WritePos: -1}
	}
	if m.ReadFileNum > m.WriteFileNum || (m.ReadFileNum == m.WriteFileNum && m.WritePos >= 0 && m.ReadPos > m.WritePos) {
		warn("diskqueue %s: read position %d,%d beyond write position %d,%d: nothing to import (upstream resets it too)",
			queue, m.ReadFileNum, m.ReadPos, m.WriteFileNum, m.WritePos)
		return p
	}
	for num := m.ReadFileNum; num <= m.WriteFileNum; num++ {
		path := filepath.Join(u.dir, dqDataName(queue, num))
		fi, err := os.Stat(path)
		if err != nil {
			if !(num == m.WriteFileNum && m.WritePos <= 0) {
				warn("diskqueue %s: %s unreadable (%s): skipped, as upstream skips it", queue, filepath.Base(path), err)
			}
			continue
		}
		s := dqSpan{path: path, size: fi.Size()}
		if num == m.ReadFileNum {
			s.off = m.ReadPos
		}
		if num == m.WriteFileNum && m.WritePos >= 0 {
			switch {
			case s.size > m.WritePos:
				warn("diskqueue %s: %d bytes past the recorded write position (upstream stopped before syncing its metadata): imported, as upstream would deliver them",
					queue, s.size-m.WritePos)
			case s.size < m.WritePos:
				warn("diskqueue %s: %s is %d bytes short of the recorded write position: the missing records are lost",
					queue, filepath.Base(path), m.WritePos-s.size)
			}
		}
		if s.off > s.size {
			warn("diskqueue %s: read position %d beyond the end of %s: skipped", queue, s.off, filepath.Base(path))
			continue
		}
		p.spans = append(p.spans, s)
	}
	for _, num := range nums {
		if num > m.WriteFileNum {
			warn("diskqueue %s: %s is past the recorded write file: not imported, left in place", queue, dqDataName(queue, num))
		}
	}
	return p
}

// readBufSize is the initial read buffer; it grows to the largest record.
const readBufSize = 256 << 10

// each calls fn with every message of the backlog, in order. A damaged
// record ends its file (upstream skips the rest of a file it cannot parse);
// warn reports the bytes lost. buf is scratch space, returned (perhaps
// grown) for reuse; the message passed to fn aliases it.
func (p *dqPlan) each(buf []byte, warn func(format string, args ...any), fn func(m UpstreamMessage) error) ([]byte, error) {
	for _, s := range p.spans {
		f, err := os.Open(s.path)
		if err != nil {
			warn("diskqueue %s: %s: %s: skipped", p.queue, filepath.Base(s.path), err)
			continue
		}
		if _, err := f.Seek(s.off, io.SeekStart); err != nil {
			_ = f.Close()
			return buf, err
		}
		var lost int64
		var why error
		buf, lost, why, err = eachRecord(io.LimitReader(f, s.size-s.off), s.size-s.off, buf, func(payload []byte) error {
			m, err := decodeMessage(payload)
			if err != nil {
				return err
			}
			return fn(m)
		})
		_ = f.Close()
		if err != nil {
			return buf, err
		}
		if lost > 0 {
			warn("diskqueue %s: %s: %s at offset %d: the last %d bytes of the file are skipped, as upstream skips them",
				p.queue, filepath.Base(s.path), why, s.size-lost, lost)
		}
	}
	return buf, nil
}

// eachRecord calls fn with the payload of every record in the limit bytes
// r yields. It stops at the first record that is impossible (errBadSize) or
// incomplete (errShort: a torn tail), and returns how many bytes it did not
// parse, and why. An error from fn or from r is returned as err.
func eachRecord(r io.Reader, limit int64, buf []byte, fn func(payload []byte) error) (_ []byte, lost int64, why, err error) {
	if len(buf) == 0 {
		buf = make([]byte, readBufSize)
	}
	var consumed int64 // bytes parsed so far
	lo, hi := 0, 0     // buf[lo:hi] is read and not parsed
	eof := false
	for {
		payload, n, perr := splitRecord(buf[lo:hi])
		if perr == nil {
			if err := fn(payload); err != nil {
				return buf, 0, nil, err
			}
			lo += n
			consumed += int64(n)
			continue
		}
		if errors.Is(perr, errBadSize) || eof || int64(n) > limit-consumed {
			if consumed == limit {
				return buf, 0, nil, nil
			}
			if !errors.Is(perr, errBadSize) {
				perr = errShort
			}
			return buf, limit - consumed, perr, nil
		}
		// errShort: make room for n bytes at lo, then read more.
		if lo+n > len(buf) {
			if n > len(buf) {
				nb := make([]byte, max(n, 2*len(buf)))
				copy(nb, buf[lo:hi])
				buf = nb
			} else {
				copy(buf, buf[lo:hi])
			}
			hi -= lo
			lo = 0
		}
		m, rerr := r.Read(buf[hi:])
		hi += m
		if errors.Is(rerr, io.EOF) {
			eof = true
		} else if rerr != nil {
			return buf, 0, nil, rerr
		}
	}
}
