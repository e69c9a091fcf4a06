"""The agent loop: collect on per-kind schedules, spool, flush in order."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

from . import collectors as col
from .spool import Spool
from .uploader import (DELIVERED, PERMANENT, Uploader, backoff_delay, build_meta,
                       encode_body, upload_url)

log = logging.getLogger("gotriage_agent")


class Agent:
    def __init__(self, cfg, out=None, clock=time.monotonic, uploader=None):
        self.cfg = cfg
        self.out = out or sys.stdout
        self.clock = clock
        self.shared = col.Shared(cfg.go_version)
        # Dry runs read the tail offsets but never save them (no commit).
        self.collectors = col.build_collectors(cfg, self.shared, cfg.spool_dir)
        self.spool = None if cfg.dry_run else Spool(os.path.join(cfg.spool_dir, "queue"),
                                                     cfg.spool_max_bytes, cfg.spool_max_files)
        self.uploader = uploader or (None if cfg.dry_run else Uploader(
            cfg.server, cfg.token, cfg.timeout, cfg.tls_verify, cfg.ca_file))
        self.stats = {"collected": 0, "delivered": 0, "rejected": 0, "collect_errors": 0}
        self.failures = 0          # consecutive retryable flush failures
        self.next_flush = 0.0      # monotonic time before which we do not retry
        self.stop_event = threading.Event()

    # -- collection -------------------------------------------------------
    def collect(self, collector) -> int:
        try:
            arts = collector.collect()
        except col.TargetError as exc:
            self.stats["collect_errors"] += 1
            log.warning("%s: target unreachable: %s", collector.name, exc)
            return 0
        except Exception:  # noqa: BLE001 - one broken collector must not stop the rest
            self.stats["collect_errors"] += 1
            log.exception("%s: collection failed", collector.name)
            return 0
        if collector.disabled_reason:
            log.info("%s: disabled: %s", collector.name, collector.disabled_reason)
        for art in arts:
            self.stats["collected"] += 1
            meta = build_meta(art, self.cfg)
            body = encode_body(art.body)
            if body is not art.body:
                meta["content_encoding"] = "gzip"
            if self.cfg.dry_run:
                self.print_dry_run(meta, art, body)
                continue
            try:
                name = self.spool.put(meta, body)
            except OSError as exc:
                # Disk full or read-only: keep running; the tail offset is not
                # advanced, so gctrace lines are tried again next time.
                log.error("%s: cannot write to the spool %s: %s", collector.name, self.spool.dir, exc)
                continue
            log.debug("%s: spooled %s (%d bytes raw, %d sent)", collector.name, name,
                      len(art.body), len(body))
            if art.commit:
                art.commit()
        return len(arts)

    def print_dry_run(self, meta, art, body):
        server = self.cfg.server or "https://<server>"
        w = self.out.write
        w(f"POST {upload_url(server, meta)}\n")
        w("  Authorization: Bearer " + ("***" if self.cfg.token else "<no token>") + "\n")
        w(f"  Content-Type: {meta['content_type']}\n")
        if meta.get("content_encoding"):
            w(f"  Content-Encoding: {meta['content_encoding']}\n")
        w(f"  kind={meta['kind']} source={art.source} raw={len(art.body)} bytes sent={len(body)} bytes\n")
        raw = art.body
        if raw.startswith(b"\x1f\x8b"):
            w("  (binary: gzipped protobuf)\n")
        else:
            for line in raw[:4096].decode("utf-8", "replace").splitlines()[:5]:
                w(f"  | {line[:160]}\n")
        w("\n")
        self.out.flush()

    # -- delivery ---------------------------------------------------------
    def flush(self, retries: int = 1, sleep=time.sleep) -> bool:
        """Send spooled entries oldest first. Stops at the first retryable
        failure so order is kept; returns True when the spool is empty."""
        for name in self.spool.entries():
            if self.stop_event.is_set() and retries > 1:
                return False
            try:
                meta, body = self.spool.read(name)
            except (OSError, ValueError) as exc:
                log.error("spool entry %s unreadable (%s); removing it", name, exc)
                self.spool.remove(name)
                continue
            if retries > 1:
                res = self.uploader.send_with_retries(meta, body, retries, self.cfg.backoff_base,
                                                      self.cfg.backoff_max, sleep=sleep)
            else:
                res = self.uploader.send(meta, body)
            if res.outcome == DELIVERED:
                self.spool.remove(name)
                self.stats["delivered"] += 1
                if self.failures:
                    log.info("server reachable again; flushing the spool")
                self.failures = 0
                log.info("uploaded %s (%s, HTTP %s)", meta.get("kind"), name, res.status)
            elif res.outcome == PERMANENT:
                self.spool.remove(name)
                self.stats["rejected"] += 1
                log.error("server rejected %s upload with HTTP %s (dropped, not retried): %s",
                          meta.get("kind"), res.status, res.detail[:300])
            else:
                delay = backoff_delay(self.failures, self.cfg.backoff_base, self.cfg.backoff_max)
                if res.retry_after is not None:
                    delay = min(self.cfg.backoff_max, max(delay, res.retry_after))
                self.failures += 1
                self.next_flush = self.clock() + delay
                log.warning("upload failed (%s); %d entries spooled (%d bytes); next try in %.1fs",
                            res.status or res.detail, len(self.spool.entries()),
                            self.spool.total_bytes(), delay)
                return False
        return True

    # -- modes ------------------------------------------------------------
    def run_once(self, sleep=time.sleep) -> int:
        if not self.collectors:
            log.error("no collector enabled (all intervals 0?)")
            return 2
        for c in self.collectors:
            self.collect(c)
        if self.cfg.dry_run:
            return 0 if self.stats["collected"] else 1
        empty = self.flush(retries=self.cfg.retries, sleep=sleep)
        left = len(self.spool.entries())
        log.info("done: %d collected, %d delivered, %d rejected, %d left in spool, %d dropped (spool full)",
                 self.stats["collected"], self.stats["delivered"], self.stats["rejected"], left,
                 self.spool.dropped)
        return 0 if empty and not self.stats["rejected"] and self.stats["collected"] else 1

    def run_forever(self) -> int:
        if not self.collectors:
            log.error("no collector enabled (all intervals 0?)")
            return 2
        due = {c.name: self.clock() for c in self.collectors}
        log.info("collecting %s; uploading to %s as instance %s",
                 ", ".join(f"{c.name}/{self.cfg.intervals[c.name]:g}s" for c in self.collectors),
                 self.cfg.server or "(dry run)", self.cfg.instance)
        while not self.stop_event.is_set():
            now = self.clock()
            for c in list(self.collectors):
                if now >= due[c.name]:
                    self.collect(c)
                    due[c.name] = now + self.cfg.intervals[c.name]
                    if c.disabled_reason:
                        self.collectors.remove(c)
            if self.spool is not None and self.clock() >= self.next_flush:
                self.flush()
            if not self.collectors:
                break
            wake = min(due.get(c.name, now) for c in self.collectors)
            if self.spool is not None and self.spool.entries():
                wake = min(wake, max(self.next_flush, self.clock() + 0.05))
            self.stop_event.wait(max(0.05, wake - self.clock()))
        if self.spool is not None and self.spool.entries():
            self.flush()  # one last quick pass; what remains waits on disk
        return 0
