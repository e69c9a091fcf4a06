"""The Go side: the in-process package's own tests and vet, and the example
service vets and builds — with the pinned real toolchain, offline."""
import subprocess

import leakyharness as lh
import pytest

pytestmark = pytest.mark.e2e  # runs the real Go toolchain


def run_go(go_bin, args, cwd):
    return subprocess.run([go_bin, *args], cwd=cwd, env=lh.go_env(), capture_output=True,
                          text=True, timeout=600)


def test_agent_package_vet_and_test(go_bin):
    vet = run_go(go_bin, ["vet", "./..."], lh.GO_MODULE_DIR)
    assert vet.returncode == 0, vet.stderr
    test = run_go(go_bin, ["test", "-count=1", "./..."], lh.GO_MODULE_DIR)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "ok  \tgotriage.dev/agent" in test.stdout


def test_example_service_vets(go_bin):
    vet = run_go(go_bin, ["vet", "./..."], lh.LEAKY_DIR)
    assert vet.returncode == 0, vet.stderr


def test_go_modules_are_stdlib_only():
    # No require lines other than the local agent module: nothing to download.
    for mod in (lh.GO_MODULE_DIR / "go.mod", lh.LEAKY_DIR / "go.mod"):
        text = mod.read_text()
        requires = [ln for ln in text.splitlines() if ln.strip().startswith(("require", "gotriage.dev/"))
                    and "=>" not in ln]
        assert all("gotriage.dev/agent" in ln for ln in requires), requires
        assert "go 1.22" in text


def test_leak_markers_exist():
    for leak in ("chan_send", "wg_missing_done", "http_body", "heap"):
        path, line = lh.leak_site(leak)
        assert path.endswith(".go") and line > 0
