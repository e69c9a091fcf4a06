"""Helpers shared by the agent tests and tests/e2e: a real Go toolchain,
the example leaky service built and started on a free loopback port, and a
stdlib HTTP receiver that records uploads."""
from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent"
GO_MODULE_DIR = AGENT_DIR / "go"
LEAKY_DIR = REPO / "examples" / "leakyservice"


def find_go() -> str | None:
    for cand in (Path(sys.prefix) / "bin" / "go", REPO / ".venv" / "bin" / "go"):
        if cand.exists():
            return str(cand)
    return shutil.which("go")


def go_env() -> dict:
    """Offline, reproducible Go: the pinned local toolchain, no downloads
    (stdlib-only modules), caches under /tmp shared across runs for speed."""
    env = dict(os.environ)
    go = find_go()
    if go:
        env["PATH"] = str(Path(go).parent) + os.pathsep + env.get("PATH", "")
    env.update(GOTOOLCHAIN="local", GOFLAGS="-mod=mod", GOPROXY="off", GOTELEMETRY="off",
               GOCACHE=env.get("GOTRIAGE_TEST_GOCACHE", "/tmp/gotriage-gocache"),
               GOPATH=env.get("GOTRIAGE_TEST_GOPATH", "/tmp/gotriage-gopath"))
    return env


def build_leaky(out_dir: Path) -> Path:
    out = Path(out_dir) / "leakyservice"
    subprocess.run([find_go(), "build", "-o", str(out), "."], cwd=LEAKY_DIR, env=go_env(),
                   check=True, capture_output=True, timeout=300)
    return out


def leak_site(name: str) -> tuple[str, int]:
    """(file, line) of the `// LEAK: <name>` marker in the example's source."""
    for path in sorted(LEAKY_DIR.glob("*.go")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(rf"//\s*LEAK:\s*{re.escape(name)}\b", line):
                return str(path), n
    raise LookupError(f"no // LEAK: {name} marker in {LEAKY_DIR}")


class LeakyService:
    """A running example service. stderr (with GODEBUG=gctrace=1) goes to
    `log_path`, the file a sidecar tails."""

    def __init__(self, binary: Path, workdir: Path, *flags: str, env: dict | None = None):
        self.log_path = Path(workdir) / f"leaky-{time.time_ns()}.log"
        self._log = open(self.log_path, "wb")
        e = dict(os.environ)
        e["GODEBUG"] = "gctrace=1"
        e.update(env or {})
        self.proc = subprocess.Popen([str(binary), "-addr", "127.0.0.1:0", *flags],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=e)
        self.url = self._wait_url()

    def _wait_url(self, timeout=15.0) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leakyservice exited: {self.log_path.read_text()[-2000:]}")
            m = re.search(r"listening on (http://\S+)", self.log_path.read_text(errors="replace"))
            if m:
                return m.group(1)
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("leakyservice did not start")

    def get(self, path: str, timeout=10) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return r.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def __str__(self):
        return self.url


class Receiver:
    """Stand-in for the gotriage upload API: records every request and
    answers from a script of status codes (default 202)."""

    def __init__(self, port: int = 0, statuses=None, retry_after: str | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self._start(port)

    def _start(self, port):
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                body = raw
                if self.headers.get("Content-Encoding") == "gzip":
                    try:
                        body = gzip.decompress(raw)
                    except OSError:
                        body = None  # the test sent junk on purpose; keep raw only
                u = urllib.parse.urlsplit(self.path)
                with rec.lock:
                    status = rec.statuses.pop(0) if rec.statuses else 202
                    rec.requests.append({"path": u.path, "query": dict(urllib.parse.parse_qsl(u.query)),
                                         "headers": dict(self.headers.items()), "raw": raw,
                                         "body": body, "status": status})
                payload = json.dumps({"id": str(len(rec.requests)), "status": "received",
                                      "url": "/x"}).encode()
                self.send_response(status)
                if status == 429 and rec.retry_after:
                    self.send_header("Retry-After", rec.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def restart(self):
        self._start(self.port)

    def delivered(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if 200 <= r["status"] < 300]
