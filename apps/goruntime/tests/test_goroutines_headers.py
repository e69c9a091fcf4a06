"""Header and frame forms of Go 1.17-1.27 that the fixtures do not contain."""
from __future__ import annotations

import textwrap

import pytest

from apps.goruntime import goroutines as gr


def parse(text: str, name=None) -> gr.Dump:
    return gr.parse_dump(textwrap.dedent(text).lstrip("\n"), name)


def one(text: str) -> gr.Goroutine:
    d = parse(text)
    assert len(d.goroutines) == 1, d.goroutines
    return d.goroutines[0]


FRAME = "main.work(0x1)\n\t/app/main.go:10 +0x1d\n"


@pytest.mark.parametrize("header,state,reason,minutes", [
    ("goroutine 1 [running]:", "running", "running", None),
    ("goroutine 1 [chan send, 1 minutes]:", "chan send", "chan send", 1),
    ("goroutine 1 [running, locked to thread]:", "running", "running", None),
    ("goroutine 1 [chan receive (scan), 5 minutes]:", "chan receive", "chan receive", 5),
    ("goroutine 1 [select (scan), 12 minutes, locked to thread]:", "select", "select", 12),
    ("goroutine 37 [chan send (durable), synctest bubble 1]:", "chan send", "chan send", None),
    ("goroutine 37 [sync.WaitGroup.Wait (durable), 2 minutes, synctest bubble 3]:",
     "sync.WaitGroup.Wait", "sync.WaitGroup.Wait", 2),
    ("goroutine 7 [chan receive (nil chan) (leaked)]:", "chan receive (nil chan)",
     "chan receive (nil chan)", None),
    ("goroutine 5 gp=0x29a37b2a2438 m=nil [GOMAXPROCS updater (idle)]:",
     "GOMAXPROCS updater (idle)", "GOMAXPROCS updater (idle)", None),
    ("goroutine 0 gp=0x9fc620 m=0 mp=0x9fcbe0 [idle]:", "idle", "idle", None),
    ("goroutine 8 gp=0xf7a7b22b680 m=nil [chan send, 3 minutes] {http.route: /api/profile}:",
     "chan send", "chan send", 3),
    ("goroutine 40 [select labels:{\"http.route\": \"/api/session\"}]:", "select", "select", None),
    ("goroutine 8 [sync.WaitGroup.Wait, 3 minutes labels:{\"http.route\": \"/api/report\"}]:",
     "sync.WaitGroup.Wait", "sync.WaitGroup.Wait", 3),
    ("goroutine 12 [select (no cases)]:", "select (no cases)", "select (no cases)", None),
])
def test_header_forms(header, state, reason, minutes):
    g = one(header + "\n" + FRAME)
    assert g.state == state
    assert g.wait_reason == reason
    assert g.minutes == minutes
    assert g.frames[0].function == "main.work"


def test_header_flags():
    g = one("goroutine 1 [select (scan), 12 minutes, locked to thread]:\n" + FRAME)
    assert g.scan and g.locked and not g.leaked
    g = one("goroutine 37 [chan send (durable), synctest bubble 1]:\n" + FRAME)
    assert g.durable and g.bubble == 1
    g = one("goroutine 7 [chan send (leaked)] {http.route: /api/profile}:\n" + FRAME)
    assert g.leaked and g.labels == {"http.route": "/api/profile"}
    g = one("goroutine 5 gp=0x29a37b2a2438 m=4 mp=0xc000100008 [running]:\n" + FRAME)
    assert g.header_extra == {"gp": "0x29a37b2a2438", "m": "4", "mp": "0xc000100008"}


@pytest.mark.parametrize("header,labels", [
    ('goroutine 8 [running labels:{"a": "1", "b": "2"}]:', {"a": "1", "b": "2"}),
    ('goroutine 12 [running] {pattern: "GET /panic"}:', {"pattern": "GET /panic"}),
    ('goroutine 12 [running] {a: 1, "k, v": "x: y"}:', {"a": "1", "k, v": "x: y"}),
    ('goroutine 59 [select] {http.route: /api/session}:', {"http.route": "/api/session"}),
])
def test_both_label_syntaxes(header, labels):
    g = one(header + "\n" + FRAME)
    assert g.labels == labels
    assert "labels" not in g.state and "{" not in g.state


