"""Runtime engine: parse Go runtime telemetry, derive GC signals, recommend settings.

Pure Python (no Django). Public API is documented in apps/goruntime/README.md.
"""
from ..common import ParseError
from .detect import parse_runtime
from .gctrace import align_offset, parse_gctrace
from .model import ContainerLimits, GCCycle, MemSample, RuntimeData
from .cgroup import parse_cgroup, parse_cpu_quantity
from .recommend import parse_go_version, recommend
from .signals import Signals, derive_signals
from .sizes import format_go_size, parse_go_size, parse_size
from .snippets import build_snippets
from .whatif import what_if

__all__ = [
    "ParseError", "parse_runtime", "parse_gctrace", "align_offset", "RuntimeData", "MemSample", "GCCycle",
    "ContainerLimits", "parse_cgroup", "parse_cpu_quantity", "derive_signals", "Signals", "recommend",
    "parse_go_version", "what_if", "parse_size", "format_go_size", "parse_go_size", "build_snippets",
]
