"""Names and wait reasons: everything that must read the same across Go versions,
build modes (-trimpath, GOPATH, module cache) and dump formats.

* function names: generics `[...]` removed, closure names unified
  (1.21 `T.M.func1`, 1.22-1.26 `outer.func1.T.M.1`, 1.27 `T.M.1` all -> `T.M.1`),
  compiler `gowrapN` / `deferwrapN` wrappers flagged so they can be skipped;
* files: keyed as `<package path>/<basename>`, which is the same for
  `/build/src/app/x/y.go`, `github.com/org/app/x/y.go` (trimpath) and
  `/root/go/pkg/mod/github.com/org/app@v1.2.3/x/y.go`;
* wait reasons: header modifiers stripped, runtime renames folded
  (`semacquire` + WaitGroup frames -> `sync.WaitGroup.Wait`), and for formats
  without a state (debug=1, proto) inferred from the frames.
"""
from __future__ import annotations

import re
from typing import NamedTuple

# Top-level directories of GOROOT/src: a package whose first path element is one
# of these is the standard library. Everything else without a dot (GOPATH-style
# `myapp/foo`, `main`) is the program's own code.
STDLIB_ROOTS = frozenset("""
archive arena bufio builtin bytes cmp compress container context crypto database debug
embed encoding errors expvar flag fmt go hash html image index internal io iter log maps
math mime net os path plugin reflect regexp runtime slices sort strconv strings structs
sync syscall testing text time unicode unique unsafe vendor weak
""".split())

_WRAPPER_RE = re.compile(r"^(?:gowrap|deferwrap)\d+$")
_FUNCN_RE = re.compile(r"^func(\d+)$")
_GOPKG_V_RE = re.compile(r"^[\w\-]+\.v\d+$")


class FuncInfo(NamedTuple):
    package: str
    key_function: str
    is_stdlib: bool
    is_runtime: bool
    is_wrapper: bool


_info_cache: dict[str, FuncInfo] = {}


def strip_generics(name: str) -> str:
    """`pkg.Map[...]`, `pkg.(*List[go.shape.int]).Push` -> `pkg.Map`, `pkg.(*List).Push`."""
    if "[" not in name:
        return name
    out = []
    depth = 0
    for ch in name:
        if ch == "[":
            depth += 1
        elif ch == "]":
            if depth:
                depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def split_package(name: str) -> tuple[str, str]:
    """Split `a/b/c.(*T).M` into (`a/b/c`, `(*T).M`)."""
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    if dot < 0:
        return name, ""
    pkg = name[:dot]
    rest = name[dot + 1:]
    # gopkg.in/yaml.v3.(*decoder).unmarshal: the `.v3` belongs to the package path
    if slash >= 0 and rest:
        nxt = rest.find(".")
        cand = name[slash + 1:dot + 1 + (nxt if nxt >= 0 else len(rest))]
        if nxt > 0 and _GOPKG_V_RE.match(cand):
            pkg = name[:dot + 1 + nxt]
            rest = rest[nxt + 1:]
    return pkg, rest


def _split_symbol(sym: str) -> list[str]:
    # dots inside a receiver `(*T)` never occur once generics are stripped, but be safe
    parts: list[str] = []
    depth = 0
    cur = []
    for ch in sym:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "." and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _is_named(seg: str) -> bool:
    return bool(seg) and not seg.isdigit() and not seg.startswith("(") \
        and _FUNCN_RE.match(seg) is None and _WRAPPER_RE.match(seg) is None


def normalise_symbol(sym: str) -> tuple[str, bool]:
    """Unify closure naming across Go versions; returns (symbol, is_wrapper)."""
    if not sym:
        return sym, False
    segs = _split_symbol(sym)
    is_wrapper = bool(_WRAPPER_RE.match(segs[-1]))
    if len(segs) == 1:
        return sym, is_wrapper
    # last named segment (a function or method name) and its receiver/type
    last = -1
    for i in range(len(segs) - 1, -1, -1):
        if _is_named(segs[i]):
            last = i
            break
    if last < 0:
        start = 0
    else:
        start = last
        if last > 0 and (segs[last - 1].startswith("(") or _is_named(segs[last - 1])):
            start = last - 1
    out = []
    for s in segs[start:]:
        m = _FUNCN_RE.match(s)
        out.append(m.group(1) if m else s)
    return ".".join(out), is_wrapper


