package broker

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
)

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM, the peak RSS since start, bytes
	// Anon is RssAnon: the resident memory that is not file pages. A
	// broker that maps its data files (ours) counts those pages in RSS
	// although the kernel can drop them at any time; Anon leaves them out.
	Anon int64
}

// ProcMemory reads /proc/<pid>/status (Linux only).
func ProcMemory(pid int) (Memory, error) {
	if pid <= 0 {
		return Memory{}, errors.New("broker: no process")
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(data)
}

// parseStatus finds VmRSS, VmHWM and RssAnon ("VmRSS:	  1234 kB") in a
// /proc/<pid>/status document.
func parseStatus(data []byte) (Memory, error) {
	var m Memory
	var found int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		case "RssAnon":
			dst = &m.Anon
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return Memory{}, errors.New("broker: bad " + string(key) + " line")
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return Memory{}, errors.New("broker: bad " + string(key) + " value")
		}
		*dst = kb << 10
		found++
	}
	if m.RSS == 0 && found == 0 {
		return Memory{}, errors.New("broker: no VmRSS in status")
	}
	return m, nil
}
