"""Leak-pattern catalogue and benign-goroutine catalogue.

Classification looks only at what every format shows: the normalised wait
reason, the blocking site and the visible frames. The rules are about Go's
concurrency primitives and well-known stdlib goroutines, not about any one
program.
"""
from __future__ import annotations

from .model import Benign, Frame, Pattern

PATTERNS: dict[str, Pattern] = {p.id: p for p in [
    Pattern("abandoned-send", "Abandoned channel send",
            "A goroutine sends its result on an unbuffered channel, but the receiver already "
            "returned (timeout, error, cancellation). Nobody will ever receive, so the sender "
            "blocks forever - one goroutine per abandoned request.",
            "Give the result channel a buffer of 1 (`make(chan T, 1)`), or select on "
            "`ctx.Done()` next to the send."),
    Pattern("blocked-producer", "Producer blocked on a full channel (dead consumer)",
            "Senders block on a channel whose consumer has exited or stalled; once the buffer "
            "is full every producer parks at the send.",
            "Make the consumer's lifetime cover the producers', close/drain on shutdown, or "
            "select on `ctx.Done()` / use a non-blocking send with a drop policy."),
    Pattern("chan-recv-never-closed", "Receive on a channel that is never closed",
            "A consumer `range`s over or receives from a channel that its producer never "
            "closes, so when the producer is done the consumer waits forever.",
            "Have the producer `close(ch)` when it is done (`defer close(ch)`), or stop the "
            "consumer via context."),
    Pattern("select-no-exit", "select with no exit case",
            "A long-lived loop selects only on work/event channels; nothing ever tells it to "
            "stop, so each started loop lives forever.",
            "Add a `case <-ctx.Done(): return` (or a quit channel) and cancel it when the "
            "owner is done."),
    Pattern("context-never-cancelled", "Context never cancelled",
            "Goroutines wait on `ctx.Done()` of a context whose cancel function is never "
            "called (the `cancel` from WithCancel/WithTimeout is dropped).",
            "Always `defer cancel()` right after `context.WithCancel/WithTimeout`; `go vet`'s "
            "lostcancel check finds most cases."),
    Pattern("waitgroup-missing-done", "WaitGroup missing Done",
            "`wg.Wait()` blocks because some path (early return, error, panic recovery) never "
            "calls `wg.Done()`, so the counter never reaches zero.",
            "`defer wg.Done()` as the first statement of every goroutine counted by `wg.Add`, "
            "or use `wg.Go` / errgroup."),
    Pattern("mutex-never-unlocked", "Mutex never unlocked",
            "A code path returned while holding the lock (early return, panic), so every later "
            "`Lock` queues behind it forever.",
            "`mu.Lock(); defer mu.Unlock()`; keep the critical section in one function."),
    Pattern("cond-never-signalled", "sync.Cond never signalled",
            "Waiters park in `cond.Wait()` but the state change that should `Signal`/`Broadcast` "
            "never happens (or happened before they started waiting).",
            "Signal on every state change under the lock and re-check the predicate in a loop; "
            "usually a channel is simpler."),
    Pattern("nil-channel", "Operation on a nil channel",
            "A send or receive on a nil channel blocks forever by definition: the channel was "
            "never made (zero-value struct field, missed initialisation).",
            "Initialise the channel (`make`) before use; a nil channel in a select is only "
            "useful to disable a case."),
    Pattern("empty-select", "select {} / select with no cases",
            "`select {}` blocks forever; outside main or a deliberate park this is a leak.",
            "Replace with a wait on a context or a quit channel."),
    Pattern("io-no-deadline", "Network read/write without deadline",
            "The goroutine waits on a socket that never delivers (peer gone, half-open TCP, "
            "slow server) and no deadline is set, so it waits forever.",
            "Set `conn.SetReadDeadline`/`SetDeadline`, use a client with timeouts, or close "
            "the conn when the context is done."),
    Pattern("http-body-not-closed", "HTTP response body not closed",
            "A `resp.Body` was neither read to EOF nor closed, so the client connection's "
            "readLoop/writeLoop goroutines (and the server side's conn) never finish - three "
            "goroutines and a socket per request.",
            "`defer resp.Body.Close()` right after the error check (and drain it if you want "
            "connection reuse)."),
    Pattern("ticker-never-stopped", "Ticker/timer loop never stopped",
            "A goroutine loops on a `time.Ticker` (or timer) and nothing stops it; each start "
            "adds a loop that wakes up forever.",
            "`defer t.Stop()` and exit the loop on `ctx.Done()` / a quit channel."),
    Pattern("sleep-loop", "Sleep loop without exit",
            "A `for { ...; time.Sleep(d) }` poller has no exit condition; each start adds one "
            "that lives forever.",
            "Loop on a ticker in a select with `ctx.Done()`, and stop it with its owner."),
    Pattern("syscall-blocked", "Blocked in a system call",
            "Goroutines stuck in a syscall (file/pipe read, cgo) hold an OS thread each.",
            "Use deadlines or non-blocking IO; make cgo calls cancellable."),
]}

