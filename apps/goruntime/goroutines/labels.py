"""pprof goroutine labels in the three printed syntaxes.

* debug=1 `# labels: {"k":"v"}` and Go 1.26 header `labels:{"k": "v"}`: JSON-ish,
* Go 1.27 header `{k: v, "needs quoting": "x, y"}`: Go-quoted only when needed.
"""
from __future__ import annotations

import json

MAX_VALUE = 200  # label values are truncated: they are for display, not identity


def _unquote(tok: str) -> str:
    tok = tok.strip()
    if len(tok) >= 2 and tok[0] == '"' and tok[-1] == '"':
        try:
            return json.loads(tok)
        except ValueError:
            return tok[1:-1]
    return tok


def _split_top(s: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes (with backslash escapes)."""
    out, cur, inq, esc = [], [], False, False
    i, n, ls = 0, len(s), len(sep)
    while i < n:
        ch = s[i]
        if inq:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                inq = False
            i += 1
            continue
        if ch == '"':
            inq = True
            cur.append(ch)
            i += 1
            continue
        if s.startswith(sep, i):
            out.append("".join(cur))
            cur = []
            i += ls
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def parse_labels(text: str) -> dict[str, str]:
    """Parse `{...}` in any of the syntaxes; never raises (returns {} or partial)."""
    t = text.strip()
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    if not t.strip():
        return {}
    if t.lstrip().startswith('"'):
        try:
            d = json.loads("{" + t + "}")
            if isinstance(d, dict):
                return {str(k): str(v)[:MAX_VALUE] for k, v in d.items()}
        except ValueError:
            pass
    out: dict[str, str] = {}
    for item in _split_top(t, ","):
        if not item.strip():
            continue
        kv = _split_top(item, ":")
        if len(kv) < 2:
            out[_unquote(item)] = ""
            continue
        key = _unquote(kv[0])
        val = _unquote(":".join(kv[1:]))
        out[key] = val[:MAX_VALUE]
    return out
