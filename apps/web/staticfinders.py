"""Serve plotly.min.js from the installed plotly package: no CDN, nothing vendored."""
from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
SERVED = {"vendor/plotly.min.js": "plotly.min.js"}


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(PLOTLY_DIR))
        self.storage.prefix = "vendor"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        name = SERVED.get(path)
        if not name:
            return [] if find_all else None
        full = str(PLOTLY_DIR / name)
        return [full] if find_all else full

    def list(self, ignore_patterns):
        for name in SERVED.values():
            yield name, self.storage
