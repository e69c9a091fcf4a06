// Package agent uploads goroutine dumps, runtime/metrics samples, MemStats
// and cgroup limits from inside a Go service to a gotriage server.
//
// It is built so that gotriage being slow or down never hurts the host
// service: every artefact goes through a small bounded queue, a single
// sender goroutine uploads with a timeout, and anything that does not fit
// or cannot be delivered is dropped and counted (see Agent.Stats).
//
//	a, err := agent.Start(ctx, agent.Config{
//		ServerURL: "https://gotriage.example.com",
//		Token:     os.Getenv("GOTRIAGE_TOKEN"),
//	})
//	if err != nil { log.Print(err) } else { defer a.Stop() }
package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds understood by the gotriage upload API.
const (
	KindGoroutineDebug2 = "goroutine_debug2"
	KindGoroutineProto  = "goroutine_proto"
	KindRuntimeMetrics  = "runtime_metrics"
	KindExpvar          = "expvar"
	KindCgroup          = "cgroup"
)

// Config configures the in-process agent. Zero values get safe defaults.
type Config struct {
	// ServerURL is the gotriage base URL, e.g. "https://gotriage.example.com".
	ServerURL string
	// Token is the agent token of the service (sent as a Bearer token).
	Token string
	// Instance names this process (pod or host). Default: $POD_NAME, else hostname.
	Instance string
	// Version is the release label of the running build (sent as &version=).
	Version string
	// Labels are extra label.<k>=<v> query parameters. POD_NAMESPACE is
	// added as "namespace" when set and not given.
	Labels map[string]string

	// Intervals per artefact; a negative value disables that artefact.
	// Defaults: goroutines 60s, runtime/metrics 30s, MemStats 30s, cgroup 5m.
	GoroutineInterval time.Duration
	MetricsInterval   time.Duration
	MemStatsInterval  time.Duration
	CgroupInterval    time.Duration
	// InitialDelay before the first collection (default 5s) so a starting
	// service is not dumped during its own startup.
	InitialDelay time.Duration

	// MaxTextGoroutines: above this many goroutines the dump is taken as the
	// compact protobuf profile instead of debug=2 text (default 20000),
	// because debug=2 text is ~1 KiB per goroutine and built in memory.
	MaxTextGoroutines int
	// MaxDumpBytes caps one debug=2 dump; larger dumps fall back to the
	// protobuf profile (default 32 MiB).
	MaxDumpBytes int

	// QueueSize bounds artefacts waiting for upload (default 8). When full,
	// new artefacts are dropped and counted.
	QueueSize int
	// Timeout per upload request (default 10s).
	Timeout time.Duration
	// Retries of one upload on a retryable failure (default 2), with
	// exponential backoff and jitter starting at RetryBase (default 1s).
	Retries   int
	RetryBase time.Duration
	// CgroupRoot is where cgroup files are read (default /sys/fs/cgroup).
	CgroupRoot string
	// HTTPClient overrides the client (e.g. custom TLS); its Timeout is
	// respected, otherwise Timeout applies per request.
	HTTPClient *http.Client
	// Logf receives rare diagnostic lines (default: log.Printf, rate limited).
	Logf func(format string, args ...any)
}

// Stats counts what the agent did since Start.
type Stats struct {
	Collected int64 // artefacts produced
	Sent      int64 // accepted by the server (2xx)
	Dropped   int64 // dropped: queue full, server unreachable after retries, or stop
	Rejected  int64 // permanent 4xx answers (bad token, too large, bad content)
	Failures  int64 // failed HTTP attempts (including retried ones)
}

// Agent is a running in-process agent.
type Agent struct {
	cfg    Config
	client *http.Client
	queue  chan *artefact
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	collected, sent, dropped, rejected, failures atomic.Int64
	lastLog                                      atomic.Int64
}

type artefact struct {
	kind       string
	body       []byte // gzip-compressed, or already-compressed when preEncoded
	capturedAt time.Time
	preEncoded bool // pprof protobuf is gzipped by runtime/pprof itself
}

