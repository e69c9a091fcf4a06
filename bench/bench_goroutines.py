"""Benchmark of the goroutine engine: parse + group on one core.

Synthetic dumps shaped like the anchor measurement (docs/perf/goroutines.md):
50% leaked senders `[chan send, N minutes]` spawned by HTTP handlers (each
created by a different conn goroutine: distinct parent ids), 25% net/http
server connections in IO wait, 25% select workers; Go 1.26-style pointers.
The same stacks are also written as debug=1 text and as a gzipped pprof proto.

    .venv/bin/python bench/bench_goroutines.py            # 1k..300k table
    .venv/bin/python bench/bench_goroutines.py --sizes 100000 --repeat 3
"""
from __future__ import annotations

import argparse
import gc
import gzip
import os
import platform
import random
import sys
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from apps.goruntime import goroutines as gr  # noqa: E402

SRV = "/usr/local/go/src/net/http/server.go"
APP = "/src/shop/internal/checkout"

# net/http's background read of a keep-alive connection (Go 1.26 layout)
_CONN_STACK = [
    ("internal/poll.runtime_pollWait", "/usr/local/go/src/runtime/netpoll.go:351", 1),
    ("internal/poll.(*pollDesc).wait", "/usr/local/go/src/internal/poll/fd_poll_runtime.go:84", 2),
    ("internal/poll.(*pollDesc).waitRead", "/usr/local/go/src/internal/poll/fd_poll_runtime.go:89", 0),
    ("internal/poll.(*FD).Read", "/usr/local/go/src/internal/poll/fd_unix.go:165", 3),
    ("net.(*netFD).Read", "/usr/local/go/src/net/fd_posix.go:68", 2),
    ("net.(*conn).Read", "/usr/local/go/src/net/net.go:196", 3),
    ("net/http.(*connReader).backgroundRead", SRV + ":702", 1),
    ("net/http.(*connReader).startBackgroundRead.gowrap2", SRV + ":698", 0),
]
_SEND_STACK = [
    ("github.com/shop/internal/checkout.(*Quoter).Quote.func1", APP + "/quote.go:88", 1),
]
_SELECT_STACK = [
    ("github.com/shop/internal/events.(*Bus).dispatch", "/src/shop/internal/events/bus.go:51", 2),
    ("github.com/shop/internal/events.(*Bus).Start.gowrap1", "/src/shop/internal/events/bus.go:40", 0),
]


def _ptr(rng: random.Random) -> str:
    return f"0x{0x1abf76000000 + rng.randrange(1 << 24):x}"


def _frame_lines(stack, rng, out):
    for fn, loc, nargs in stack:
        if nargs == 0:
            out.append(f"{fn}(...)\n\t{loc}\n")
        else:
            args = ", ".join(_ptr(rng) + ("?" if i % 2 else "") for i in range(nargs))
            # the offset is fixed per call site (it is the PC), unlike the arguments
            out.append(f"{fn}({args})\n\t{loc} +0x{(hash(loc) & 0xfff) + 16:x}\n")


