"""`triage [--format text|json] FILE [FILE ...]` - files are snapshots of one
process, oldest first. Pure: the Django management command only forwards argv.

Exit status: 0 = analysed (suspects or not), 2 = usage error or a file that
cannot be parsed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from ..common import ParseError
from .analyze import analyze
from .detect import parse_dump
from .patterns import BENIGN, PATTERNS

MAX_TEXT_GROUPS = 15


def build_parser(prog: str = "triage") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Triage Go goroutine dumps "
                                "(debug=2/1, pprof proto, panics, SIGQUIT, go test -timeout).")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--own-prefix", action="append", default=[], metavar="PREFIX",
                   help="module/package prefix of the program's own code (repeatable)")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="snapshots of one process, oldest first ('-' = stdin)")
    return p


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as fh:
        return fh.read()


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse exits on -h / usage errors
        return int(exc.code or 0)
    dumps = []
    for path in args.files:
        try:
            data = _read(path)
            dumps.append(parse_dump(data, name=os.path.basename(path)))
        except OSError as exc:
            stderr.write(f"triage: {path}: {exc.strerror or exc}\n")
            return 2
        except ParseError as exc:
            stderr.write(f"triage: {path}: {exc}\n")
            return 2
    report = analyze(dumps, own_prefixes=tuple(args.own_prefix), names=list(args.files))
    if args.format == "json":
        json.dump(report, stdout, indent=2, sort_keys=False, default=str)
        stdout.write("\n")
    else:
        stdout.write(render_text(report))
    return 0


def _site(s: dict) -> str:
    f = s["site"]
    return f"{f['function']}  {f['file']}:{f['line']}" if f.get("file") else f["function"]


def render_text(r: dict) -> str:
    out: list[str] = []
    w = out.append
    snaps = r["snapshots"]
    w(f"Goroutine triage - {len(snaps)} snapshot(s)\n")
    for s in snaps:
        ver = s["go_version"] or (s.get("go_version_hint") and f"Go {s['go_version_hint']}") or "Go ?"
        flags = []
        if s.get("truncated"):
            flags.append("TRUNCATED")
        if s.get("leak_profile"):
            flags.append("goroutineleak profile")
        w(f"  {s['file']}: {s['format']}, {ver}, {s['total']} goroutines"
          + (f" [{', '.join(flags)}]" if flags else "") + "\n")
        ex = s.get("extra") or {}
        if ex.get("test_timeout"):
            w(f"    go test timed out after {ex['test_timeout']}: {', '.join(ex.get('tests') or ['?'])}\n")
        elif ex.get("panic") or ex.get("fatal_error"):
            w(f"    {'panic' if ex.get('panic') else 'fatal error'}: "
              f"{ex.get('panic') or ex.get('fatal_error')}\n")
        elif ex.get("signal"):
            w(f"    crash dump on {ex['signal']}\n")
    w("\n")
    sus = r["suspects"]
    if sus:
        w(f"SUSPECTED LEAKS ({len(sus)})\n")
        for i, s in enumerate(sus, 1):
            w(f"\n#{i}  score {s['score']:.2f}  {s['count']} goroutine(s) in "
              f"[{s['wait_reason']}]" + (f", {s['leaked']} proved leaked" if s["leaked"] else "")
              + (f", up to {s['max_wait_minutes']} min" if s.get("max_wait_minutes") else "") + "\n")
            w(f"    blocked at  {_site(s)}\n")
            if s.get("created_by"):
                c = s["created_by"]
                w(f"    created by  {c['function']}  {c['file']}:{c['line']}\n")
            if len(s["series"]) > 1:
                w(f"    series      {' -> '.join(str(x) for x in s['series'])}\n")
            for e in s["evidence"]:
                w(f"    - {e}\n")
            p = PATTERNS.get(s.get("pattern") or "")
            if p:
                w(f"    pattern     {p.title}: {p.why}\n")
                w(f"    usual fix   {p.fix}\n")
    else:
        w("No suspected leaks.\n")
        first = next((g for g in r["groups"] if not g.get("benign")), None)
        if first is not None:
            # one dump of a hang (go test -timeout, a dump right after a deadlock):
            # the ranking still says where to look
            w(f"Look first at: {first['count']} goroutine(s) in [{first['wait_reason']}] at "
              f"{_site(first)}\n")
            p = PATTERNS.get(first.get("pattern") or "")
            if p:
                w(f"    pattern     {p.title}: {p.why}\n")
        w("(An empty goroutineleak profile is not proof of no leak: it cannot see mutex, "
          "IO, timer or sleep waits.)\n" if any(s.get("leak_profile") for s in snaps) else "")
    groups = r["groups"]
    if groups:
        w(f"\nGROUPS IN THE LAST SNAPSHOT ({len(groups)} blocking sites, most suspicious first)\n")
        for s in groups[:MAX_TEXT_GROUPS]:
            tag = f"benign: {BENIGN[s['benign']].title}" if s.get("benign") in BENIGN else (
                s.get("pattern") or "")
            mins = f", {s['max_wait_minutes']} min" if s.get("max_wait_minutes") else ""
            w(f"  {s['count']:>7}  [{s['wait_reason']}{mins}]  {_site(s)}"
              + (f"   ({tag})" if tag else "") + "\n")
        if len(groups) > MAX_TEXT_GROUPS:
            rest = groups[MAX_TEXT_GROUPS:]
            w(f"  ... {len(rest)} more sites, {sum(s['count'] for s in rest)} goroutines\n")
    return "".join(out)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
