package broker

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"
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

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 100

// ProcCPU returns the CPU time (user and system) the process has used,
// from /proc/<pid>/stat (Linux only).
func ProcCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("broker: no process")
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(data)
}

// parseStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) may hold spaces and parentheses, so the
// fields are counted after its last ')'.
func parseStat(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("broker: bad stat")
	}
	f := bytes.Fields(data[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("broker: short stat")
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || v < 0 || v > 1<<50 {
			return 0, errors.New("broker: bad stat times")
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}
