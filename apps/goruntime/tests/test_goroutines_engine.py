"""Aggregated formats, normalisation, grouping, scoring and diff on synthetic input."""
from __future__ import annotations

import gzip

import pytest

from apps.goruntime import goroutines as gr
from apps.goruntime.goroutines import normalize as nz
from apps.goruntime.goroutines import pprof_proto

DEBUG1 = """goroutine profile: total 12
9 @ 0x43a6ee 0x44ba78 0x4686e5 0x476488 0x6b9331 0x46c361
# labels: {"http.route":"/api/report"}
#	0x4686e4	sync.runtime_Semacquire+0x24			/usr/local/go/src/runtime/sema.go:62
#	0x476487	sync.(*WaitGroup).Wait+0x47			/usr/local/go/src/sync/waitgroup.go:116
#	0x6b9330	example.com/s.(*Report).Aggregate+0x1b0	/b/s/waitgroup.go:47

2 @ 0x43a6ee 0x40684d 0x406472 0x6bb534 0x46c361
#	0x6bb533	main.housekeeping+0xb3	/b/cmd/main.go:98

1 @ 0x43a6ee 0x433197 0x466fa5 0x4b84e7
#	0x466fa4	internal/poll.runtime_pollWait+0x84		/usr/local/go/src/runtime/netpoll.go:343
#	0x4b8e7	net.(*TCPListener).Accept+0x2f	/usr/local/go/src/net/tcpsock.go:315
#	0x6bb3e4	main.main.func5+0x24				/b/cmd/main.go:78
"""


def test_debug1_records_labels_and_inferred_reasons():
    d = gr.parse_dump(DEBUG1)
    assert d.format == "debug1" and d.total == 12 and not d.truncated
    r0, r1, r2 = d.records
    assert r0.count == 9 and r0.labels == {"http.route": "/api/report"}
    assert r0.wait_reason == "sync.WaitGroup.Wait"
    assert r1.wait_reason == "unknown"  # runtime frames have no '#' line in debug=1
    assert r2.wait_reason == "IO wait"
    groups = gr.group_dump(d)
    assert groups[0].site.function == "example.com/s.(*Report).Aggregate"
    assert groups[0].labels == {"http.route": "/api/report"}
    assert {g.benign for g in groups} >= {"accept-loop"}


def test_debug1_truncated():
    d = gr.parse_dump(DEBUG1[: DEBUG1.index("2 @")])
    assert d.truncated and d.records[0].count == 9


def test_leak_debug1_empty_and_full():
    d = gr.parse_dump("goroutineleak profile: total 0\n")
    assert d.format == "leak_debug1" and d.leak_profile and d.total == 0 and not d.records
    d = gr.parse_dump(DEBUG1.replace("goroutine profile", "goroutineleak profile"))
    assert d.leak_profile and gr.group_dump(d)[0].leaked == 9


def _vint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _f(no, payload):
    return _vint(no << 3 | 2) + _vint(len(payload)) + payload


def _v(no, v):
    return _vint(no << 3) + _vint(v)


def make_proto(kind="goroutine", count=7, inline=True):
    strings = ["", kind, "count", "runtime.gopark", "/usr/local/go/src/runtime/proc.go",
               "runtime.chansend1", "/usr/local/go/src/runtime/chan.go",
               "example.com/s.(*Svc).Fetch.func1", "/b/s/chansend.go", "http.route", "/api/p",
               "example.com/s.helper"]
    fn = b"".join(_f(5, _v(1, i) + _v(2, s) + _v(4, f))
                  for i, s, f in [(1, 3, 4), (2, 5, 6), (3, 7, 8), (4, 11, 8)])
    locs = _f(4, _v(1, 1) + _f(4, _v(1, 1) + _v(2, 462)))
    locs += _f(4, _v(1, 2) + _f(4, _v(1, 2) + _v(2, 161)))
    if inline:  # one location, inlined helper first (callee first, as pprof stores it)
        locs += _f(4, _v(1, 3) + _f(4, _v(1, 4) + _v(2, 40)) + _f(4, _v(1, 3) + _v(2, 36)))
    else:
        locs += _f(4, _v(1, 3) + _f(4, _v(1, 3) + _v(2, 36)))
    sample = _f(2, _f(1, b"".join(_vint(x) for x in (1, 2, 3))) + _f(2, _vint(count))
                + _f(3, _v(1, 9) + _v(2, 10)))
    body = _f(1, _v(1, 1) + _v(2, 2)) + sample + locs + fn
    body += b"".join(_f(6, s.encode()) for s in strings)
    return gzip.compress(body)


