"""The README's run command brings the dashboard up on SQLite from a fresh copy."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.fixtures import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_run_command_serves_login_page_with_demo_login(tmp_path):
    # A fresh copy of the tracked files; the virtualenv is linked so pip has nothing to do.
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True)
    copy = tmp_path / "gotriage"
    for name in files.stdout.splitlines():
        src = REPO / name
        if src.is_file():
            dst = copy / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (copy / ".venv").symlink_to(REPO / ".venv")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "GOTRIAGE_DATA_DIR"}}
    env.update(PORT=str(port), DJANGO_SETTINGS_MODULE="gotriage.settings")
    proc = subprocess.Popen(["./run"], cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).status
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.5)
        assert status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output.append(proc.communicate(timeout=30)[0])
    text = "".join(output)
    assert re.search(r"log in as user 'admin' with password '[^']+'", text), text[-2000:]
    assert (copy / "data" / "gotriage.sqlite3").exists()