// Start validates cfg, fills defaults and starts background collection.
// It never blocks on the network.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.ServerURL == "" {
		return nil, errors.New("gotriage agent: ServerURL is required")
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gotriage agent: bad ServerURL %q", cfg.ServerURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("gotriage agent: Token is required")
	}
	cfg = withDefaults(cfg)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Agent{cfg: cfg, client: client, queue: make(chan *artefact, cfg.QueueSize), cancel: cancel}

	a.wg.Add(1)
	go a.sendLoop(ctx)
	collectors := []struct {
		every time.Duration
		fn    func() (*artefact, error)
	}{
		{cfg.GoroutineInterval, a.collectGoroutines},
		{cfg.MetricsInterval, collectRuntimeMetrics},
		{cfg.MemStatsInterval, collectMemStats},
		{cfg.CgroupInterval, a.collectCgroup},
	}
	for _, c := range collectors {
		if c.every <= 0 {
			continue
		}
		a.wg.Add(1)
		go a.collectLoop(ctx, c.every, c.fn)
	}
	return a, nil
}

func withDefaults(c Config) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.GoroutineInterval, time.Minute)
	def(&c.MetricsInterval, 30*time.Second)
	def(&c.MemStatsInterval, 30*time.Second)
	def(&c.CgroupInterval, 5*time.Minute)
	def(&c.Timeout, 10*time.Second)
	def(&c.RetryBase, time.Second)
	if c.InitialDelay == 0 {
		c.InitialDelay = 5 * time.Second
	} else if c.InitialDelay < 0 {
		c.InitialDelay = 0
	}
	if c.MaxTextGoroutines <= 0 {
		c.MaxTextGoroutines = 20000
	}
	if c.MaxDumpBytes <= 0 {
		c.MaxDumpBytes = 32 << 20
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 2
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = "/sys/fs/cgroup"
	}
	if c.Instance == "" {
		c.Instance = os.Getenv("POD_NAME")
	}
	if c.Instance == "" {
		c.Instance, _ = os.Hostname()
	}
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" && labels["namespace"] == "" {
		labels["namespace"] = ns
	}
	c.Labels = labels
	return c
}

// Stop stops collection, gives queued artefacts a short moment to be sent
// and returns. Safe to call more than once.
func (a *Agent) Stop() {
	a.once.Do(func() {
		a.cancel()
		a.wg.Wait()
	})
}

// Stats returns counters since Start.
func (a *Agent) Stats() Stats {
	return Stats{
		Collected: a.collected.Load(), Sent: a.sent.Load(), Dropped: a.dropped.Load(),
		Rejected: a.rejected.Load(), Failures: a.failures.Load(),
	}
}

// CollectNow collects every enabled artefact once and queues it; useful at
// shutdown or from a debug handler. It never blocks on the network.
func (a *Agent) CollectNow() {
	fns := []func() (*artefact, error){}
	if a.cfg.GoroutineInterval > 0 {
		fns = append(fns, a.collectGoroutines)
	}
	if a.cfg.MetricsInterval > 0 {
		fns = append(fns, collectRuntimeMetrics)
	}
	if a.cfg.MemStatsInterval > 0 {
		fns = append(fns, collectMemStats)
	}
	if a.cfg.CgroupInterval > 0 {
		fns = append(fns, a.collectCgroup)
	}
	for _, fn := range fns {
		a.collectOnce(fn)
	}
}

func (a *Agent) collectLoop(ctx context.Context, every time.Duration, fn func() (*artefact, error)) {
	defer a.wg.Done()
	delay := a.cfg.InitialDelay
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		a.collectOnce(fn)
		delay = every
	}
}

func (a *Agent) collectOnce(fn func() (*artefact, error)) {
	art, err := fn()
	if err != nil {
		a.logf("gotriage agent: collect: %v", err)
		return
	}
	if art == nil {
		return
	}
	a.collected.Add(1)
	select {
	case a.queue <- art:
	default:
		// Queue full: gotriage is slow or down. Dropping keeps memory bounded.
		a.dropped.Add(1)
	}
}

