"""Link stack frames to the service's repository.

Only the service's own code is linked: a frame whose function sits under one
of the service's module prefixes. The repository path is rebuilt from the
package path (module prefix stripped) plus the file name, which works for
full build paths and -trimpath builds alike; the standard library and
third-party modules are not linked.
"""
from __future__ import annotations


def package_of(function: str) -> str:
    """github.com/a/b/internal/x.(*T).M -> github.com/a/b/internal/x"""
    function = function or ""
    slash = function.rfind("/", 0, _first_paren(function))
    dot = function.find(".", slash + 1)
    return function[:dot] if dot > 0 else function


def _first_paren(s: str) -> int:
    idx = [i for i in (s.find("("), s.find("[")) if i >= 0]
    return min(idx) if idx else len(s)


def short_function(function: str) -> str:
    """Drop the package's directory: github.com/a/b/x.(*T).M -> x.(*T).M"""
    function = function or ""
    slash = function.rfind("/", 0, _first_paren(function))
    return function[slash + 1:] if slash >= 0 else function


def is_stdlib(function: str) -> bool:
    first = package_of(function).split("/", 1)[0]
    return "." not in first and first != "main"


def source_url(service, function: str, file: str, line) -> str | None:
    url = _source_url(service, function, file, line)
    # only web links: a template set elsewhere (admin, API) must not become a javascript: href
    return url if url and url.startswith(("https://", "http://")) else None


def _source_url(service, function: str, file: str, line) -> str | None:
    if not service.repo_url_template or not file:
        return None
    name = file.rsplit("/", 1)[-1]
    prefixes = service.own_prefixes
    pkg = package_of(function)
    for prefix in prefixes:
        p = prefix.rstrip("/")
        if pkg == p or pkg.startswith(p + "/"):
            rel = pkg[len(p):].strip("/")
            path = f"{rel}/{name}" if rel else name
            return service.repo_url_template.replace("{path}", path).replace("{line}", str(line or ""))
    if prefixes or is_stdlib(function):
        return None
    return service.source_url(file, line)
