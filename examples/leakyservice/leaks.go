package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Each leak is one endpoint the traffic driver calls when the leak is on.
// The line where leaked goroutines block carries a `// LEAK: <name>` marker
// so tests and docs find it by grep rather than by a line number that rots.
var leakPaths = map[string]string{
	"chan_send":       "/api/lookup",
	"wg_missing_done": "/api/batch",
	"http_body":       "/api/proxy",
	"heap":            "/api/cache",
}

func leakNames() []string {
	names := make([]string, 0, len(leakPaths))
	for n := range leakPaths {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func parseLeaks(s string) ([]string, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	if s == "all" {
		return leakNames(), nil
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if _, ok := leakPaths[n]; !ok {
			return nil, fmt.Errorf("unknown leak %q (known: %s)", n, strings.Join(leakNames(), ", "))
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// leakMax caps each goroutine leak so a forgotten demo cannot exhaust the
// host (the http_body leak holds two file descriptors per request); past the
// cap the endpoint behaves correctly.
var (
	leakMax   int64    = 2000
	leakCount sync.Map // name -> *atomic.Int64
)

func leakAllowed(name string) bool {
	v, _ := leakCount.LoadOrStore(name, new(atomic.Int64))
	return v.(*atomic.Int64).Add(1) <= leakMax
}

func registerLeaks(mux *http.ServeMux) {
	mux.HandleFunc(leakPaths["chan_send"], handleLookup)
	mux.HandleFunc(leakPaths["wg_missing_done"], handleBatch)
	mux.HandleFunc(leakPaths["http_body"], handleProxy)
	mux.HandleFunc(leakPaths["heap"], handleCache)
	mux.HandleFunc("/api/upstream", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"price": 42}`)
	})
}

// --- chan_send: the caller times out and nobody receives the result. -----

func slowLookup(key string) string {
	time.Sleep(20 * time.Millisecond)
	return "value-of-" + key
}

func lookupWithTimeout(key string, timeout time.Duration, leak bool) (string, error) {
	result := make(chan string) // unbuffered: the bug (make(chan string, 1) fixes it)
	if !leak {
		result = make(chan string, 1)
	}
	go func() {
		v := slowLookup(key)
		result <- v // LEAK: chan_send
	}()
	select {
	case v := <-result:
		return v, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("lookup %q timed out", key)
	}
}

func handleLookup(w http.ResponseWriter, r *http.Request) {
	leakStarted.Add("chan_send", 1)
	v, err := lookupWithTimeout(r.URL.Query().Get("k"), 5*time.Millisecond, leakAllowed("chan_send"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
		return
	}
	fmt.Fprintln(w, v)
}

// --- wg_missing_done: one branch returns without wg.Done(). -------------

type batchResult struct {
	mu    sync.Mutex
	parts []int
}

func processPart(i int, res *batchResult, wg *sync.WaitGroup, leak bool) {
	if leak && i%4 == 3 {
		return // skipped parts "have nothing to do" — and forget wg.Done()
	}
	defer wg.Done()
	res.mu.Lock()
	res.parts = append(res.parts, i*i)
	res.mu.Unlock()
}

func collectBatch(res *batchResult, wg *sync.WaitGroup, done func(int)) {
	wg.Wait() // LEAK: wg_missing_done
	done(len(res.parts))
}

func handleBatch(w http.ResponseWriter, r *http.Request) {
	leakStarted.Add("wg_missing_done", 1)
	res := &batchResult{}
	leak := leakAllowed("wg_missing_done")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go processPart(i, res, &wg, leak)
	}
	// The summary is written asynchronously; the request does not wait.
	go collectBatch(res, &wg, func(n int) {})
	w.WriteHeader(http.StatusAccepted)
}

// --- http_body: the response body is never closed. ----------------------
// The connection (and its readLoop/writeLoop goroutines in net/http) can
// never be reused or freed, so each request leaks two transport goroutines
// plus one server connection goroutine. Those block inside net/http; the
// application line that causes it is marked below.

var upstreamClient = &http.Client{Transport: &http.Transport{}}

func handleProxy(w http.ResponseWriter, r *http.Request) {
	leakStarted.Add("http_body", 1)
	resp, err := upstreamClient.Get("http://" + r.Host + "/api/upstream") // LEAK: http_body
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	// BUG: no defer resp.Body.Close() and the body is not read.
	if !leakAllowed("http_body") {
		drain(resp)
	}
	w.WriteHeader(resp.StatusCode)
}

// --- heap: memory grows, goroutines do not. -----------------------------

var (
	cacheMu       sync.Mutex
	cache         [][]byte
	cacheBytes    int64
	heapLeakChunk = 16 << 10
	heapLeakMax   = int64(256 << 20)
)

func handleCache(w http.ResponseWriter, r *http.Request) {
	leakStarted.Add("heap", 1)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if cacheBytes+int64(heapLeakChunk) <= heapLeakMax {
		buf := make([]byte, heapLeakChunk)
		for i := range buf {
			buf[i] = byte(i) // touch the pages so RSS grows too
		}
		cache = append(cache, buf) // LEAK: heap
		cacheBytes += int64(heapLeakChunk)
	}
	fmt.Fprintf(w, "cached %d bytes\n", cacheBytes)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
