package apidoc

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// TextHeader is what the plain-text /stats rendering needs besides the
// document itself.
type TextHeader struct {
	// VersionLine is the first line, e.g. "nsqd v1.3.0 (built w/go1.26.0)".
	VersionLine string
	// StartTime is printed in RFC 3339, in its own location.
	StartTime time.Time
	// Now is used for the uptime and for each client's connected time.
	Now time.Time
}

// AppendStatsText appends the plain-text /stats rendering of s (the
// default format=text answer) to dst, laid out column for column as
// upstream's printStats. Memory is printed when s.Memory is not nil.
func AppendStatsText(dst []byte, h TextHeader, s *Stats) []byte {
	dst = fmt.Appendf(dst, "%s\n", h.VersionLine)
	dst = fmt.Appendf(dst, "start_time %v\n", h.StartTime.Format(time.RFC3339))
	dst = fmt.Appendf(dst, "uptime %s\n", h.Now.Sub(h.StartTime))
	dst = fmt.Appendf(dst, "\nHealth: %s\n", s.Health)

	if m := s.Memory; m != nil {
		dst = append(dst, "\nMemory:\n"...)
		for _, row := range [...]struct {
			name string
			v    uint64
		}{
			{"heap_objects", m.HeapObjects},
			{"heap_idle_bytes", m.HeapIdleBytes},
			{"heap_in_use_bytes", m.HeapInUseBytes},
			{"heap_released_bytes", m.HeapReleasedBytes},
			{"gc_pause_usec_100", m.GCPauseUsec100},
			{"gc_pause_usec_99", m.GCPauseUsec99},
			{"gc_pause_usec_95", m.GCPauseUsec95},
			{"next_gc_bytes", m.NextGCBytes},
			{"gc_total_runs", uint64(m.GCTotalRuns)},
			{"resident_bytes", m.ResidentBytes},
			{"resident_anon_bytes", m.ResidentAnonBytes},
			{"resident_file_bytes", m.ResidentFileBytes},
			{"log_mapped_bytes", m.LogMappedBytes},
		} {
			if row.v == 0 && strings.HasPrefix(row.name, "resident_") || row.name == "log_mapped_bytes" && row.v == 0 {
				continue // ours, absent from upstream's: only when known
			}
			dst = fmt.Appendf(dst, "   %-25s\t%d\n", row.name, row.v)
		}
	}

	if len(s.Topics) == 0 {
		dst = append(dst, "\nTopics: None\n"...)
	} else {
		// no newline: every topic line starts with one
		dst = append(dst, "\nTopics:"...)
	}
	for i := range s.Topics {
		t := &s.Topics[i]
		mark := "   "
		if t.Paused {
			mark = "*P "
		}
		dst = fmt.Appendf(dst, "\n%s[%-15s] depth: %-5d be-depth: %-5d msgs: %-8d e2e%%: %s\n",
			mark, t.TopicName, t.Depth, t.BackendDepth, t.MessageCount, t.E2eProcessingLatency.String())
		for j := range t.Channels {
			c := &t.Channels[j]
			mark := "      "
			if c.Paused {
				mark = "   *P "
			}
			dst = fmt.Appendf(dst, "%s[%-25s] depth: %-5d be-depth: %-5d inflt: %-4d def: %-4d re-q: %-5d timeout: %-5d msgs: %-8d e2e%%: %s\n",
				mark, c.ChannelName, c.Depth, c.BackendDepth, c.InFlightCount, c.DeferredCount,
				c.RequeueCount, c.TimeoutCount, c.MessageCount, c.E2eProcessingLatency.String())
			for k := range c.Clients {
				dst = append(dst, "        "...)
				dst = AppendClientText(dst, &c.Clients[k], h.Now)
				dst = append(dst, '\n')
			}
		}
	}

	if len(s.Producers) == 0 {
		dst = append(dst, "\nProducers: None\n"...)
	} else {
		dst = append(dst, "\nProducers:\n"...)
		for i := range s.Producers {
			dst = append(dst, "   "...)
			dst = AppendClientText(dst, &s.Producers[i], h.Now)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// AppendClientText appends upstream's one-line summary of a client: the
// producer form when c has pub counts, the consumer form otherwise. The
// connected time is measured to now, in whole seconds.
func AppendClientText(dst []byte, c *Client, now time.Time) []byte {
	connected := now.Sub(time.Unix(c.ConnectTime, 0)).Truncate(time.Second)
	_, port, _ := net.SplitHostPort(c.RemoteAddress)
	id := fmt.Sprintf("%s:%s %s", c.Hostname, port, c.UserAgent)

	if len(c.PubCounts) > 0 {
		var total uint64
		var topics []byte
		for i, pc := range c.PubCounts {
			total += pc.Count
			if i > 0 {
				topics = append(topics, ',')
			}
			topics = fmt.Appendf(topics, "%s=%d", pc.Topic, pc.Count)
		}
		return fmt.Appendf(dst, "[%s %-21s] msgs: %-8d topics: %s connected: %s",
			c.Version, id, total, topics, connected)
	}
	return fmt.Appendf(dst, "[%s %-21s] state: %d inflt: %-4d rdy: %-4d fin: %-8d re-q: %-8d msgs: %-8d connected: %s",
		c.Version, id, c.State, c.InFlightCount, c.ReadyCount, c.FinishCount,
		c.RequeueCount, c.MessageCount, connected)
}

// String renders the configured percentiles' values as upstream's text
// /stats does ("1.2ms, 3.4ms"); it is empty when none are configured.
func (l Latency) String() string {
	var b []byte
	for i, p := range l.Percentiles {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendHumanNanos(b, p["value"])
	}
	return string(b)
}

// appendHumanNanos prints a nanosecond value with one decimal in the
// largest unit it exceeds (s, ms, us), else in ns.
func appendHumanNanos(dst []byte, v float64) []byte {
	unit := "ns"
	switch {
	case v > 1e9:
		v, unit = v/1e9, "s"
	case v > 1e6:
		v, unit = v/1e6, "ms"
	case v > 1e3:
		v, unit = v/1e3, "us"
	}
	return fmt.Appendf(dst, "%0.1f%s", v, unit)
}
