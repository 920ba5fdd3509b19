package engine

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// ProcessMemory is what the kernel counts as the process's resident
// memory (/proc/self/status), in bytes: RSS, and its two parts that
// matter here. Anon is the Go heap, goroutine stacks and buffers; File is
// mapped files: the nsqd binary's code and the log pages in use (written
// and read around now; see queue's release.go). All zero where /proc is
// unavailable.
type ProcessMemory struct {
	Resident, Anon, File int64
}

// ReadProcessMemory reads /proc/self/status. Safe for concurrent use; it
// does file I/O (of a procfs file: no disk), so not for event loops.
func ReadProcessMemory() ProcessMemory {
	var m ProcessMemory
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(k) {
		case "VmRSS":
			dst = &m.Resident
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := bytes.Fields(v) // "1234 kB"
		if len(f) > 0 {
			n, _ := strconv.ParseInt(string(f[0]), 10, 64)
			*dst = n << 10
		}
	}
	return m
}

// LogMappedBytes is the address space the topic logs and channel journals
// have mapped (queue.Log.MappedBytes): an upper bound of the log pages
// that can be resident, not what is. Safe for concurrent use.
func (e *Engine) LogMappedBytes() int64 {
	var n int64
	for _, t := range *e.topics.Load() {
		n += t.log.MappedBytes()
		for _, c := range t.channelList() {
			c.mu.Lock()
			if j := c.mu.journal; j != nil {
				n += j.MappedBytes()
			}
			c.mu.Unlock()
		}
	}
	return n
}
