import os

import pytest

from gotriage_agent import spool as spool_mod
from gotriage_agent.spool import Spool


def bodies(sp):
    return [sp.read(n)[1] for n in sp.entries()]


def test_order_and_roundtrip(tmp_path):
    sp = Spool(str(tmp_path), max_bytes=1 << 20, max_files=100)
    for i in range(20):
        sp.put({"kind": "gctrace", "i": i}, b"body-%d" % i)
    assert bodies(sp) == [b"body-%d" % i for i in range(20)]
    meta, body = sp.read(sp.entries()[3])
    assert meta == {"kind": "gctrace", "i": 3} and body == b"body-3"
    # Order continues across a restart (new Spool over the same directory).
    sp2 = Spool(str(tmp_path), max_bytes=1 << 20, max_files=100)
    sp2.put({"kind": "expvar"}, b"after-restart")
    assert bodies(sp2)[-1] == b"after-restart" and len(sp2.entries()) == 21


def test_file_bound_drops_oldest_with_counter(tmp_path):
    sp = Spool(str(tmp_path), max_bytes=1 << 20, max_files=5)
    for i in range(12):
        sp.put({"kind": "k"}, b"%d" % i)
    assert bodies(sp) == [b"7", b"8", b"9", b"10", b"11"]
    assert sp.dropped == 7


def test_byte_bound(tmp_path):
    sp = Spool(str(tmp_path), max_bytes=4096, max_files=1000)
    for i in range(50):
        sp.put({"kind": "k"}, bytes([i]) * 500)
        assert sp.total_bytes() <= 4096
    assert sp.dropped > 0
    assert [b[0] for b in bodies(sp)] == list(range(50 - len(sp.entries()), 50))  # newest kept, in order
    # An entry bigger than the whole spool is refused without evicting anything.
    before = sp.entries()
    assert sp.put({"kind": "k"}, b"x" * 5000) is None
    assert sp.entries() == before


def test_atomic_write_never_exposes_partial_entry(tmp_path, monkeypatch):
    sp = Spool(str(tmp_path), max_bytes=1 << 20, max_files=100)
    sp.put({"kind": "k"}, b"good")

    def crash(src, dst):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(spool_mod.os, "replace", crash)
    with pytest.raises(OSError):
        sp.put({"kind": "k"}, b"half")
    monkeypatch.undo()
    assert bodies(sp) == [b"good"]                      # the torn write is invisible
    assert any(n.startswith(".tmp-") for n in os.listdir(tmp_path))
    sp2 = Spool(str(tmp_path), max_bytes=1 << 20, max_files=100)
    assert not any(n.startswith(".tmp-") for n in os.listdir(tmp_path))  # cleaned on start
    assert bodies(sp2) == [b"good"]


def test_remove(tmp_path):
    sp = Spool(str(tmp_path), max_bytes=1 << 20, max_files=10)
    a = sp.put({"kind": "k"}, b"a")
    sp.put({"kind": "k"}, b"b")
    sp.remove(a)
    sp.remove(a)  # idempotent
    assert bodies(sp) == [b"b"]