def test_created_by_bare_and_with_parent():
    d = parse("""
        goroutine 9 [chan receive]:
        main.worker(0xc000010000)
        	/app/main.go:20 +0x2f
        created by main.main
        	/app/main.go:12 +0x2b

        goroutine 10 [chan receive]:
        main.worker(0xc000010008)
        	/app/main.go:20 +0x2f
        created by main.main in goroutine 1
        	/app/main.go:12 +0x2b
        """)
    a, b = d.goroutines
    assert a.parent_id is None and b.parent_id == 1
    assert a.created_by.function == b.created_by.function == "main.main"
    assert a.created_by.line == 12
    groups = gr.group_dump(d)
    assert len(groups) == 1 and groups[0].count == 2  # parent id is not part of the key
    assert groups[0].creation_key


@pytest.mark.parametrize("elision", ["...additional frames elided...", "...12 frames elided..."])
def test_both_elision_forms(elision):
    d = parse(f"""
        goroutine 3 [chan send]:
        main.deep(0x5)
        	/app/deep.go:7 +0x1
        {elision}
        main.top()
        	/app/deep.go:30 +0x9
        created by main.main in goroutine 1
        	/app/main.go:40 +0x2b
        """)
    g = d.goroutines[0]
    assert g.elided
    assert [f.function for f in g.frames] == ["main.deep", "main.top"]
    assert g.created_by.function == "main.main"


def test_originating_from_ancestors():
    d = parse("""
        goroutine 18 [chan send]:
        main.child(0x1)
        	/app/a.go:5 +0x1
        created by main.parent in goroutine 17
        	/app/a.go:9 +0x2
        [originating from goroutine 17]:
        main.parent(...)
        	/app/a.go:9
        created by main.main
        	/app/a.go:20
        [originating from goroutine 1]:
        main.main(...)
        	/app/a.go:20

        goroutine 1 [running]:
        main.main()
        	/app/a.go:21 +0x5
        """)
    g = d.goroutines[0]
    assert g.parent_id == 17 and g.created_by.function == "main.parent"
    assert [a for a, _ in g.ancestors] == [17, 1]
    assert g.ancestors[0][1][0].function == "main.parent"
    assert [f.function for f in g.frames] == ["main.child"]
    assert d.goroutines[1].id == 1


def test_stack_unavailable():
    d = parse("""
        goroutine 1 [running]:
        	goroutine running on other thread; stack unavailable
        created by main.main in goroutine 1
        	/app/main.go:3 +0x1

        goroutine 2 [running]:
        goroutine running on other thread; stack unavailable
        """)
    assert [g.unavailable for g in d.goroutines] == [True, True]
    assert not d.truncated
    groups = gr.group_dump(d)
    assert sum(g.count for g in groups) == 2


def test_inlined_frames_generics_and_pointers():
    d = parse("""
        goroutine 21 [chan receive]:
        example.com/x/pipe.Map[...](0x29a37b2a2438, {0x1abf76156248?, 0xf7a7b22b680?})
        	/src/pipe/map.go:31 +0x5e
        example.com/x/pipe.(*Stage[...]).run(...)
        	/src/pipe/stage.go:12
        example.com/x/pipe.(*Stage[...]).Start.gowrap1()
        	/src/pipe/stage.go:9 +0x25
        runtime.goexit({})
        	/usr/local/go/src/runtime/asm_amd64.s:1700 +0x1
        created by example.com/x/pipe.(*Stage[...]).Start in goroutine 1
        	/src/pipe/stage.go:9 +0x8f
        """)
    g = d.goroutines[0]
    names = [f.function for f in g.frames]
    assert names[0] == "example.com/x/pipe.Map[...]"
    assert g.frames[1].line == 12
    grp = gr.group_dump(d)[0]
    # generics dropped, wrapper and runtime frames not part of the signature
    assert [f.key_function for f in grp.frames] == ["example.com/x/pipe.Map",
                                                      "example.com/x/pipe.(*Stage).run"]
    assert grp.site.function == "example.com/x/pipe.Map[...]"