func (a *Agent) sendLoop(ctx context.Context) {
	defer a.wg.Done()
	for {
		select {
		case <-ctx.Done():
			a.drainOnStop()
			return
		case art := <-a.queue:
			a.deliver(ctx, art)
		}
	}
}

// drainOnStop tries what is queued once, briefly; the rest is dropped.
func (a *Agent) drainOnStop() {
	deadline := time.Now().Add(2 * time.Second)
	for {
		select {
		case art := <-a.queue:
			if time.Now().After(deadline) {
				a.dropped.Add(1)
				continue
			}
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			if code, err := a.post(ctx, art); err != nil || code >= 300 {
				a.dropped.Add(1)
			} else {
				a.sent.Add(1)
			}
			cancel()
		default:
			return
		}
	}
}

func (a *Agent) deliver(ctx context.Context, art *artefact) {
	for attempt := 0; ; attempt++ {
		code, err := a.post(ctx, art)
		switch {
		case err == nil && code >= 200 && code < 300:
			a.sent.Add(1)
			return
		case err == nil && code >= 400 && code < 500 && code != 408 && code != 429:
			a.rejected.Add(1)
			a.logf("gotriage agent: upload of %s rejected with HTTP %d (not retried)", art.kind, code)
			return
		}
		a.failures.Add(1)
		if attempt >= a.cfg.Retries || ctx.Err() != nil {
			a.dropped.Add(1)
			if err != nil {
				a.logf("gotriage agent: dropping %s after %d attempts: %v", art.kind, attempt+1, err)
			} else {
				a.logf("gotriage agent: dropping %s after %d attempts: HTTP %d", art.kind, attempt+1, code)
			}
			return
		}
		t := time.NewTimer(Backoff(attempt, a.cfg.RetryBase, 30*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			a.dropped.Add(1)
			return
		case <-t.C:
		}
	}
}

// Backoff returns the delay before retry number attempt (0-based): full
// jitter over an exponentially growing window, so many agents hitting a
// recovering server do not retry in lockstep.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if attempt > 30 {
		attempt = 30
	}
	window := base << uint(attempt)
	if window > max || window <= 0 {
		window = max
	}
	// Half fixed, half random: never retries immediately, never exceeds window.
	return window/2 + time.Duration(rand.Int63n(int64(window/2)+1))
}

func (a *Agent) post(ctx context.Context, art *artefact) (int, error) {
	q := url.Values{}
	q.Set("instance", a.cfg.Instance)
	q.Set("kind", art.kind)
	q.Set("captured_at", art.capturedAt.UTC().Format(time.RFC3339))
	q.Set("go_version", runtime.Version())
	if a.cfg.Version != "" {
		q.Set("version", a.cfg.Version)
	}
	keys := make([]string, 0, len(a.cfg.Labels))
	for k := range a.cfg.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set("label."+k, a.cfg.Labels[k])
	}
	endpoint := trimSlash(a.cfg.ServerURL) + "/api/v1/uploads/?" + q.Encode()
	if a.cfg.HTTPClient != nil || a.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(art.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	if !art.preEncoded {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("Content-Type", contentType(art.kind))
	req.Header.Set("User-Agent", "gotriage-agent-go/"+Version+" "+runtime.Version())
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain a little so the connection can be reused; the body is tiny JSON.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Version of this package, sent in the User-Agent.
const Version = "0.1.0"

func contentType(kind string) string {
	switch kind {
	case KindGoroutineProto:
		return "application/octet-stream"
	case KindRuntimeMetrics, KindExpvar:
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// logf rate-limits diagnostics to one line per 30s so a down server does
// not flood the host service's logs.
func (a *Agent) logf(format string, args ...any) {
	now := time.Now().UnixNano()
	last := a.lastLog.Load()
	if now-last < int64(30*time.Second) || !a.lastLog.CompareAndSwap(last, now) {
		return
	}
	if a.cfg.Logf != nil {
		a.cfg.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func gz(raw []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(raw)/4 + 64)
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = w.Write(raw)
	_ = w.Close()
	return buf.Bytes()
}
