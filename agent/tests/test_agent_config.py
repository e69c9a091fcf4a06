import json

import pytest

from gotriage_agent.config import ConfigError, load_config, parse_duration, parse_size

BASE = ["--pprof-url", "http://127.0.0.1:6060/debug/pprof/"]


def test_precedence_defaults_file_env_flags(tmp_path):
    f = tmp_path / "agent.conf"
    f.write_text(
        "# comment\nserver = http://from-file\ntoken = file-token\ntimeout = 7s\n"
        "spool_max_bytes = 2MiB\n[labels]\nteam = core\nregion = eu\n"
        "[intervals]\ngoroutine = 2m\nexpvar = 15\n"
    )
    env = {"GOTRIAGE_SERVER": "http://from-env", "GOTRIAGE_LABELS": "region=us,tier=web",
           "GOTRIAGE_INTERVAL_EXPVAR": "20s"}
    cfg = load_config(["--config", str(f), "--timeout", "3", "--label", "tier=api", *BASE], env)
    assert cfg.server == "http://from-env"            # env beats file
    assert cfg.token == "file-token"                  # file beats default
    assert cfg.timeout == 3.0                         # flag beats file
    assert cfg.spool_max_bytes == 2 * 1024 * 1024
    assert cfg.labels == {"team": "core", "region": "us", "tier": "api"}  # merged per key
    assert cfg.intervals["goroutine"] == 120 and cfg.intervals["expvar"] == 20
    assert cfg.intervals["cgroup"] == 300             # untouched default
    assert cfg.retries == 3 and cfg.tls_verify is True
    assert cfg.pprof_url == "http://127.0.0.1:6060/debug/pprof"  # trailing slash trimmed
    assert cfg.sources["server"] == "environment" and cfg.sources["timeout"] == "flags"


def test_json_file_and_config_from_env(tmp_path):
    f = tmp_path / "agent.json"
    f.write_text(json.dumps({"server": "https://g.example", "token": "t", "tls_verify": False,
                             "labels": {"a": "b"}, "intervals": {"goroutine": 5},
                             "expvar_url": "http://x/debug/vars"}))
    cfg = load_config([], {"GOTRIAGE_CONFIG": str(f)})
    assert cfg.server == "https://g.example" and cfg.tls_verify is False
    assert cfg.labels == {"a": "b"} and cfg.intervals["goroutine"] == 5


def test_downward_api_and_token_file(tmp_path):
    tok = tmp_path / "token"
    tok.write_text("secret-token\n")
    env = {"POD_NAME": "api-7d9f-x2", "POD_NAMESPACE": "shop", "GOTRIAGE_SERVER": "http://s",
           "GOTRIAGE_TOKEN_FILE": str(tok), "GOTRIAGE_URL": "used-by-another-tool"}
    cfg = load_config(BASE, env)
    assert cfg.instance == "api-7d9f-x2"
    assert cfg.labels == {"pod": "api-7d9f-x2", "namespace": "shop"}
    assert cfg.token == "secret-token"
    assert cfg.ignored_env == ["GOTRIAGE_URL"]
    assert cfg.redacted()["token"] == "***"
    # An explicit instance flag still wins over the downward API.
    assert load_config([*BASE, "--instance", "host1"], env).instance == "host1"


def test_flags_tls_and_intervals():
    cfg = load_config([*BASE, "--server", "https://s", "--token", "t", "--no-tls-verify",
                       "--interval", "goroutine=10s,expvar=0", "--version-label", "v2.3"], {})
    assert cfg.tls_verify is False and cfg.version == "v2.3"
    assert cfg.intervals["goroutine"] == 10 and cfg.intervals["expvar"] == 0


@pytest.mark.parametrize("argv,env,msg", [
    (BASE, {}, "server is required"),
    (BASE, {"GOTRIAGE_SERVER": "ftp://x", "GOTRIAGE_TOKEN": "t"}, "http(s) URL"),
    (BASE, {"GOTRIAGE_SERVER": "http://x"}, "token is required"),
    ([], {"GOTRIAGE_SERVER": "http://x", "GOTRIAGE_TOKEN": "t"}, "no target"),
    ([*BASE, "--interval", "bogus=1"], {"GOTRIAGE_SERVER": "http://x", "GOTRIAGE_TOKEN": "t"}, "unknown interval"),
    ([*BASE, "--spool-max-bytes", "lots"], {"GOTRIAGE_SERVER": "http://x", "GOTRIAGE_TOKEN": "t"}, "bad size"),
])
def test_errors(argv, env, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        load_config(argv, env)


def test_dry_run_needs_no_server():
    cfg = load_config([*BASE, "--dry-run"], {})
    assert cfg.dry_run and not cfg.server


def test_unit_parsers():
    assert parse_size("64MiB") == 64 << 20 and parse_size("10k") == 10000 and parse_size(5) == 5
    assert parse_duration("5m") == 300 and parse_duration("250ms") == 0.25 and parse_duration("7") == 7