def function_info(name: str) -> FuncInfo:
    info = _info_cache.get(name)
    if info is not None:
        return info
    clean = strip_generics(name)
    if "." not in clean[clean.rfind("/") + 1:]:
        # `panic(...)`, `goexit` ...: builtins the traceback prints without a package
        info = FuncInfo("runtime", clean, True, True, False)
        _info_cache[name] = info
        return info
    pkg, sym = split_package(clean)
    key_sym, wrapper = normalise_symbol(sym)
    root = pkg.split("/", 1)[0]
    is_runtime = pkg == "runtime" or pkg.startswith(("runtime/internal/", "internal/runtime/"))
    is_stdlib = is_runtime or ("." not in root and root in STDLIB_ROOTS)
    if pkg.startswith("vendor/"):
        is_stdlib = True  # std's vendored golang.org/x packages
    info = FuncInfo(pkg, f"{pkg}.{key_sym}" if key_sym else pkg, is_stdlib, is_runtime, wrapper)
    if len(_info_cache) < 200_000:
        _info_cache[name] = info
    return info


def key_file(package: str, file: str) -> str:
    """`<package>/<basename>`: independent of GOROOT, GOPATH, trimpath and module versions."""
    if not file:
        return ""
    base = file.rsplit("/", 1)[-1]
    base = base.rsplit("\\", 1)[-1]
    return f"{package}/{base}" if package else base


# ---------------------------------------------------------------------------
# wait reasons

# Header modifiers that say something about the goroutine, not about what it waits on.
_MODIFIERS = (" (leaked)", " (scan)", " (durable)")

# Equivalent spellings of the same wait.
_REASON_ALIASES = {
    "sync.WaitGroup.Wait": "sync.WaitGroup.Wait",
    "chan receive (durable)": "chan receive",
    "chan send (durable)": "chan send",
    "select (durable)": "select",
}

# Frame (function, normalised) -> wait reason. Scanned innermost first; used for
# formats that carry no state, and to refine `semacquire` (renamed in Go 1.24).
INFER_RULES: tuple[tuple[str, str], ...] = (
    ("runtime.chanrecv1", "chan receive"),
    ("runtime.chanrecv2", "chan receive"),
    ("runtime.chansend1", "chan send"),
    ("runtime.chanrecv", "chan receive"),
    ("runtime.chansend", "chan send"),
    ("runtime.selectgo", "select"),
    ("runtime.block", "select (no cases)"),
    ("runtime.selectnbrecv", "running"),
    ("sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"),
    ("sync.(*WaitGroup).Wait", "sync.WaitGroup.Wait"),
    ("sync.(*RWMutex).RLock", "sync.RWMutex.RLock"),
    ("sync.(*RWMutex).Lock", "sync.RWMutex.Lock"),
    ("sync.runtime_SemacquireRWMutexR", "sync.RWMutex.RLock"),
    ("sync.runtime_SemacquireRWMutex", "sync.RWMutex.Lock"),
    ("sync.runtime_SemacquireMutex", "sync.Mutex.Lock"),
    ("internal/sync.runtime_SemacquireMutex", "sync.Mutex.Lock"),
    ("sync.(*Mutex).Lock", "sync.Mutex.Lock"),
    ("sync.(*Mutex).lockSlow", "sync.Mutex.Lock"),
    ("internal/sync.(*Mutex).Lock", "sync.Mutex.Lock"),
    ("internal/sync.(*Mutex).lockSlow", "sync.Mutex.Lock"),
    ("sync.runtime_notifyListWait", "sync.Cond.Wait"),
    ("sync.(*Cond).Wait", "sync.Cond.Wait"),
    ("internal/poll.runtime_pollWait", "IO wait"),
    ("runtime.netpollblock", "IO wait"),
    ("time.Sleep", "sleep"),
    ("runtime.timeSleep", "sleep"),
    ("runtime.gcBgMarkWorker", "GC worker (idle)"),
    ("runtime.bgsweep", "GC sweep wait"),
    ("runtime.bgscavenge", "GC scavenge wait"),
    ("runtime.runfinq", "finalizer wait"),
    ("runtime.forcegchelper", "force gc (idle)"),
    ("runtime.gcenable", "running"),
    ("runtime.runCleanups", "cleanup wait"),
    ("runtime.updateMaxProcsGoroutine", "GOMAXPROCS updater (idle)"),
    ("runtime.gcAssistAlloc", "GC assist wait"),
    ("runtime/pprof.writeGoroutineStacks", "running"),
    ("runtime.goroutineProfileWithLabels", "running"),
    ("runtime/pprof.runtime_goroutineProfileWithLabels", "running"),
    ("runtime.pprof_goroutineProfileWithLabels", "running"),
    ("runtime/pprof.writeRuntimeProfile", "running"),
    ("os/signal.signal_recv", "syscall"),
    ("syscall.Syscall", "syscall"),
    ("syscall.Syscall6", "syscall"),
    ("syscall.RawSyscall", "syscall"),
    ("syscall.syscall", "syscall"),
    ("internal/syscall/unix.Syscall", "syscall"),
    ("runtime.cgocall", "syscall"),
)
_INFER = dict(INFER_RULES)
_INFER_KEYS = frozenset(_INFER)

