package main

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"

	"gotriage.dev/agent"
)

// servePrometheus writes a handful of client_golang-named metrics in the
// Prometheus text format, without the client library (stdlib only).
func servePrometheus(w http.ResponseWriter, r *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	g := func(name, help, typ string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	g("go_goroutines", "Number of goroutines that currently exist.", "gauge", runtime.NumGoroutine())
	fmt.Fprintf(w, "# HELP go_info Information about the Go environment.\n# TYPE go_info gauge\ngo_info{version=%q} 1\n", runtime.Version())
	g("go_memstats_alloc_bytes", "Number of bytes allocated and still in use.", "gauge", ms.Alloc)
	g("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", "gauge", ms.HeapAlloc)
	g("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", "gauge", ms.HeapInuse)
	g("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.", "gauge", ms.HeapIdle)
	g("go_memstats_heap_released_bytes", "Number of heap bytes released to OS.", "gauge", ms.HeapReleased)
	g("go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system.", "gauge", ms.HeapSys)
	g("go_memstats_heap_objects", "Number of allocated objects.", "gauge", ms.HeapObjects)
	g("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", "gauge", ms.NextGC)
	g("go_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator.", "gauge", ms.StackInuse)
	g("go_memstats_sys_bytes", "Number of bytes obtained from system.", "gauge", ms.Sys)
	g("go_memstats_mallocs_total", "Total number of mallocs.", "counter", ms.Mallocs)
	g("go_memstats_frees_total", "Total number of frees.", "counter", ms.Frees)
	g("go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata.", "gauge", ms.GCSys)
	g("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", "gauge", float64(ms.LastGC)/1e9)
	fmt.Fprintf(w, "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n# TYPE go_gc_duration_seconds summary\n")
	fmt.Fprintf(w, "go_gc_duration_seconds_sum %g\ngo_gc_duration_seconds_count %d\n", float64(ms.PauseTotalNs)/1e9, ms.NumGC)
	g("go_gc_gogc_percent", "Heap size target percentage configured by GOGC.", "gauge", s[0].Value.Uint64())
	g("go_gc_gomemlimit_bytes", "Go runtime memory limit configured by GOMEMLIMIT.", "gauge", s[1].Value.Uint64())
	g("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", "gauge", runtime.GOMAXPROCS(0))
	g("leakyservice_requests_total", "HTTP requests served.", "counter", requestsTotal.Value())
}

// serveRuntimeMetrics serves every runtime/metrics sample as JSON, the
// kind=runtime_metrics format gotriage reads.
func serveRuntimeMetrics(w http.ResponseWriter, r *http.Request) {
	raw, err := agent.RuntimeMetricsJSON()
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}