BENIGN: dict[str, Benign] = {b.id: b for b in [
    Benign("runtime-background", "Go runtime background goroutine",
           "GC workers, sweeper, scavenger, finalizer/cleanup queue, forcegc and the "
           "GOMAXPROCS updater are started by the runtime and always exist."),
    Benign("signal-handler", "os/signal handler loop",
           "`signal.Notify` starts one goroutine that waits for signals for the life of the "
           "process."),
    Benign("accept-loop", "Listener accept loop",
           "A server goroutine blocked in Accept waits for the next connection; one per "
           "listener."),
    Benign("http-server-idle-conn", "Idle keep-alive server connection",
           "`net/http` keeps one goroutine per open client connection, waiting for the next "
           "request. Their number follows the number of open connections."),
    Benign("http-client-idle-conn", "Idle keep-alive client connection",
           "`net/http.Transport` keeps readLoop/writeLoop goroutines for each pooled idle "
           "connection until IdleConnTimeout."),
    Benign("http-background-read", "HTTP background read",
           "The server reads ahead on a connection while a handler runs."),
    Benign("goroutine-dumper", "Goroutine taking the dump",
           "The goroutine that is writing this profile / traceback (pprof handler, "
           "runtime.Stack, test alarm) - never the culprit."),
    Benign("test-harness", "testing framework",
           "`testing` goroutines waiting for tests/subtests to finish: they wait for the "
           "culprit, they are not it."),
    Benign("worker-pool", "Stable worker pool",
           "Many goroutines created together by one parent, idle on a shared work channel: a "
           "fixed-size pool, not an accumulation."),
    Benign("library-background", "Well-known library background goroutine",
           "Long-lived helper goroutines of common libraries (database/sql opener, "
           "log flushers, metrics exporters, gRPC transport loops)."),
]}

_RUNTIME_BG_REASONS = frozenset({
    "GC worker (idle)", "GC worker (active)", "GC sweep wait", "GC scavenge wait",
    "finalizer wait", "force gc (idle)", "cleanup wait", "GOMAXPROCS updater (idle)",
    "trace reader (blocked)", "idle", "wait for GC cycle", "GC weak to strong wait",
})
_DUMPER_FUNCS = frozenset({
    "runtime/pprof.writeGoroutineStacks", "runtime/pprof.writeRuntimeProfile",
    "runtime/pprof.writeGoroutine", "runtime.Stack", "runtime/debug.Stack",
    "runtime/debug.PrintStack", "runtime/debug.WriteHeapDump", "runtime.goroutineProfileWithLabels",
    "runtime/pprof.runtime_goroutineProfileWithLabels", "runtime/pprof.writeGoroutineLeak",
    "testing.(*M).startAlarm.1", "runtime.pprof_goroutineProfileWithLabels",
})
_TEST_HARNESS = frozenset({
    "testing.(*T).Run", "testing.runTests", "testing.(*M).Run", "testing.(*T).Parallel",
    "testing.runFuzzing", "testing.runFuzzTests", "testing.tRunner.1", "testing.(*F).Fuzz",
    "testing.runExamples", "testing.(*B).run1", "testing.(*B).doBench",
})
_SIGNAL_FUNCS = frozenset({"os/signal.signal_recv", "os/signal.loop", "runtime.ensureSigM",
                           "os/signal.watchSignalLoop"})
_ACCEPT_FUNCS = frozenset({
    "net.(*TCPListener).Accept", "net.(*UnixListener).Accept", "net.(*netFD).accept",
    "net.(*TCPListener).accept", "net.(*UnixListener).accept", "internal/poll.(*FD).Accept",
    "crypto/tls.(*listener).Accept",
})
_LIBRARY_BG_PREFIXES = (
    "database/sql.(*DB).connectionOpener", "database/sql.(*DB).connectionCleaner",
    "database/sql.(*DB).connectionResetter",
    "go.opencensus.io/stats/view.(*worker).start", "github.com/golang/glog.(*loggingT).flushDaemon",
    "github.com/golang/glog.(*fileSink).flushDaemon", "k8s.io/klog.(*loggingT).flushDaemon",
    "k8s.io/klog/v2.(*flushDaemon).run", "go.opentelemetry.io/otel/sdk/trace.(*batchSpanProcessor).processQueue",
    "go.opentelemetry.io/otel/sdk/metric.(*PeriodicReader).run",
    "google.golang.org/grpc.(*ccBalancerWrapper).watcher",
    "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run",
    "google.golang.org/grpc/internal/transport.(*http2Client).keepalive",
    "google.golang.org/grpc/internal/transport.(*http2Server).keepalive",
    "google.golang.org/grpc/internal/transport.(*controlBuffer).get",
    "google.golang.org/grpc/internal/transport.(*http2Client).reader",
    "google.golang.org/grpc/internal/transport.(*recvBufferReader).read",
    "github.com/patrickmn/go-cache.(*janitor).Run",
)
_NET_READ_FUNCS = frozenset({
    "net.(*conn).Read", "net.(*netFD).Read", "internal/poll.(*FD).Read", "net.(*conn).Write",
    "internal/poll.(*FD).Write", "crypto/tls.(*Conn).Read", "bufio.(*Reader).Read",
    "io.ReadFull", "io.ReadAtLeast", "internal/poll.(*FD).ReadFrom", "internal/poll.(*FD).ReadMsg",
})
_TICKER_HINTS = ("tick", "timer", "refresh", "poll", "heartbeat", "periodic", "interval")
_CTX_HINTS = ("ctx", "context", "cancel")


