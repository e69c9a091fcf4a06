"""apps/goruntime is a pure library: no Django, no other app of the project."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # apps/goruntime


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__" \
                and node.args and isinstance(node.args[0], ast.Constant):
            yield node.lineno, str(node.args[0].value)


def test_no_django_or_foreign_app_imports():
    bad = []
    files = [p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    assert files
    for p in files:
        for lineno, mod in _imports(p):
            top = mod.split(".")[0]
            if top == "django" or top == "rest_framework" or (
                    top == "apps" and not (mod == "apps.goruntime" or mod.startswith("apps.goruntime."))):
                bad.append(f"{p.relative_to(ROOT)}:{lineno}: import {mod}")
    assert not bad, "impure imports:\n" + "\n".join(bad)


def test_no_django_text_imports():
    # also catch importlib-style strings
    for p in ROOT.rglob("*.py"):
        if "__pycache__" in p.parts or p.name == "test_purity.py":
            continue
        txt = p.read_text(encoding="utf-8")
        assert "import_module(\"django" not in txt and "import_module('django" not in txt, p