def test_proto_parses_and_infers():
    d = gr.parse_dump(make_proto())
    assert d.format == "proto" and d.total == 7
    r = d.records[0]
    assert r.wait_reason == "chan send" and r.labels == {"http.route": "/api/p"}
    assert [f.function for f in r.frames][-2:] == ["example.com/s.helper",
                                                   "example.com/s.(*Svc).Fetch.func1"]
    d = gr.parse_dump(make_proto("goroutineleak", 3))
    assert d.format == "leak_proto" and d.leak_profile and gr.group_dump(d)[0].leaked == 3


def test_proto_truncated_raises_parse_error():
    raw = gzip.decompress(make_proto())
    for cut in (5, 17, len(raw) // 2, len(raw) - 3):
        try:
            gr.parse_dump(raw[:cut])
        except gr.ParseError:
            pass


def test_detect_format():
    assert gr.detect_format(DEBUG1) == "debug1"
    assert gr.detect_format(make_proto()) == "proto"
    assert gr.detect_format(b"goroutine 1 [running]:\nmain.main()\n") == "debug2"
    assert gr.detect_format("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n") == "traceback"
    assert gr.detect_format(gzip.compress(DEBUG1.encode())) == "debug1"


@pytest.mark.parametrize("name,key", [
    ("example.com/s.(*Env).Handle.func1.1", "example.com/s.(*Env).Handle.1.1"),
    ("example.com/s.init.17.func1.(*Env).Handle.1", "example.com/s.(*Env).Handle.1"),
    ("example.com/s.(*Env).Handle.1", "example.com/s.(*Env).Handle.1"),
    ("main.main.func5", "main.main.5"),
    ("example.com/p.Map[...]", "example.com/p.Map"),
    ("example.com/p.(*List[go.shape.int]).Push", "example.com/p.(*List).Push"),
    ("gopkg.in/yaml.v3.(*decoder).unmarshal", "gopkg.in/yaml.v3.(*decoder).unmarshal"),
    ("sync.(*WaitGroup).Wait", "sync.(*WaitGroup).Wait"),
    ("example.com/s.sessionHandler.ServeHTTP", "example.com/s.sessionHandler.ServeHTTP"),
])
def test_function_normalisation(name, key):
    assert nz.function_info(name).key_function == key


def test_package_classes():
    f = gr.Frame("net/http.(*conn).serve", "/usr/local/go/src/net/http/server.go", 2014)
    assert f.is_stdlib and not f.is_runtime and f.package == "net/http"
    assert gr.Frame("runtime.gopark").is_runtime
    assert gr.Frame("internal/runtime/atomic.Load").is_runtime
    assert gr.Frame("panic").is_runtime
    assert not gr.Frame("main.main").is_stdlib
    assert not gr.Frame("myapp/internal/x.F").is_stdlib  # GOPATH-style own code
    assert gr.Frame("gopkg.in/yaml.v3.(*decoder).unmarshal").package == "gopkg.in/yaml.v3"
    assert gr.Frame("example.com/x.(*T).Run.gowrap1").is_wrapper
    # file key independent of build paths
    a = gr.Frame("example.com/s.F", "/build/src/s/x.go", 3)
    b = gr.Frame("example.com/s.F", "example.com/s/x.go", 3)
    c = gr.Frame("example.com/s.F", "/root/go/pkg/mod/example.com/s@v1.2.3/x.go", 3)
    assert a.key == b.key == c.key
    assert gr.Frame.from_dict(a.to_dict()).key == a.key


@pytest.mark.parametrize("frames,reason", [
    (["runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.f"], "chan receive"),
    (["runtime.gopark", "runtime.selectgo", "main.f"], "select"),
    (["runtime.gopark", "runtime.block", "main.f"], "select (no cases)"),
    (["runtime.gopark", "sync.runtime_notifyListWait", "sync.(*Cond).Wait", "main.f"],
     "sync.Cond.Wait"),
    (["runtime.gopark", "sync.runtime_SemacquireRWMutexR", "sync.(*RWMutex).RLock", "main.f"],
     "sync.RWMutex.RLock"),
    (["runtime.gopark", "time.Sleep", "main.f"], "sleep"),
    (["main.f"], "unknown"),
])
def test_infer_reason(frames, reason):
    assert nz.infer_from_frames([gr.Frame(f) for f in frames]) == reason


def _dump_text(blocks):
    return "\n".join(blocks) + "\n"


def _g(gid, state, fn, file, line, parent=None, creator="main.main", cline=5):
    cb = f"created by {creator}" + (f" in goroutine {parent}" if parent else "")
    return (f"goroutine {gid} [{state}]:\n{fn}(0x1)\n\t{file}:{line} +0x1\n"
            f"{cb}\n\t/app/main.go:{cline} +0x2\n")


def test_linear_grouping_distinct_parents():
    blocks = [_g(1000 + i, "chan send, 3 minutes", "example.com/s.leak", "/app/s.go", 9,
                 parent=5000 + i, creator="example.com/s.Handle") for i in range(5000)]
    blocks += [_g(20000 + i, "IO wait", "example.com/s.read", "/app/r.go", 3, parent=7)
               for i in range(100)]
    d = gr.parse_dump(_dump_text(blocks))
    groups = gr.group_dump(d)
    assert len(groups) == 2
    assert groups[0].count == 5000 and groups[0].distinct_parents == 5000
    assert groups[0].wait_minutes_max == 3


def test_spawn_tree_from_parent_ids():
    blocks = [_g(1, "select", "main.main", "/app/main.go", 3)]
    blocks += [_g(10 + i, "IO wait", "example.com/s.serve", "/app/srv.go", 40, parent=1,
                  creator="example.com/s.Listen") for i in range(3)]
    blocks += [_g(100 + i, "chan send", "example.com/s.job", "/app/job.go", 7, parent=10 + i % 3,
                  creator="example.com/s.serve", cline=44) for i in range(6)]
    groups = gr.group_dump(gr.parse_dump(_dump_text(blocks)))
    edges = gr.spawn_tree(groups)
    by = {(e["parent_site"]["function"], e["child_site"]["function"]): e["count"] for e in edges}
    assert by[("example.com/s.serve", "example.com/s.job")] == 6
    assert by[("main.main", "example.com/s.serve")] == 3


def _pool(n=200, minutes=""):
    return _dump_text([_g(20 + i, "chan receive" + minutes, "example.com/s.(*Pool).worker",
                          "/app/pool.go", 16, parent=1, creator="example.com/s.(*Pool).Start")
                       for i in range(n)]
                      + [_g(500, "IO wait", "main.serve", "/app/main.go", 30)])


def _accumulated(n=300, minutes=True):
    blocks = []
    gid = 30
    for i in range(n):
        gid += 3  # other per-request goroutines come and go in between
        m = f", {i * 10 // n} minutes" if minutes and i * 10 // n else ""
        blocks.append(_g(gid, "chan send" + m, "example.com/s.(*Svc).Fetch.func1",
                         "/app/fetch.go", 36, parent=gid - 1, creator="example.com/s.(*Svc).Fetch",
                         cline=34))
    return _dump_text(blocks)


def test_single_snapshot_pool_is_not_a_suspect():
    for minutes in ("", ", 12 minutes"):
        r = gr.analyze([gr.parse_dump(_pool(200, minutes))])
        assert r["suspects"] == []
        assert r["groups"][-1]["benign"] == "worker-pool" or any(
            g["benign"] == "worker-pool" for g in r["groups"])


def test_single_snapshot_hundreds_blocked_for_minutes_is_a_suspect():
    r = gr.analyze([gr.parse_dump(_accumulated(300))])
    assert r["suspects"]
    top = r["suspects"][0]
    assert top["site"]["function"] == "example.com/s.(*Svc).Fetch.func1"
    assert top["pattern"] == "abandoned-send"
    assert top["score"] >= gr.SUSPECT_THRESHOLD and len(top["evidence"]) >= 2


def test_keepalive_server_snapshot_is_benign():
    blocks = []
    for i in range(400):
        blocks.append(
            f"goroutine {100 + 7 * i} [IO wait, {i % 5} minutes]:\n"
            "internal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\n"
            "net.(*conn).Read(0x1, {0x1?, 0x1?, 0x1?})\n\t/usr/local/go/src/net/net.go:196 +0x45\n"
            "net/http.(*connReader).Read(0x1, {0x1, 0x1, 0x1})\n\t/usr/local/go/src/net/http/server.go:812 +0x1\n"
            "bufio.(*Reader).fill(0x1)\n\t/usr/local/go/src/bufio/bufio.go:113 +0x103\n"
            "bufio.(*Reader).Peek(0x1, 0x4)\n\t/usr/local/go/src/bufio/bufio.go:152 +0x53\n"
            "net/http.(*conn).serve(0x1, {0x1, 0x1})\n\t/usr/local/go/src/net/http/server.go:2137 +0x785\n"
            "created by net/http.(*Server).Serve in goroutine 19\n\t/usr/local/go/src/net/http/server.go:3454 +0x485\n")
    r = gr.analyze([gr.parse_dump(_dump_text(blocks))])
    assert r["suspects"] == []
    assert r["groups"][0]["benign"] == "http-server-idle-conn"


def test_series_growth_and_flat():
    def hist(counts, totals=None, reason="chan send", benign=None):
        return gr.SiteHistory(blocking_key="k", wait_reason=reason,
                              site=gr.Frame("example.com/s.f", "/s/f.go", 3), counts=counts,
                              totals=totals or [c + 20 for c in counts], times=list(range(len(counts))),
                              max_wait_minutes=[0] * len(counts), leaked=[0] * len(counts),
                              benign=benign)
    v = gr.score_site(hist([5, 10, 15]))
    assert v.suspect and any("grew" in e for e in v.evidence)
    assert not gr.score_site(hist([200, 200, 200, 200])).suspect
    assert not gr.score_site(hist([16, 15, 16, 15])).suspect
    assert not gr.score_site(hist([5])).suspect
    # benign catalogue holds against noise, but not against steady growth beyond load
    assert not gr.score_site(hist([3, 4, 5], benign="http-client-idle-conn")).suspect
    v = gr.score_site(hist([5, 10, 20, 40], totals=[30, 35, 45, 65], benign="http-client-idle-conn"))
    assert v.suspect and v.benign is None
    # proof
    h = hist([2, 2])
    h.leaked = [0, 2]
    assert gr.score_site(h).suspect
    # pipeline-built history without the optional fields still scores
    h = gr.SiteHistory(blocking_key="k", wait_reason="select", site=gr.Frame("x.y"),
                       counts=[1, 3, 6], totals=[10, 12, 16])
    assert 0 <= gr.score_site(h).score <= 1


def test_nil_channel_is_suspect_from_one_snapshot():
    blocks = [_g(10 + 5 * i, "chan receive (nil chan)", "example.com/s.(*N).listen", "/app/n.go",
                 24, parent=1, creator="example.com/s.NewN") for i in range(5)]
    r = gr.analyze([gr.parse_dump(_dump_text(blocks))])
    assert r["suspects"] and r["suspects"][0]["pattern"] == "nil-channel"


def test_diff_groups():
    a = gr.group_dump(gr.parse_dump(_accumulated(10, False)))
    b = gr.group_dump(gr.parse_dump(_accumulated(30, False) + _g(
        999, "select", "example.com/s.new", "/app/new.go", 1)))
    d = {x["status"]: x for x in gr.diff_groups(a, b)}
    assert d["grown"]["before"] == 10 and d["grown"]["after"] == 30 and d["grown"]["delta"] == 20
    assert d["new"]["after"] == 1
    rev = {x["status"] for x in gr.diff_groups(b, a)}
    assert {"shrunk", "gone"} <= rev
    assert gr.diff_groups(a, a)[0]["status"] == "same"
    assert gr.diff_groups(a, b, key="signature")


def test_catalogues_complete():
    need = {"abandoned-send", "chan-recv-never-closed", "select-no-exit", "waitgroup-missing-done",
            "mutex-never-unlocked", "cond-never-signalled", "nil-channel", "io-no-deadline",
            "http-body-not-closed", "ticker-never-stopped", "sleep-loop",
            "context-never-cancelled", "blocked-producer"}
    assert need <= set(gr.PATTERNS)
    for p in gr.PATTERNS.values():
        assert p.id and p.title and p.why and p.fix
    assert {"runtime-background", "accept-loop", "http-server-idle-conn", "http-client-idle-conn",
            "worker-pool", "signal-handler", "goroutine-dumper"} <= set(gr.BENIGN)


def test_ranking_in_one_dump_culprit_first():
    text = _dump_text([
        "goroutine 99 [running]:\nruntime/pprof.writeGoroutineStacks({0x1, 0x2})\n"
        "\t/usr/local/go/src/runtime/pprof/pprof.go:819 +0x6b\n"
        "net/http.(*conn).serve(0x1, {0x1, 0x2})\n\t/usr/local/go/src/net/http/server.go:2067 +0x690\n",
        "goroutine 6 [sync.WaitGroup.Wait, 2 minutes]:\nsync.runtime_SemacquireWaitGroup(0x1?, 0x0?)\n"
        "\t/usr/local/go/src/runtime/sema.go:114 +0x2e\nsync.(*WaitGroup).Wait(0x1?)\n"
        "\t/usr/local/go/src/sync/waitgroup.go:206 +0x85\nexample.com/s.TestTransfer(0x1)\n"
        "\t/src/s/bank_test.go:40 +0x1\n",
        "goroutine 7 [sync.Mutex.Lock, 2 minutes]:\nsync.(*Mutex).Lock(...)\n"
        "\t/usr/local/go/src/sync/mutex.go:46\nexample.com/s.(*Bank).Transfer(0x1, 0x2)\n"
        "\t/src/s/bank.go:21 +0x45\n",
        "goroutine 8 [sync.Mutex.Lock, 2 minutes]:\nsync.(*Mutex).Lock(...)\n"
        "\t/usr/local/go/src/sync/mutex.go:46\nexample.com/s.(*Bank).Transfer(0x2, 0x1)\n"
        "\t/src/s/bank.go:23 +0x45\n",
        "goroutine 2 [sleep]:\ntime.Sleep(0x3b9aca00)\n\t/usr/local/go/src/runtime/time.go:363 +0x165\n"
        "example.com/s.TestTransfer.func2()\n\t/src/s/bank_test.go:30 +0x1\n",
    ])
    r = gr.analyze([gr.parse_dump("SIGQUIT: quit\nPC=0x1 m=0 sigcode=0\n\n" + text)])
    order = [g["site"]["function"] for g in r["groups"]]
    assert order[:2] == ["example.com/s.(*Bank).Transfer"] * 2
    assert order[-1] == "net/http.(*conn).serve"  # the dumper: benign, last
    assert r["groups"][-1]["benign"] == "goroutine-dumper"
    assert order.index("example.com/s.TestTransfer") > 1
