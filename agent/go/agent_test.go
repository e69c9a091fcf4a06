package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

type upload struct {
	query  map[string]string
	header http.Header
	body   []byte // decoded
}

type recorder struct {
	mu      sync.Mutex
	uploads []upload
	status  func(n int) int // status for the n-th request (0-based)
	n       int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			raw, _ = io.ReadAll(zr)
		}
	}
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = v[0]
	}
	rc.mu.Lock()
	n := rc.n
	rc.n++
	code := 202
	if rc.status != nil {
		code = rc.status(n)
	}
	if r.URL.Path == "/api/v1/uploads/" && code < 300 {
		rc.uploads = append(rc.uploads, upload{query: q, header: r.Header.Clone(), body: raw})
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"id":"1","status":"received","url":"/x"}`))
}

func (rc *recorder) byKind() map[string]upload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]upload{}
	for _, u := range rc.uploads {
		m[u.query["kind"]] = u
	}
	return m
}

func (rc *recorder) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

func fakeCgroupV2(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"cgroup.controllers": "cpu memory pids\n",
		"memory.max":         "536870912\n",
		"memory.current":     "12345678\n",
		"cpu.max":            "200000 100000\n",
		"memory.stat":        "anon 1000\nfile 2000\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met within %v", d)
}

func fastConfig(url string) Config {
	return Config{
		ServerURL: url, Token: "tok-123", Instance: "pod-a", Version: "v1.2.3",
		Labels:            map[string]string{"team": "core"},
		GoroutineInterval: 50 * time.Millisecond, MetricsInterval: 50 * time.Millisecond,
		MemStatsInterval: 50 * time.Millisecond, CgroupInterval: 50 * time.Millisecond,
		InitialDelay: -1, RetryBase: 5 * time.Millisecond, Timeout: 2 * time.Second,
		Logf: func(string, ...any) {},
	}
}

func TestUploadsArriveWithHeaders(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := fastConfig(srv.URL + "/") // trailing slash must not double up
	cfg.CgroupRoot = fakeCgroupV2(t)
	a, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	want := []string{KindGoroutineDebug2, KindRuntimeMetrics, KindExpvar, KindCgroup}
	waitFor(t, 5*time.Second, func() bool {
		m := rc.byKind()
		for _, k := range want {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		return true
	})
	m := rc.byKind()
	for _, k := range want {
		u := m[k]
		if got := u.header.Get("Authorization"); got != "Bearer tok-123" {
			t.Errorf("%s: Authorization = %q", k, got)
		}
		if got := u.header.Get("Content-Encoding"); got != "gzip" {
			t.Errorf("%s: Content-Encoding = %q", k, got)
		}
		if u.query["instance"] != "pod-a" || u.query["version"] != "v1.2.3" || u.query["label.team"] != "core" {
			t.Errorf("%s: query = %v", k, u.query)
		}
		if u.query["go_version"] != runtime.Version() {
			t.Errorf("%s: go_version = %q", k, u.query["go_version"])
		}
		if _, err := time.Parse(time.RFC3339, u.query["captured_at"]); err != nil {
			t.Errorf("%s: captured_at %q: %v", k, u.query["captured_at"], err)
		}
	}
	if d := string(m[KindGoroutineDebug2].body); !strings.Contains(d, "goroutine ") || !strings.Contains(d, "gotriage.dev/agent") {
		t.Errorf("goroutine dump looks wrong: %.200s", d)
	}
	var ms struct {
		Memstats map[string]any `json:"memstats"`
	}
	if err := json.Unmarshal(m[KindExpvar].body, &ms); err != nil || ms.Memstats["HeapAlloc"] == nil {
		t.Errorf("memstats JSON: %v %.200s", err, m[KindExpvar].body)
	}
	if c := string(m[KindCgroup].body); !strings.Contains(c, "memory.max <==\n536870912") || !strings.Contains(c, "cpu.max <==\n200000 100000") {
		t.Errorf("cgroup body: %q", c)
	}
	st := a.Stats()
	if st.Sent < 4 {
		t.Errorf("stats: %+v", st)
	}
}

func TestRuntimeMetricsJSONShape(t *testing.T) {
	raw, err := RuntimeMetricsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["/sched/goroutines:goroutines"].(float64); !ok {
		t.Errorf("missing /sched/goroutines:goroutines")
	}
	h, ok := m["/gc/heap/allocs-by-size:bytes"].(map[string]any)
	if !ok {
		t.Fatalf("histogram missing")
	}
	b, c := h["buckets"].([]any), h["counts"].([]any)
	if len(b) != len(c)+1 {
		t.Errorf("buckets %d counts %d", len(b), len(c))
	}
}

func TestProtoFallbackForManyGoroutines(t *testing.T) {
	art, err := goroutineDump(1, 32<<20) // any process has >1 goroutine here
	if err != nil {
		t.Fatal(err)
	}
	if art.kind != KindGoroutineProto || !art.preEncoded || !bytes.HasPrefix(art.body, []byte{0x1f, 0x8b}) {
		t.Fatalf("got kind %s preEncoded %v", art.kind, art.preEncoded)
	}
	art, err = goroutineDump(1<<20, 100) // cap hit
	if err != nil || art.kind != KindGoroutineProto {
		t.Fatalf("byte cap: kind %v err %v", art.kind, err)
	}
}

func TestProtoUploadHasNoContentEncoding(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := fastConfig(srv.URL)
	cfg.MaxTextGoroutines = 1
	cfg.MetricsInterval, cfg.MemStatsInterval, cfg.CgroupInterval = -1, -1, -1
	a, _ := Start(context.Background(), cfg)
	defer a.Stop()
	waitFor(t, 5*time.Second, func() bool { _, ok := rc.byKind()[KindGoroutineProto]; return ok })
	if ce := rc.byKind()[KindGoroutineProto].header.Get("Content-Encoding"); ce != "" {
		t.Errorf("proto must be sent as-is, got Content-Encoding %q", ce)
	}
}

func TestDropCounterWhenServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	cfg := fastConfig(url)
	cfg.QueueSize = 2
	cfg.Retries = 1
	cfg.CgroupRoot = fakeCgroupV2(t)
	before := runtime.NumGoroutine()
	a, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return a.Stats().Dropped >= 5 })
	start := time.Now()
	a.Stop()
	if time.Since(start) > 3*time.Second {
		t.Errorf("Stop took %v", time.Since(start))
	}
	st := a.Stats()
	if st.Sent != 0 || st.Failures == 0 {
		t.Errorf("stats: %+v", st)
	}
	// Everything the agent started has ended: no goroutine growth in the host.
	waitFor(t, 2*time.Second, func() bool { return runtime.NumGoroutine() <= before+1 })
}

func TestSlowServerDoesNotBlockCollectors(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(202)
	}))
	defer srv.Close()
	defer close(release)
	cfg := fastConfig(srv.URL)
	cfg.QueueSize = 1
	cfg.Timeout = 10 * time.Second
	a, _ := Start(context.Background(), cfg)
	// The sender is stuck on one request; collectors keep running and drop.
	waitFor(t, 5*time.Second, func() bool { return a.Stats().Dropped >= 3 })
	if st := a.Stats(); st.Collected < 4 {
		t.Errorf("collectors stalled: %+v", st)
	}
	a.Stop()
}

func TestRetryThenSuccessAndPermanentRejection(t *testing.T) {
	rc := &recorder{status: func(n int) int {
		if n < 2 {
			return 503
		}
		return 202
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := fastConfig(srv.URL)
	cfg.Retries = 3
	cfg.MetricsInterval, cfg.MemStatsInterval, cfg.CgroupInterval = -1, -1, -1
	cfg.GoroutineInterval = time.Hour
	a, _ := Start(context.Background(), cfg)
	waitFor(t, 5*time.Second, func() bool { return a.Stats().Sent == 1 })
	a.Stop()
	if st := a.Stats(); st.Failures != 2 || st.Dropped != 0 || rc.requests() != 3 {
		t.Errorf("stats %+v requests %d", st, rc.requests())
	}

	rc2 := &recorder{status: func(int) int { return 401 }}
	srv2 := httptest.NewServer(rc2)
	defer srv2.Close()
	cfg.ServerURL = srv2.URL
	a2, _ := Start(context.Background(), cfg)
	waitFor(t, 5*time.Second, func() bool { return a2.Stats().Rejected == 1 })
	time.Sleep(50 * time.Millisecond)
	a2.Stop()
	if rc2.requests() != 1 {
		t.Errorf("401 must not be retried; got %d requests", rc2.requests())
	}
}

func TestBackoffBounds(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for attempt := 0; attempt < 40; attempt++ {
		window := base << uint(min(attempt, 30))
		if window > max || window <= 0 {
			window = max
		}
		for i := 0; i < 50; i++ {
			d := Backoff(attempt, base, max)
			if d < window/2 || d > window {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, window/2, window)
			}
		}
	}
}

func TestStartValidates(t *testing.T) {
	for _, c := range []Config{{}, {ServerURL: "ftp://x", Token: "t"}, {ServerURL: "http://x"}} {
		if _, err := Start(context.Background(), c); err == nil {
			t.Errorf("Start(%+v) succeeded", c)
		}
	}
}
