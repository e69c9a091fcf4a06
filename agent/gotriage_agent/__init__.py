"""gotriage sidecar agent: collects Go runtime artefacts and uploads them.

Standard library only, so it runs from a plain python:3 image or a host
Python without installing anything.
"""

__version__ = "0.1.0"

KINDS = (
    "goroutine_debug2", "goroutine_debug1", "goroutine_proto", "goroutineleak",
    "expvar", "runtime_metrics", "prometheus", "gctrace", "cgroup",
)
