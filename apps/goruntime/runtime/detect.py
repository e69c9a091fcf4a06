"""Format auto-detection and the parse_runtime entry point."""
from __future__ import annotations

import json

from ..common import ParseError, as_text
from . import cgroup, expvar, gctrace, prometheus, runtime_metrics
from .model import RuntimeData
from .timeutil import find_time


# Known MemStats arrays the engine never uses (256 epoch-ns PauseEnd values, 61 BySize
# classes): most of a /debug/vars payload. They are cut out before decoding, because the
# stdlib JSON decoder is the bottleneck for long series (str.find is much faster than a regex
# whose only literal is a quote).
_UNUSED_KEYS = ('"PauseEnd":', '"BySize":')


def _strip_unused_arrays(s: str) -> str:
    for key in _UNUSED_KEYS:
        if key not in s:
            continue
        parts, pos = [], 0
        while True:
            i = s.find(key, pos)
            if i < 0:
                break
            j = s.find("[", i + len(key))
            k = s.find("]", j + 1) if j >= 0 else -1
            if j < 0 or k < 0 or s[i + len(key):j].strip():
                break  # not the shape we expect: leave the rest untouched
            parts.append(s[pos:i])
            pos = k + 1
            # drop the separating comma (after, or before when it was the last member)
            while pos < len(s) and s[pos] in " \t\r\n":
                pos += 1
            if pos < len(s) and s[pos] == ",":
                pos += 1
            elif parts and parts[-1].rstrip().endswith(","):
                parts[-1] = parts[-1].rstrip()[:-1]
        parts.append(s[pos:])
        s = "".join(parts)
    return s


def _json_docs(text: str):
    # No text.strip(): on a 50 MB series the copy alone is measurable.
    head = text[:4096]
    lead = head.lstrip()
    start = len(head) - len(lead) if lead else len(text) - len(text.lstrip())
    s = text[start:] if start else text
    if s[:1] in ("{", "["):
        s = _strip_unused_arrays(s)
    if not s or s[0] not in "{[":
        return None
    if not (s[0] == "{" and "\n{" in s):  # JSON Lines go straight to the per-line path
        try:
            return [json.loads(s)]
        except (ValueError, RecursionError):
            pass
    # JSON Lines: one snapshot per line (how long series are usually stored).
    docs = []
    loads = json.loads
    for line in s.splitlines():
        try:
            docs.append(loads(line))  # the common case, without per-line string copies
            continue
        except (ValueError, RecursionError):
            pass
        line = line.strip().rstrip(",")
        if not line or line in ("[", "]"):
            continue
        try:
            docs.append(loads(line))
        except (ValueError, RecursionError):
            if docs:  # tolerate a cut-off last line
                continue
            return None
    return docs or None


def _classify(d) -> str | None:
    if expvar.is_expvar(d):
        return "expvar"
    if expvar.is_memstats(d):
        return "memstats"
    if runtime_metrics.looks_like_metrics_dict(d):
        return "runtime_metrics"
    if isinstance(d, dict):
        inner = d.get("metrics")
        if runtime_metrics.looks_like_metrics_dict(runtime_metrics.unwrap(inner)) if inner is not None else False:
            return "runtime_metrics"
        if expvar.is_memstats(d.get("MemStats")) or expvar.is_memstats(d.get("mem_stats")):
            return "memstats_wrapped"
    if isinstance(d, list) and d and all(isinstance(x, dict) and ("name" in x or "Name" in x) for x in d[:5]):
        if runtime_metrics.looks_like_metrics_dict(runtime_metrics.unwrap(d)):
            return "runtime_metrics"
    return None


def _flatten(docs):
    """Yield snapshot objects from top-level docs (arrays, {"samples": [...]} wrappers)."""
    for d in docs:
        if isinstance(d, list) and _classify(d) is None:
            yield from _flatten(d)
        elif isinstance(d, dict) and isinstance(d.get("samples"), list) and _classify(d) is None:
            yield from _flatten(d["samples"])
        else:
            yield d


