package promtext

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// processStart approximates the process's start time: package
// initialisation runs before main.
var processStart = time.Now()

// goMemStats are the go_memstats_* families, named as the Prometheus Go
// client names them so that existing dashboards work.
var goMemStats = []struct {
	name, typ, help string
	value           func(*runtime.MemStats) float64
}{
	{"go_memstats_alloc_bytes", Gauge, "Bytes of allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.Alloc) }},
	{"go_memstats_alloc_bytes_total", Counter, "Bytes allocated for heap objects, even if freed.", func(m *runtime.MemStats) float64 { return float64(m.TotalAlloc) }},
	{"go_memstats_sys_bytes", Gauge, "Bytes of memory obtained from the OS.", func(m *runtime.MemStats) float64 { return float64(m.Sys) }},
	{"go_memstats_mallocs_total", Counter, "Heap objects allocated.", func(m *runtime.MemStats) float64 { return float64(m.Mallocs) }},
	{"go_memstats_frees_total", Counter, "Heap objects freed.", func(m *runtime.MemStats) float64 { return float64(m.Frees) }},
	{"go_memstats_heap_alloc_bytes", Gauge, "Bytes of allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.HeapAlloc) }},
	{"go_memstats_heap_sys_bytes", Gauge, "Bytes of heap memory obtained from the OS.", func(m *runtime.MemStats) float64 { return float64(m.HeapSys) }},
	{"go_memstats_heap_idle_bytes", Gauge, "Bytes in idle (unused) heap spans.", func(m *runtime.MemStats) float64 { return float64(m.HeapIdle) }},
	{"go_memstats_heap_inuse_bytes", Gauge, "Bytes in in-use heap spans.", func(m *runtime.MemStats) float64 { return float64(m.HeapInuse) }},
	{"go_memstats_heap_released_bytes", Gauge, "Bytes of heap memory returned to the OS.", func(m *runtime.MemStats) float64 { return float64(m.HeapReleased) }},
	{"go_memstats_heap_objects", Gauge, "Allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.HeapObjects) }},
	{"go_memstats_stack_inuse_bytes", Gauge, "Bytes in stack spans.", func(m *runtime.MemStats) float64 { return float64(m.StackInuse) }},
	{"go_memstats_next_gc_bytes", Gauge, "Heap size target of the next GC cycle.", func(m *runtime.MemStats) float64 { return float64(m.NextGC) }},
	{"go_memstats_last_gc_time_seconds", Gauge, "Time the last GC cycle finished, in seconds since the epoch.", func(m *runtime.MemStats) float64 { return float64(m.LastGC) / 1e9 }},
}

// GoRuntime writes the Go runtime's families: go_info, go_goroutines,
// go_threads, go_gc_duration_seconds and go_memstats_*. It stops the world
// briefly (runtime.ReadMemStats), as a scrape of the Prometheus client does.
func (w *Writer) GoRuntime() {
	w.Family("go_info", Gauge, "Information about the Go environment.")
	w.Sample("go_info", 1, "version", runtime.Version())
	w.Family("go_goroutines", Gauge, "Number of goroutines that currently exist.")
	w.Sample("go_goroutines", float64(runtime.NumGoroutine()))
	w.Family("go_threads", Gauge, "Number of OS threads created.")
	w.Sample("go_threads", float64(pprof.Lookup("threadcreate").Count()))

	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5) // min, 25%, 50%, 75%, max
	debug.ReadGCStats(&gc)
	qs := make([]Quantile, len(gc.PauseQuantiles))
	for i, d := range gc.PauseQuantiles {
		qs[i] = Quantile{Quantile: float64(i) / 4, Value: d.Seconds()}
	}
	w.Family("go_gc_duration_seconds", Summary, "A summary of the pause duration of garbage collection cycles.")
	w.Summary("go_gc_duration_seconds", qs, gc.PauseTotal.Seconds(), uint64(gc.NumGC))

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, m := range goMemStats {
		w.Family(m.name, m.typ, m.help)
		w.Sample(m.name, m.value(&ms))
	}
}

// Process writes the process_* families the Prometheus client writes on
// Linux: CPU time, open and maximum file descriptors, resident and virtual
// memory, start time. Figures the system does not provide are left out.
func (w *Writer) Process() {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		w.Family("process_cpu_seconds_total", Counter, "Total user and system CPU time spent in seconds.")
		w.Sample("process_cpu_seconds_total", cpu.Seconds())
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		w.Family("process_open_fds", Gauge, "Number of open file descriptors.")
		w.Sample("process_open_fds", float64(len(fds)))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		w.Family("process_max_fds", Gauge, "Maximum number of open file descriptors.")
		w.Sample("process_max_fds", float64(lim.Cur))
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		// statm: size resident shared text lib data dt, in pages
		f := strings.Fields(string(b))
		page := float64(os.Getpagesize())
		if len(f) >= 2 {
			size, err1 := strconv.ParseUint(f[0], 10, 64)
			rss, err2 := strconv.ParseUint(f[1], 10, 64)
			if err1 == nil && err2 == nil {
				w.Family("process_virtual_memory_bytes", Gauge, "Virtual memory size in bytes.")
				w.Sample("process_virtual_memory_bytes", float64(size)*page)
				w.Family("process_resident_memory_bytes", Gauge, "Resident memory size in bytes.")
				w.Sample("process_resident_memory_bytes", float64(rss)*page)
			}
		}
	}
	w.Family("process_start_time_seconds", Gauge, "Start time of the process since unix epoch in seconds.")
	w.Sample("process_start_time_seconds", float64(processStart.UnixNano())/1e9)
}