def make_debug2(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    out = []
    n_send = n // 2
    n_conn = n // 4
    n_sel = n - n_send - n_conn
    gid = 100
    conn_ids = []
    for _ in range(n_conn):
        gid += 1
        conn_ids.append(gid)
        mins = rng.choice(("", "", ", 1 minutes", ", 7 minutes"))
        out.append(f"goroutine {gid} [IO wait{mins}]:\n")
        _frame_lines(_CONN_STACK, rng, out)
        # each background reader is created by its own connection's goroutine
        out.append("created by net/http.(*connReader).startBackgroundRead in goroutine "
                   f"{gid + 100000 + n}\n\t{SRV}:698 +0xb6\n\n")
    for _ in range(n_send):
        gid += 1
        parent = rng.choice(conn_ids) if conn_ids else 1
        out.append(f"goroutine {gid} [chan send, {rng.randrange(1, 240)} minutes]:\n")
        _frame_lines(_SEND_STACK, rng, out)
        out.append("created by github.com/shop/internal/checkout.(*Quoter).Quote in goroutine "
                   f"{parent}\n\t{APP}/quote.go:86 +0xb2\n\n")
    for _ in range(n_sel):
        gid += 1
        out.append(f"goroutine {gid} [select]:\n")
        _frame_lines(_SELECT_STACK, rng, out)
        out.append("created by github.com/shop/internal/events.(*Bus).Start in goroutine "
                   f"{rng.randrange(1, 100)}\n\t/src/shop/internal/events/bus.go:40 +0x6a\n\n")
    return "".join(out)


def make_debug1(n: int, distinct_labels: int = 0) -> str:
    n_send, n_conn = n // 2, n // 4
    n_sel = n - n_send - n_conn
    out = [f"goroutine profile: total {n}\n"]
    for cnt, stack in ((n_send, _SEND_STACK), (n_conn, _CONN_STACK), (n_sel, _SELECT_STACK)):
        pcs = " ".join(f"0x{0x400000 + 16 * i:x}" for i in range(len(stack) + 2))
        parts = max(1, distinct_labels)
        for p in range(parts):
            c = cnt // parts + (1 if p < cnt % parts else 0)
            if c == 0:
                continue
            out.append(f"{c} @ {pcs}\n")
            if distinct_labels:
                out.append(f'# labels: {{"route":"/api/r{p}"}}\n')
            for i, (fn, loc, _) in enumerate(stack):
                if fn.endswith(("gowrap1", "gowrap2")):
                    continue
                out.append(f"#\t0x{0x400000 + 16 * i:x}\t{fn}+0x{16 + i:x}\t{loc}\n")
            out.append("\n")
    return "".join(out)


# -- minimal pprof proto writer (for the benchmark input only) ---------------
def _vint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fld(no: int, payload: bytes) -> bytes:
    return _vint(no << 3 | 2) + _vint(len(payload)) + payload


def _fv(no: int, v: int) -> bytes:
    return _vint(no << 3) + _vint(v)


def make_proto(n: int, distinct_labels: int = 0) -> bytes:
    """Gzipped profile.proto with the same stacks; `distinct_labels` > 0 splits
    the samples by a label value (as real services with per-route labels do)."""
    strings = [""]
    sidx: dict[str, int] = {}

    def s(x: str) -> int:
        if x not in sidx:
            sidx[x] = len(strings)
            strings.append(x)
        return sidx[x]

    funcs: dict[str, int] = {}
    locs: list[bytes] = []
    fmsgs: list[bytes] = []
    n_send, n_conn = n // 2, n // 4
    n_sel = n - n_send - n_conn
    runtime_top = [("runtime.gopark", "/usr/local/go/src/runtime/proc.go:462")]
    stacks = []
    for cnt, stack, extra in ((n_send, _SEND_STACK, [("runtime.chansend1", "/usr/local/go/src/runtime/chan.go:161")]),
                              (n_conn, _CONN_STACK, []),
                              (n_sel, _SELECT_STACK, [("runtime.selectgo", "/usr/local/go/src/runtime/select.go:351")])):
        lids = []
        for fn, loc in runtime_top + extra + [(f, l) for f, l, _ in stack]:
            file, _, line = loc.rpartition(":")
            if fn not in funcs:
                funcs[fn] = len(funcs) + 1
                fmsgs.append(_fld(5, _fv(1, funcs[fn]) + _fv(2, s(fn)) + _fv(4, s(file))))
            lid = len(locs) + 1
            locs.append(_fld(4, _fv(1, lid) + _fv(3, 0x400000 + lid) +
                             _fld(4, _fv(1, funcs[fn]) + _fv(2, int(line)))))
            lids.append(lid)
        stacks.append((cnt, lids))
    body = bytearray()
    body += _fld(1, _fv(1, s("goroutine")) + _fv(2, s("count")))
    for cnt, lids in stacks:
        parts = max(1, distinct_labels)
        for p in range(parts):
            c = cnt // parts + (1 if p < cnt % parts else 0)
            if c == 0:
                continue
            packed = b"".join(_vint(x) for x in lids)
            msg = _fld(1, packed) + _fld(2, _vint(c))
            if distinct_labels:
                msg += _fld(3, _fv(1, s("route")) + _fv(2, s(f"/api/r{p}")))
            body += _fld(2, msg)
    for l in locs:
        body += l
    for f in fmsgs:
        body += f
    for x in strings:
        body += _fld(6, x.encode())
    body += _fld(11, _fv(1, s("goroutine")) + _fv(2, s("count")))
    body += _fv(12, 1)
    return gzip.compress(bytes(body))


def make_real_shape(n: int) -> bytes | None:
    """A real Go 1.26 debug=2 dump (http_body_not_closed, 240 s) replicated to n
    goroutines with fresh ids, so frames, args and headers are real."""
    import re
    path = os.path.join(ROOT, "..", "shared", "fixtures", "real-go", "runs", "go1.26.6",
                        "http_body_not_closed", "long", "s05_goroutine_debug2.txt.gz")
    path = os.environ.get("GOTRIAGE_BENCH_REAL", path)
    if not os.path.exists(path):
        return None
    blocks = [b for b in gzip.open(path).read().split(b"\n\n") if b.startswith(b"goroutine ")]
    out = []
    gid = 1000
    hdr = re.compile(rb"^goroutine \d+")
    par = re.compile(rb" in goroutine \d+")
    while len(out) < n:
        for b in blocks:
            gid += 1
            b = hdr.sub(b"goroutine %d" % gid, b, count=1)
            b = par.sub(b" in goroutine %d" % (gid - 7), b)
            out.append(b)
            if len(out) >= n:
                break
    return b"\n\n".join(out) + b"\n"


def _time(fn, repeat: int) -> float:
    """Best CPU time of `repeat` runs: CPU (not wall) time, because the
    benchmark machine is shared and wall time includes other processes."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _peak(fn) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def bench(sizes, repeat: int, mem: bool):
    rows = []
    for n in sizes:
        text = make_debug2(n)
        raw = text.encode()
        d1 = make_debug1(n).encode()
        d1l = make_debug1(n, distinct_labels=200).encode()
        pb = make_proto(n)
        pb_labels = make_proto(n, distinct_labels=200)

        def run(data):
            return lambda: gr.group_dump(gr.parse_dump(data))

        groups = gr.group_dump(gr.parse_dump(raw))
        t2 = _time(run(raw), repeat)
        tp = _time(lambda: gr.parse_dump(raw), repeat)
        t1 = _time(run(d1), repeat)
        t1l = _time(run(d1l), repeat)
        tpb = _time(run(pb), repeat)
        tpbl = _time(run(pb_labels), repeat)
        peak = _peak(run(raw)) if mem else None
        rows.append({"n": n, "mib": len(raw) / 2**20, "groups": len(groups),
                     "debug2_s": t2, "debug2_parse_s": tp, "debug1_s": t1, "proto_s": tpb,
                     "proto_labels_s": tpbl, "proto_bytes": len(pb), "peak": peak,
                     "debug1_bytes": len(d1), "debug1_labels_s": t1l})
        r = rows[-1]
        print(f"{n:>7} goroutines  {r['mib']:6.1f} MiB  groups={r['groups']:<3} "
              f"debug2 parse+group {t2:6.3f}s (parse {tp:.3f}s) "
              f"{r['mib'] / t2:6.1f} MiB/s {n / t2:9.0f} g/s | debug1 {t1 * 1000:6.2f} ms, "
              f"200-label debug1 {t1l * 1000:6.2f} ms ({len(d1l) / 2**20 / t1l:5.1f} MiB/s) | "
              f"proto {tpb * 1000:6.2f} ms, 200-label proto {tpbl * 1000:6.2f} ms"
              + (f" | peak {peak / 2**20:6.1f} MiB ({peak / len(raw):.2f}x input)" if peak else ""),
              flush=True)
    return rows


def bench_real(sizes, repeat: int):
    for n in sizes:
        raw = make_real_shape(n)
        if raw is None:
            print("real-shape dataset: fixtures not found, skipped")
            return
        t = _time(lambda: gr.group_dump(gr.parse_dump(raw)), repeat)
        w0 = time.perf_counter()
        groups = gr.group_dump(gr.parse_dump(raw))
        wall = time.perf_counter() - w0
        peak = _peak(lambda: gr.group_dump(gr.parse_dump(raw)))
        mib = len(raw) / 2**20
        print(f"real-shape {n:>7} goroutines {mib:6.1f} MiB groups={len(groups):<3} "
              f"parse+group {t:6.3f}s CPU ({wall:.3f}s wall) {mib / t:6.1f} MiB/s "
              f"{n / t:9.0f} g/s | peak {peak / 2**20:6.1f} MiB ({peak / len(raw):.2f}x input)",
              flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*",
                    default=[1000, 10000, 30000, 100000, 300000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-mem", action="store_true")
    a = ap.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, pid {os.getpid()}")
    bench(a.sizes, a.repeat, not a.no_mem)
    bench_real([n for n in a.sizes if n >= 10000], a.repeat)
    compare_proto_decoders()



def compare_proto_decoders(repeat: int = 5):
    """End to end (bytes -> Records) with the protobuf runtime vs the pure-Python
    wire reader, on profiles with growing numbers of distinct samples."""
    from google.protobuf import __version__ as pbv
    from google.protobuf.internal import api_implementation
    from apps.goruntime.goroutines.pprof_proto import parse_proto
    for labels in (0, 200, 5000):
        raw = gzip.decompress(make_proto(100000, distinct_labels=labels))
        lib = _time(lambda: parse_proto(raw, use_protobuf=True), repeat)
        own = _time(lambda: parse_proto(raw, use_protobuf=False), repeat)
        print(f"proto decode+records, {3 * max(1, labels):>5} samples ({len(raw) / 1024:7.1f} KiB): "
              f"protobuf {pbv} ({api_implementation.Type()}) {lib * 1000:7.2f} ms | "
              f"pure-Python wire reader {own * 1000:7.2f} ms", flush=True)


if __name__ == "__main__":
    main()