def parse_json_docs(docs, captured_at: float | None, name: str | None) -> RuntimeData | None:
    samples, kinds, go_version = [], [], None
    limits = None
    skipped = 0
    for d in _flatten(docs):
        kind = _classify(d)
        if kind == "expvar":
            s, ver = expvar.expvar_sample(d, captured_at)
            go_version = go_version or ver
        elif kind == "memstats":
            s = expvar.memstats_with_wrapper(d, captured_at)
        elif kind == "memstats_wrapped":
            inner = d.get("MemStats") or d.get("mem_stats")
            s = expvar.memstats_sample(inner, find_time(d) or captured_at)
            kind = "memstats"
        elif kind == "runtime_metrics":
            s = runtime_metrics.wrapped_metrics_sample(d, captured_at)
        else:
            skipped += 1
            continue
        kinds.append(kind)
        samples.append(s)
    if not samples:
        # Container facts as JSON?
        if len(docs) == 1 and isinstance(docs[0], dict):
            text = json.dumps(docs[0])
            if cgroup.looks_like_cgroup(text, name):
                limits = cgroup.parse_cgroup(text, name)
                return RuntimeData(kind="cgroup", limits=limits)
        return None
    if len(samples) > 1 and captured_at is not None and samples[-1].at_source not in ("data",):
        # One capture time for many snapshots only dates the last one.
        for s in samples[:-1]:
            if s.at_source == "captured_at":
                s.at, s.at_source = (s.last_gc, "last_gc") if s.last_gc else (None, None)
    kind = max(set(kinds), key=kinds.count)
    return RuntimeData(kind=kind, samples=samples, go_version=go_version,
                       extra={"skipped_objects": skipped, "kinds": sorted(set(kinds))})


def parse_runtime(data: bytes | str, name: str | None = None, captured_at: float | None = None,
                  started_at: float | None = None) -> RuntimeData:
    """Auto-detect and parse one runtime artefact (gzip transparently).

    captured_at: unix seconds the snapshot was taken (used when the data
    carries no time). started_at: unix seconds the process started, which
    turns gctrace `@Ns` offsets into unix times.
    """
    if data is None:
        raise ParseError("empty input")
    try:
        text = as_text(data)
    except ParseError:
        raise
    except Exception as exc:  # decoding problems must surface as ParseError
        raise ParseError(f"unreadable input: {exc}") from None
    if not text or text.isspace():  # isspace stops at the first non-blank: no copy of big inputs
        raise ParseError("empty input")
    text = text.lstrip("\ufeff")
    lname = (name or "").lower()
    try:
        return _parse_text(text, name, lname, captured_at, started_at)
    except ParseError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # Parsers are written defensively; anything left is reported, never raised raw.
        raise ParseError(f"could not parse {name or 'input'}: {type(exc).__name__}: {exc}") from None


def _parse_text(text, name, lname, captured_at, started_at) -> RuntimeData:
    if name and any(lname.endswith(f) for f in cgroup._FILES):
        return RuntimeData(kind="cgroup", limits=cgroup.parse_cgroup(text, name))
    docs = _json_docs(text)
    if docs is not None:
        rd = parse_json_docs(docs, captured_at, name)
        if rd is not None:
            return rd
        raise ParseError("JSON recognised, but it is not expvar /debug/vars, runtime.MemStats, "
                         "a runtime/metrics dump or cgroup facts")
    if gctrace.looks_like_gctrace(text):
        rd = gctrace.parse_gctrace(text, started_at=started_at)
        return rd
    if prometheus.looks_like_prometheus(text):
        samples, ver, extra = prometheus.parse_prometheus(text, captured_at)
        return RuntimeData(kind="prometheus", samples=samples, go_version=ver, extra=extra)
    if cgroup.looks_like_cgroup(text, name):
        return RuntimeData(kind="cgroup", limits=cgroup.parse_cgroup(text, name))
    m = runtime_metrics.parse_metrics_text(text)
    if m is not None:
        s = runtime_metrics.metrics_sample(m, captured_at)
        return RuntimeData(kind="runtime_metrics", samples=[s])
    first = next((ln for ln in text.splitlines() if ln.strip()), "")[:60]
    raise ParseError(
        "unrecognised runtime input: expected expvar/MemStats JSON, a runtime/metrics dump, Prometheus "
        f"text, gctrace lines or cgroup files; first line was {first!r}", line=1)
