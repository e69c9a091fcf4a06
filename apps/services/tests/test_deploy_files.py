"""No Docker engine runs here: check what we can of the compose file and Dockerfile."""
from pathlib import Path

import yaml

from tests.fixtures import REPO


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_every_process_with_health_checks():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name


def test_app_processes_share_settings_and_wait_for_migrations():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in " ".join(services["migrate"]["command"])
    worker_cmd = " ".join(services["worker"]["command"])
    assert "ingest" in worker_cmd and "findings" in worker_cmd and "reports" in worker_cmd


def test_compose_database_matches_postgres_credentials():
    services = compose()["services"]
    pg = services["postgres"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}" in url


def test_dockerfile_installs_requirements_and_serves_with_gunicorn():
    text = (REPO / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in text and "gunicorn" in text


def test_requirements_are_pinned():
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, line


def test_settings_refuse_to_start_without_secret_key_when_not_debug():
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gotriage.settings'; django.setup()"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
