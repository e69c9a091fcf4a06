"""Command line entry: python -m gotriage_agent [flags]."""
from __future__ import annotations

import logging
import signal
import sys

from . import __version__
from .config import ConfigError, load_config
from .runner import Agent

log = logging.getLogger("gotriage_agent")


def main(argv=None, environ=None, out=None) -> int:
    try:
        cfg = load_config(argv, environ)
    except ConfigError as exc:
        print(f"gotriage-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, cfg.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s gotriage-agent: %(message)s",
        stream=sys.stderr,
    )
    log.info("gotriage-agent %s starting (config: %s)", __version__, cfg.config_file or "flags/env")
    for k in cfg.ignored_env:
        log.warning("ignoring unknown environment variable %s", k)
    log.debug("effective configuration: %s", cfg.redacted())
    agent = Agent(cfg, out=out)
    if cfg.once or (cfg.dry_run and cfg.once):
        return agent.run_once()

    def stop(signum, _frame):
        log.info("signal %d: stopping after a last flush", signum)
        agent.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return agent.run_forever()