def _fnames(frames) -> set:
    return {f.key_function for f in frames}


def classify_benign(frames, wait_reason: str, site: Frame, site_kind: str) -> str | None:
    """Benign-catalogue id for a stack, or None."""
    names = _fnames(frames)
    if wait_reason in _RUNTIME_BG_REASONS or (site_kind in ("runtime", "none")
                                               and wait_reason != "running"):
        return "runtime-background"
    if names & _DUMPER_FUNCS:
        return "goroutine-dumper"
    if names & _SIGNAL_FUNCS:
        return "signal-handler"
    if names & _TEST_HARNESS and site.file.endswith(("_testmain.go", "testing.go")) \
            or (names & _TEST_HARNESS and site.is_stdlib):
        return "test-harness"
    if site.package == "main" and site.file.endswith("_testmain.go"):
        return "test-harness"
    if names & _ACCEPT_FUNCS and wait_reason in ("IO wait", "unknown"):
        return "accept-loop"
    sf = site.key_function
    if site_kind == "stdlib":
        if sf == "net/http.(*conn).serve" and wait_reason in ("IO wait", "unknown") \
                and names & _NET_READ_FUNCS | {"net/http.(*connReader).Read"} & names:
            return "http-server-idle-conn"
        if sf in ("net/http.(*persistConn).readLoop", "net/http.(*http2ClientConn).readLoop",
                  "net/http.(*http2clientConnReadLoop).run") and wait_reason == "IO wait":
            return "http-client-idle-conn"
        if sf == "net/http.(*persistConn).writeLoop" and wait_reason in ("select", "unknown"):
            return "http-client-idle-conn"
        if sf.startswith(("net/http.(*http2serverConn).serve", "net/http.(*http2ClientConn)")):
            return "http-server-idle-conn"
        if sf == "net/http.(*connReader).backgroundRead":
            return "http-background-read"
        if sf.startswith(("database/sql.", "net/http.(*Transport).", "net/http.(*Server).")):
            return "library-background"
    if sf.startswith(_LIBRARY_BG_PREFIXES):
        return "library-background"
    return None


def classify_pattern(frames, wait_reason: str, site: Frame, site_kind: str,
                     created_by: Frame | None) -> str | None:
    """Leak-pattern id describing how this stack would leak, or None."""
    names = _fnames(frames)
    sf = site.key_function
    low = (site.function + " " + site.file.rsplit("/", 1)[-1]).lower()
    if wait_reason in ("chan send (nil chan)", "chan receive (nil chan)"):
        return "nil-channel"
    if wait_reason == "select (no cases)":
        return "empty-select"
    if sf == "net/http.(*persistConn).readLoop" and wait_reason in ("select", "unknown"):
        return "http-body-not-closed"
    if sf in ("net/http.(*persistConn).writeLoop", "net/http.(*conn).serve"):
        return "http-body-not-closed"
    if wait_reason == "sync.WaitGroup.Wait":
        return "waitgroup-missing-done"
    if wait_reason in ("sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock"):
        return "mutex-never-unlocked"
    if wait_reason == "sync.Cond.Wait":
        return "cond-never-signalled"
    if wait_reason == "IO wait":
        if names & _NET_READ_FUNCS or any(n.startswith(("net.", "internal/poll.")) for n in names):
            return "io-no-deadline"
        return "io-no-deadline"
    if wait_reason == "sleep":
        return "sleep-loop"
    if wait_reason == "syscall":
        return "syscall-blocked"
    if sf.startswith("context.") or any(n.startswith("context.") for n in names):
        return "context-never-cancelled"
    if wait_reason == "chan send":
        # a closure sending back to the function that started it: the classic
        # "result channel abandoned after timeout"
        if created_by is not None and site.key_function.startswith(created_by.key_function + "."):
            return "abandoned-send"
        return "blocked-producer"
    if wait_reason in ("chan receive", "select", "unknown"):
        if any(h in low for h in _TICKER_HINTS):
            return "ticker-never-stopped"
        if any(h in low for h in _CTX_HINTS):
            return "context-never-cancelled"
        if wait_reason == "chan receive":
            return "chan-recv-never-closed"
        if wait_reason == "select":
            return "select-no-exit"
    return None
