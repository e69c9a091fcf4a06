package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

var errTooBig = errors.New("dump exceeds MaxDumpBytes")

// capWriter refuses writes past max so a huge debug=2 dump is abandoned
// rather than uploaded.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, errTooBig
	}
	return w.buf.Write(p)
}

func (a *Agent) collectGoroutines() (*artefact, error) {
	return goroutineDump(a.cfg.MaxTextGoroutines, a.cfg.MaxDumpBytes)
}

// goroutineDump takes debug=2 text when the process is small enough and the
// protobuf profile (aggregated by stack, already gzipped) otherwise.
func goroutineDump(maxText, maxBytes int) (*artefact, error) {
	now := time.Now()
	p := pprof.Lookup("goroutine")
	if runtime.NumGoroutine() <= maxText {
		w := &capWriter{max: maxBytes}
		if err := p.WriteTo(w, 2); err == nil {
			return &artefact{kind: KindGoroutineDebug2, body: gz(w.buf.Bytes()), capturedAt: now}, nil
		} else if !errors.Is(err, errTooBig) {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 0); err != nil {
		return nil, err
	}
	return &artefact{kind: KindGoroutineProto, body: buf.Bytes(), capturedAt: now, preEncoded: true}, nil
}

// RuntimeMetricsJSON renders every runtime/metrics sample as
// {name: value}; histograms as {"buckets": [...], "counts": [...]} with
// len(buckets) == len(counts)+1 and ±Inf written as the strings "+Inf"/"-Inf"
// (JSON has no infinities). This is the format gotriage reads as
// kind=runtime_metrics; services may also serve it at /debug/metrics.
func RuntimeMetricsJSON() ([]byte, error) {
	descs := metrics.All()
	samples := make([]metrics.Sample, len(descs))
	for i := range descs {
		samples[i].Name = descs[i].Name
	}
	metrics.Read(samples)
	out := make(map[string]any, len(samples))
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			out[s.Name] = jsonFloat(s.Value.Float64())
		case metrics.KindFloat64Histogram:
			h := s.Value.Float64Histogram()
			b := make([]any, len(h.Buckets))
			for i, v := range h.Buckets {
				b[i] = jsonFloat(v)
			}
			out[s.Name] = map[string]any{"buckets": b, "counts": h.Counts}
		}
	}
	return json.Marshal(out)
}

func jsonFloat(v float64) any {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return v
}

func collectRuntimeMetrics() (*artefact, error) {
	now := time.Now()
	raw, err := RuntimeMetricsJSON()
	if err != nil {
		return nil, err
	}
	return &artefact{kind: KindRuntimeMetrics, body: gz(raw), capturedAt: now}, nil
}

// MemStatsJSON renders runtime.MemStats the way expvar does
// ({"memstats": {...}}) plus a few process facts expvar users commonly add.
// cmdline is left out on purpose: flags may carry secrets.
func MemStatsJSON() ([]byte, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return json.Marshal(map[string]any{
		"memstats":   &ms,
		"goroutines": runtime.NumGoroutine(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"go_version": runtime.Version(),
	})
}

func collectMemStats() (*artefact, error) {
	now := time.Now()
	raw, err := MemStatsJSON()
	if err != nil {
		return nil, err
	}
	return &artefact{kind: KindExpvar, body: gz(raw), capturedAt: now}, nil
}

func (a *Agent) collectCgroup() (*artefact, error) {
	raw := CgroupSnapshot(a.cfg.CgroupRoot)
	if raw == nil {
		return nil, nil // not in a cgroup-limited environment; nothing to say
	}
	return &artefact{kind: KindCgroup, body: gz(raw), capturedAt: time.Now()}, nil
}

var cgroupV2Files = []string{
	"memory.max", "memory.high", "memory.current", "memory.peak", "memory.swap.max",
	"memory.stat", "memory.events", "cpu.max", "cpu.weight", "cpu.stat",
	"cpuset.cpus.effective", "pids.current", "pids.max",
}

var cgroupV1Files = []string{
	"memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes",
	"memory/memory.usage_in_bytes", "memory/memory.max_usage_in_bytes",
	"memory/memory.stat", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
	"cpu/cpu.shares",
	"cpuset/cpuset.effective_cpus", "pids/pids.max", "pids/pids.current",
}

// CgroupSnapshot returns the process's cgroup limit files concatenated in
// the format `head` prints for several files ("==> path <==" then the
// content), or nil when no cgroup files are readable. On cgroup v2 the
// process's own cgroup (from /proc/self/cgroup) is preferred over the root,
// which matters under systemd where the root has no limits.
func CgroupSnapshot(root string) []byte {
	dir := root
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		if p := selfCgroupV2(); p != "" && p != "/" {
			if _, err := os.Stat(filepath.Join(root, p, "memory.max")); err == nil {
				dir = filepath.Join(root, p)
			}
		}
		return catFiles(dir, cgroupV2Files)
	}
	// v1: each controller is its own hierarchy. Inside a container the
	// controller root is already the container's cgroup; on a host the
	// process's path from /proc/self/cgroup applies.
	var out []byte
	for _, rel := range cgroupV1Files {
		ctrl, file := filepath.Split(rel)
		ctrl = strings.TrimSuffix(ctrl, "/")
		candidates := []string{filepath.Join(root, ctrl)}
		if p := selfCgroupV1(ctrl); p != "" && p != "/" {
			candidates = append([]string{filepath.Join(root, ctrl, p)}, candidates...)
		}
		for _, d := range candidates {
			if b := catFiles(d, []string{file}); b != nil {
				if out != nil {
					out = append(out, '\n')
				}
				out = append(out, b...)
				break
			}
		}
	}
	return out
}

// selfCgroupV1 returns this process's path in the v1 hierarchy holding ctrl
// (a line like "4:memory:/kubepods/pod1/abc").
func selfCgroupV1(ctrl string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == ctrl || parts[1] == ctrl {
				return parts[2]
			}
		}
	}
	return ""
}

func selfCgroupV2() string {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return rest
		}
	}
	return ""
}

func catFiles(dir string, names []string) []byte {
	var out bytes.Buffer
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if len(b) > 64<<10 { // memory.stat is ~2 KiB; anything bigger is not a limit file
			b = b[:64<<10]
		}
		if out.Len() > 0 {
			out.WriteByte('\n')
		}
		out.WriteString("==> " + p + " <==\n")
		out.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	if out.Len() == 0 {
		return nil
	}
	return out.Bytes()
}