# Refinement of a bare `semacquire` (the only reason pre-1.24 Go printed for
# WaitGroup waits; newer versions still print it for other runtime semaphores).
_SEMACQUIRE_REFINE = frozenset({"sync.WaitGroup.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock",
                                "sync.RWMutex.Lock", "sync.Cond.Wait"})

UNKNOWN = "unknown"


def parse_status(status: str) -> tuple[str, dict]:
    """Split the first bracket item (`select (leaked)`) into reason and flags."""
    flags: dict = {}
    s = status
    changed = True
    while changed:
        changed = False
        for mod in _MODIFIERS:
            if s.endswith(mod):
                s = s[: -len(mod)]
                flags[mod.strip(" ()")] = True
                changed = True
            elif mod + " " in s:
                s = s.replace(mod, "")
                flags[mod.strip(" ()")] = True
                changed = True
    return s.strip(), flags


def infer_from_frames(frames) -> str:
    """Wait reason from frames alone (innermost first); UNKNOWN if nothing tells."""
    for f in frames:
        r = _INFER.get(f.key_function)
        if r is not None:
            return r
        if not f.is_stdlib:
            break  # past the program's own frame nothing inside the runtime is visible
    return UNKNOWN


def normalise_reason(raw: str, frames=()) -> str:
    """Normalised wait reason for a printed status (may be '')."""
    r = _REASON_ALIASES.get(raw, raw)
    if not r:
        return infer_from_frames(frames)
    if r == "semacquire" or r == "sync.Mutex.Lock":
        inf = infer_from_frames(frames)
        if inf in _SEMACQUIRE_REFINE:
            return inf
    return r


# Reasons under which a goroutine is blocked on a concurrency primitive of the
# program: these are how goroutine leaks look.
LEAK_PRONE = frozenset({
    "chan send", "chan receive", "select", "chan send (nil chan)", "chan receive (nil chan)",
    "select (no cases)", "sync.WaitGroup.Wait", "sync.Mutex.Lock", "sync.RWMutex.Lock",
    "sync.RWMutex.RLock", "sync.Cond.Wait", "semacquire", "synctest.Wait",
})
FOREVER = frozenset({"chan send (nil chan)", "chan receive (nil chan)", "select (no cases)"})
ACTIVE = frozenset({"running", "runnable", "syscall", "preempted", "GC assist wait",
                    "GC assist marking", "stopping the world", "debug call", "garbage collection",
                    "garbage collection scan", "dumping heap", "GC mark termination",
                    "flushing proc caches", "idle", "copystack"})
