package queue

// SegmentInfo describes one segment of a log.
type SegmentInfo struct {
	// FirstSeq is the sequence of the segment's first record (its id).
	FirstSeq uint64
	// Bytes is the used size of a sealed segment; 0 for the active one.
	Bytes int64
	// Active is true for the segment appends go to (always the last).
	Active bool
}

// Segments appends a description of every segment, oldest first, to dst.
// Safe for concurrent use with Append, Read and DeleteBefore (it reads the
// published segment table); the result is a snapshot.
func (l *Log) Segments(dst []SegmentInfo) []SegmentInfo {
	t := l.table.Load()
	if t == nil {
		return dst
	}
	for i, s := range t.segs {
		si := SegmentInfo{FirstSeq: s.id}
		if i == len(t.segs)-1 {
			si.Active = true
		} else {
			si.Bytes = int64(s.end)
		}
		dst = append(dst, si)
	}
	return dst
}
