package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"
)

// Benign background goroutines with stable counts: a worker pool idle on a
// channel receive, a ticker-driven janitor, and the keep-alive client of the
// traffic driver. gotriage must not flag these.

type job struct {
	data  []byte
	reply chan [32]byte
}

var jobs = make(chan job)

func worker() {
	for j := range jobs { // idle workers wait here: benign
		j.reply <- sha256.Sum256(j.data)
	}
}

func janitor() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		cacheMu.Lock() // periodic housekeeping touching shared state
		_ = len(cache)
		cacheMu.Unlock()
	}
}

func registerBenign(mux *http.ServeMux, workers int) {
	for i := 0; i < workers; i++ {
		go worker()
	}
	go janitor()
	mux.HandleFunc("/api/work", func(w http.ResponseWriter, r *http.Request) {
		j := job{data: make([]byte, 4096), reply: make(chan [32]byte, 1)}
		select {
		case jobs <- j:
			fmt.Fprintf(w, "%x\n", <-j.reply)
		case <-time.After(time.Second):
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/api/ping", func(w http.ResponseWriter, r *http.Request) {
		// A little garbage per request keeps the GC cycling, which also keeps
		// goroutine "N minutes" wait times accurate (they update at GC).
		buf := make([]byte, 64<<10)
		buf[0] = 1
		fmt.Fprintf(w, "pong %d\n", len(buf))
	})
}
