// Command leakyservice is a small HTTP service whose goroutine and heap
// leaks can be switched on by flag. It drives its own traffic (-rps) so a
// leak grows without external load, and serves /debug/pprof/, /debug/vars,
// /debug/metrics (runtime/metrics JSON) and /metrics (Prometheus text) for
// the gotriage sidecar. With -gotriage-url it also runs the in-process agent.
package main

import (
	"context"
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on the default mux
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"gotriage.dev/agent"
)

var (
	requestsTotal = expvar.NewInt("requests_total")
	leakStarted   = expvar.NewMap("leaks_started")
	started       = time.Now()
	inflight      atomic.Int64
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	leaks := flag.String("leak", "", "comma-separated leaks to switch on: "+strings.Join(leakNames(), ",")+" (or all)")
	flag.Int64Var(&leakMax, "leak-max", leakMax, "stop leaking after this many leaked requests per leak (protects the host)")
	rps := flag.Float64("rps", 5, "self-driven requests per second to every enabled endpoint (0 = none)")
	workers := flag.Int("workers", 4, "benign worker-pool size")
	heapChunk := flag.Int("heap-chunk", 16<<10, "bytes retained per request by the heap leak")
	heapMax := flag.Int64("heap-max", 256<<20, "cap on bytes retained by the heap leak (protects the host)")
	gtURL := flag.String("gotriage-url", os.Getenv("GOTRIAGE_URL"), "gotriage server URL: enables the in-process agent")
	gtToken := flag.String("gotriage-token", "", "gotriage agent token (or env GOTRIAGE_TOKEN)")
	gtInterval := flag.Duration("gotriage-interval", 30*time.Second, "in-process agent interval for every artefact")
	gtInstance := flag.String("gotriage-instance", "", "instance name sent by the in-process agent (default pod/host)")
	flag.Parse()

	enabled, err := parseLeaks(*leaks)
	if err != nil {
		log.Fatal(err)
	}
	heapLeakChunk, heapLeakMax = *heapChunk, *heapMax

	expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	expvar.Publish("gomaxprocs", expvar.Func(func() any { return runtime.GOMAXPROCS(0) }))
	expvar.Publish("go_version", expvar.Func(func() any { return runtime.Version() }))
	expvar.Publish("uptime_seconds", expvar.Func(func() any { return time.Since(started).Seconds() }))
	expvar.Publish("leaks", expvar.Func(func() any { return strings.Join(enabled, ",") }))

	mux := http.DefaultServeMux
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/metrics", servePrometheus)
	mux.HandleFunc("/debug/metrics", serveRuntimeMetrics)
	registerBenign(mux, *workers)
	registerLeaks(mux)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: counting(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	log.Printf("leakyservice listening on %s leaks=%q rps=%g %s", base, strings.Join(enabled, ","), *rps, runtime.Version())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *gtURL != "" {
		tok := *gtToken
		if tok == "" {
			tok = os.Getenv("GOTRIAGE_TOKEN")
		}
		a, err := agent.Start(ctx, agent.Config{
			ServerURL: *gtURL, Token: tok, Instance: *gtInstance,
			GoroutineInterval: *gtInterval, MetricsInterval: *gtInterval, MemStatsInterval: *gtInterval,
			InitialDelay: 2 * time.Second,
			Labels:       map[string]string{"app": "leakyservice"},
		})
		if err != nil {
			log.Printf("gotriage agent disabled: %v", err)
		} else {
			log.Printf("gotriage in-process agent uploading to %s every %v", *gtURL, *gtInterval)
			defer a.Stop()
		}
	}

	go driveTraffic(ctx, base, *rps, enabled)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
}

func counting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestsTotal.Add(1)
		inflight.Add(1)
		defer inflight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// driveTraffic calls the benign endpoints and every enabled leak endpoint
// rps times a second, with a well-behaved keep-alive client.
func driveTraffic(ctx context.Context, base string, rps float64, enabled []string) {
	if rps <= 0 {
		return
	}
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/api/work", "/api/ping"}
	for _, name := range enabled {
		paths = append(paths, leakPaths[name])
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, p := range paths {
			resp, err := client.Get(base + p)
			if err != nil {
				continue
			}
			drain(resp)
		}
	}
}