def test_gowrap_and_inlined_entry_same_signature():
    """1.21 prints the entry frame with args and offset; 1.22+ as inlined `(...)`,
    crash dumps add `gowrap1` - all one signature."""
    a = parse("""
        goroutine 5 [select]:
        example.com/s.(*JobRunner).watch(0xc0000be0d8, {0x7d49a0?, 0xc000070230?}, 0x0?)
        	/build/s/ctxcancel.go:27 +0x2d
        created by example.com/s.(*JobRunner).Run in goroutine 4
        	/build/s/ctxcancel.go:20 +0x8f
        """)
    b = parse("""
        goroutine 9 gp=0x1abf76156248 m=nil [select]:
        runtime.gopark(0x1?, 0x2?, 0x0?, 0x0?, 0x0?)
        	/usr/local/go/src/runtime/proc.go:460 +0xce fp=0x1 sp=0x2 pc=0x3
        runtime.selectgo(0x1, 0x2, 0x0?, 0x0, 0x0?, 0x1)
        	/usr/local/go/src/runtime/select.go:351 +0x8a5 fp=0x1 sp=0x2 pc=0x3
        example.com/s.(*JobRunner).watch(...)
        	example.com/s/ctxcancel.go:27
        example.com/s.(*JobRunner).Run.gowrap1()
        	example.com/s/ctxcancel.go:20 +0x25 fp=0x1 sp=0x2 pc=0x3
        runtime.goexit({})
        	/usr/local/go/src/runtime/asm_amd64.s:1771 +0x1 fp=0x1 sp=0x2 pc=0x3
        created by example.com/s.(*JobRunner).Run in goroutine 7
        	example.com/s/ctxcancel.go:20 +0x8f
        """)
    ga, gb = gr.group_dump(a)[0], gr.group_dump(b)[0]
    assert ga.stack_hash == gb.stack_hash
    assert ga.blocking_key == gb.blocking_key
    assert ga.creation_key == gb.creation_key
    assert ga.signature == gb.signature


def test_closure_names_across_versions_share_keys():
    frames = {
        "1.21": "example.com/s.(*Env).Handle.func1.1",
        "1.22": "example.com/s.init.17.func1.(*Env).Handle.1.1",
        "1.27": "example.com/s.(*Env).Handle.1.1",
    }
    keys = set()
    for fn in frames.values():
        d = parse(f"goroutine 3 [chan send]:\n{fn}(0x1)\n\t/b/s/registry.go:32 +0x1\n")
        keys.add(gr.group_dump(d)[0].blocking_key)
    assert len(keys) == 1


def test_semacquire_and_waitgroup_wait_same_key():
    old = parse("""
        goroutine 12 [semacquire, 3 minutes]:
        sync.runtime_Semacquire(0xc000134120?)
        	/usr/local/go/src/runtime/sema.go:62 +0x25
        sync.(*WaitGroup).Wait(0xc00007b870?)
        	/usr/local/go/src/sync/waitgroup.go:116 +0x48
        example.com/s.(*Report).Aggregate(0xc000014210)
        	/build/src/s/waitgroup.go:47 +0x1b1
        """)
    new = parse("""
        goroutine 12 [sync.WaitGroup.Wait, 3 minutes]:
        sync.runtime_SemacquireWaitGroup(0x2ea37b2a2438?, 0x0?)
        	runtime/sema.go:114 +0x2e
        sync.(*WaitGroup).Wait(0x1abf76156248?)
        	sync/waitgroup.go:206 +0x85
        example.com/s.(*Report).Aggregate(0x1abf76156248)
        	example.com/s/waitgroup.go:47 +0x1a5
        """)
    a, b = gr.group_dump(old)[0], gr.group_dump(new)[0]
    assert a.wait_reason == b.wait_reason == "sync.WaitGroup.Wait"
    assert a.blocking_key == b.blocking_key
    assert a.site.function == "example.com/s.(*Report).Aggregate"


