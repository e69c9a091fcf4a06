"""Runtime telemetry time series: memory samples and GC cycles."""
from __future__ import annotations

from django.db import models

from apps.services.models import Instance, Service


class MemSample(models.Model):
    """One runtime sample (expvar, runtime/metrics or Prometheus scrape).

    The columns charts and tuning need are typed; everything the parser read
    is kept in `data` (goruntime MemSample.to_dict()).
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="mem_samples")
    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    upload = models.ForeignKey("ingest.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    source = models.CharField(max_length=32)
    heap_alloc = models.BigIntegerField(null=True)
    heap_inuse = models.BigIntegerField(null=True)
    heap_sys = models.BigIntegerField(null=True)
    heap_released = models.BigIntegerField(null=True)
    next_gc = models.BigIntegerField(null=True)
    sys = models.BigIntegerField(null=True)
    stack_inuse = models.BigIntegerField(null=True)
    rss = models.BigIntegerField(null=True)
    num_gc = models.BigIntegerField(null=True)
    gc_cpu_fraction = models.FloatField(null=True)
    pause_p99_ns = models.BigIntegerField(null=True)
    goroutines = models.IntegerField(null=True)
    gomaxprocs = models.IntegerField(null=True)
    gogc = models.IntegerField(null=True)
    gomemlimit = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [
            # runtime series for a time range, per service and per instance
            models.Index(fields=["service", "at"], name="memsample_service_time"),
            models.Index(fields=["instance", "at"], name="memsample_instance_time"),
        ]


class GCCycle(models.Model):
    """One GC cycle from a gctrace line."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gc_cycles")
    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    upload = models.ForeignKey("ingest.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    num = models.IntegerField()
    cpu_pct = models.FloatField(null=True)
    pause_ns = models.BigIntegerField(null=True, help_text="sum of the two stop-the-world phases")
    heap_start = models.BigIntegerField(null=True)
    heap_end = models.BigIntegerField(null=True)
    heap_live = models.BigIntegerField(null=True)
    heap_goal = models.BigIntegerField(null=True)
    stacks = models.BigIntegerField(null=True)
    globals = models.BigIntegerField(null=True)
    procs = models.IntegerField(null=True)
    forced = models.BooleanField(default=False)
    # goruntime GCCycle.to_dict(), so tuning can rebuild the cycle exactly
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "upload", "num"], name="uniq_gc_cycle")]
        indexes = [models.Index(fields=["service", "at"], name="gccycle_service_time")]


class MemSampleHour(models.Model):
    """Hourly rollup of one instance's MemSamples: long-range charts read these, not raw rows.

    `stats` maps metric → [sum, min, max, n] so buckets of any whole number
    of hours merge exactly (avg = Σsum / Σn). Rebuilt for the touched hours
    whenever samples arrive, so it is never more than one upload behind.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    samples = models.IntegerField(default=0)
    stats = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "hour"], name="uniq_memsample_hour")]
        # long-range runtime series per service
        indexes = [models.Index(fields=["service", "hour"], name="memsamplehour_service_time")]
