"""Stack signatures and grouping keys.

* stack hash: the frames a goroutine would show in *every* format (runtime
  frames and compiler `gowrap` wrappers dropped, since debug=2 hides the former
  and only crash dumps print the latter), each as normalised function +
  package-relative file + line;
* blocking site: the first (innermost) frame of the program's own code, or for
  stacks made only of the standard library, the goroutine's entry function
  (`net/http.(*persistConn).readLoop`), which names what the goroutine is;
* blocking key: a hash of the site alone. The wait reason is *not* hashed in,
  because debug=1 prints no state and hides the runtime frames that would tell
  a channel receive from a select, so including it would split one leak into
  different keys per format. The site's line is one statement, which already
  fixes the operation; the normalised reason is kept alongside as an attribute.
* creation key: `created by` function + file + line, never the parent id.
"""
from __future__ import annotations

import hashlib

from .model import Frame

_NO_SITE = Frame("?", "", 0)


def _h(s: str) -> str:
    return hashlib.blake2b(s.encode("utf-8", "replace"), digest_size=8).hexdigest()


def visible_frames(frames) -> tuple:
    return tuple(f for f in frames if not f.is_runtime and not f.is_wrapper)


def stack_hash(visible) -> str:
    return _h("s1\n" + "\n".join(f.key for f in visible))


def is_own(f: Frame, own_prefixes: tuple) -> bool:
    if f.is_stdlib:
        return False
    if not own_prefixes:
        return True
    p = f.package
    return p == "main" or p.startswith(own_prefixes)


def choose_site(frames, own_prefixes: tuple = ()) -> tuple[Frame, str]:
    """(site frame, kind) with kind in own|library|stdlib|runtime|none."""
    vis = [f for f in frames if not f.is_runtime and not f.is_wrapper]
    if own_prefixes:
        for f in vis:
            if is_own(f, own_prefixes):
                return f, "own"
    for f in vis:
        if not f.is_stdlib:
            return f, ("library" if own_prefixes else "own")
    if vis:
        return vis[-1], "stdlib"
    # only a compiler wrapper is visible (e.g. `startBackgroundRead.gowrap2` caught
    # runnable): it still names the go statement
    wr = [f for f in frames if f.is_wrapper and not f.is_runtime]
    if wr:
        f = wr[-1]
        return f, ("stdlib" if f.is_stdlib else "own")
    rt = [f for f in frames if not f.is_wrapper and f.key_function not in _RUNTIME_PLUMBING]
    if rt:
        return rt[-1], "runtime"
    if frames:
        return frames[0], "runtime"
    return _NO_SITE, "none"


# runtime frames that are scheduler plumbing, never the goroutine's purpose
_RUNTIME_PLUMBING = frozenset({
    "runtime.goexit", "runtime.gopark", "runtime.goparkunlock", "runtime.mcall",
    "runtime.park_m", "runtime.systemstack", "runtime.morestack", "runtime.mstart",
    "runtime.mstart0", "runtime.mstart1", "runtime.rt0_go", "runtime.main",
})


def blocking_key(site: Frame, kind: str, wait_reason: str) -> str:
    if kind == "none":
        return _h("b1|none|" + wait_reason)
    return _h("b1|" + site.key)


def creation_key(created_by: Frame | None) -> str | None:
    if created_by is None:
        return None
    return _h("c1|" + created_by.key)


def group_signature(shash: str, wait_reason: str, ckey: str | None) -> str:
    return _h(f"g1|{shash}|{wait_reason}|{ckey or ''}")