def test_internal_sync_mutex_frames_same_key():
    old = parse("""
        goroutine 4 [sync.Mutex.Lock]:
        sync.runtime_SemacquireMutex(0xc0000a6064?, 0x0?, 0x1?)
        	/usr/local/go/src/runtime/sema.go:77 +0x25
        sync.(*Mutex).lockSlow(0xc0000a6060)
        	/usr/local/go/src/sync/mutex.go:171 +0x15d
        sync.(*Mutex).Lock(...)
        	/usr/local/go/src/sync/mutex.go:90
        example.com/s.(*Store).Credit(0xc0000a6060)
        	/b/s/mutex.go:27 +0x45
        """)
    new = parse("""
        goroutine 4 [sync.Mutex.Lock]:
        internal/sync.runtime_SemacquireMutex(0x1?, 0x0?, 0x1?)
        	/usr/local/go/src/runtime/sema.go:95 +0x25
        internal/sync.(*Mutex).lockSlow(0x1)
        	/usr/local/go/src/internal/sync/mutex.go:149 +0x15d
        internal/sync.(*Mutex).Lock(...)
        	/usr/local/go/src/internal/sync/mutex.go:70
        sync.(*Mutex).Lock(...)
        	/usr/local/go/src/sync/mutex.go:46
        example.com/s.(*Store).Credit(0x1)
        	/b/s/mutex.go:27 +0x45
        """)
    assert gr.group_dump(old)[0].blocking_key == gr.group_dump(new)[0].blocking_key


def test_stdlib_only_site_is_entry_function():
    d = parse("""
        goroutine 30 [select, 2 minutes]:
        net/http.(*persistConn).readLoop(0xc000186240)
        	/usr/local/go/src/net/http/transport.go:2398 +0xc5f
        created by net/http.(*Transport).dialConn in goroutine 21
        	/usr/local/go/src/net/http/transport.go:1947 +0x174f

        goroutine 31 [IO wait]:
        internal/poll.runtime_pollWait(0x7fd0b087bf30, 0x72)
        	/usr/local/go/src/runtime/netpoll.go:343 +0x85
        net.(*conn).Read(0xc00005c140, {0xc0001a0000?, 0x1000?, 0x1000?})
        	/usr/local/go/src/net/net.go:185 +0x45
        net/http.(*persistConn).Read(0xc000186240, {0xc0001a0000?, 0x1?, 0x1?})
        	/usr/local/go/src/net/http/transport.go:2052 +0x4a
        bufio.(*Reader).Peek(0xc0000aeb40, 0x1)
        	/usr/local/go/src/bufio/bufio.go:152 +0x53
        net/http.(*persistConn).readLoop(0xc000186240)
        	/usr/local/go/src/net/http/transport.go:2216 +0x185
        created by net/http.(*Transport).dialConn in goroutine 21
        	/usr/local/go/src/net/http/transport.go:1947 +0x174f
        """)
    groups = {g.site.line: g for g in gr.group_dump(d)}
    assert set(groups) == {2398, 2216}
    body_wait, idle = groups[2398], groups[2216]
    assert body_wait.site_kind == "stdlib" and body_wait.pattern == "http-body-not-closed"
    assert body_wait.benign is None
    assert idle.benign == "http-client-idle-conn"


def test_own_prefixes_pick_the_service_frame():
    text = """
        goroutine 3 [chan receive]:
        github.com/lib/pq.(*conn).recv(0x1)
        	/go/pkg/mod/github.com/lib/pq@v1.10.0/conn.go:900 +0x1
        github.com/acme/svc/store.(*DB).Query(0x1)
        	/src/svc/store/db.go:55 +0x1
        """
    d = parse(text)
    assert gr.group_dump(d)[0].site.package == "github.com/lib/pq"
    g = gr.group_dump(d, own_prefixes=("github.com/acme/svc",))[0]
    assert g.site.function == "github.com/acme/svc/store.(*DB).Query" and g.site_kind == "own"


def test_paste_with_log_lines_and_crlf():
    text = ("2026/01/01 12:00:00 server starting\r\n"
            "level=info msg=\"dumping\"\r\n"
            "goroutine 1 [running]:\r\nmain.main()\r\n\t/app/main.go:5 +0x1d\r\n"
            "2026/01/01 12:00:01 interleaved log line\r\n\r\n"
            "some more noise\r\n"
            "goroutine 2 [chan send, 4 minutes]:\r\nmain.f(0x1)\r\n\t/app/main.go:9 +0x1\r\n"
            "exit status 2\r\n")
    d = gr.parse_dump(text)
    assert [g.id for g in d.goroutines] == [1, 2]
    assert d.format == "traceback"
    assert d.goroutines[1].minutes == 4
    assert d.goroutines[1].frames[0].line == 9


def test_indented_paste():
    text = textwrap.indent(textwrap.dedent("""
        goroutine 2 [chan send]:
        main.f(0x1)
        	/app/main.go:9 +0x1
        created by main.main in goroutine 1
        	/app/main.go:3 +0x2
        """), "    ")
    g = gr.parse_dump(text).goroutines[0]
    assert g.frames[0].function == "main.f" and g.parent_id == 1


def test_panic_and_fatal_error_preamble():
    d = parse("""
        panic: runtime error: index out of range [5] with length 3

        goroutine 1 [running]:
        main.main()
        	/app/main.go:5 +0x1d
        exit status 2
        """)
    assert d.extra["panic"].startswith("runtime error") and d.format == "traceback"
    d = parse("""
        fatal error: all goroutines are asleep - deadlock!

        goroutine 1 [chan receive]:
        main.main()
        	/app/main.go:5 +0x1d
        """)
    assert d.extra["kind"] == "fatal_error"


def test_test_timeout_old_indentation():
    d = parse("""
        panic: test timed out after 5s
        running tests:
        	TestA (5s)
        	TestB (5s)

        goroutine 5 [running]:
        testing.(*M).startAlarm.func1()
        	/usr/local/go/src/testing/testing.go:2259 +0x259
        created by time.goFunc
        	/usr/local/go/src/time/sleep.go:177 +0x2d
        """)
    assert d.extra["tests"] == ["TestA", "TestB"] and d.extra["test_timeout"] == "5s"


def test_truncated_dump_keeps_what_parsed():
    full = ("goroutine 1 [chan send]:\nmain.f(0x1)\n\t/app/main.go:9 +0x1\n\n"
            "goroutine 2 [chan send]:\nmain.f(0x1)\n\t/app/main.go:9 +0x1\n\n")
    cut = full + "goroutine 3 [chan send]:\nmain.f(0x1)\n\t/app/ma"
    d = gr.parse_dump(cut)
    assert d.truncated and len(d.goroutines) >= 2
    d = gr.parse_dump(full + "goroutine 3 [chan send]:\nmain.f(0x1)")
    assert d.truncated
    assert not gr.parse_dump(full).truncated


def test_go_version_from_toolchain_path():
    d = parse("goroutine 1 [running]:\nmain.main()\n\t/root/sdk/go1.22.1/src/runtime/proc.go:5 +0x1\n")
    assert d.go_version == "1.22.1"
    d = parse("goroutine 1 [running]:\nmain.main()\n\t/root/go/pkg/mod/golang.org/"
              "toolchain@v0.0.1-go1.23.4.linux-amd64/src/x.go:5 +0x1\n")
    assert d.go_version == "1.23.4"


@pytest.mark.parametrize("bad", ["", "   \n", "hello world\n", "goroutine x [running]:\n",
                                 "\x00\x01\x02garbage", b"\x1f\x8b\x08\x00garbage"])
def test_parse_error_on_garbage(bad):
    with pytest.raises(gr.ParseError) as exc:
        gr.parse_dump(bad)
    assert exc.value.message


def test_parse_error_names_a_line():
    with pytest.raises(gr.ParseError) as exc:
        gr.parse_dump("\n\nnot a dump\nat all\n")
    assert exc.value.line == 3
