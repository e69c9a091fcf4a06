"""First-run set-up for `./run`: a demo admin, and demo data when the database is empty."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.services.models import AgentToken, Membership, Service, Team

DEMO_TEAMS = {
    "payments": [("checkout", "Checkout API", 512 * 1024**2, 1.0), ("ledger", "Ledger writer", 1024**3, 2.0)],
    "platform": [("edge-proxy", "Edge proxy", 256 * 1024**2, 0.5)],
}


class Command(BaseCommand):
    help = "Create the demo admin (printing its login) and load demo data into an empty database."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.SITE_URL + "/")
        parser.add_argument("--username", default="admin")

    def handle(self, url, username, **options):
        password = self._ensure_admin(username)
        if not Service.objects.exists():
            self._load_demo()
        self.stdout.write("")
        self.stdout.write(f"  gotriage is starting at {url}")
        self.stdout.write(f"  log in as user '{username}' with password '{password}'")
        self.stdout.write("")

    def _ensure_admin(self, username: str) -> str:
        # The password is kept in the data directory so every `./run` prints the same one.
        secret_file = Path(settings.DATA_DIR) / "demo-admin-password"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user and secret_file.exists():
            return secret_file.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
        else:
            user.set_password(password)
            user.save()
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        return password

    def _load_demo(self) -> None:
        admin = get_user_model().objects.filter(is_superuser=True).first()
        for team_slug, services in DEMO_TEAMS.items():
            team = Team.objects.create(slug=team_slug, name=team_slug.title())
            if admin:
                Membership.objects.get_or_create(team=team, user=admin, defaults={"role": Membership.ROLE_ADMIN})
            for slug, name, mem, cpu in services:
                service = Service.objects.create(
                    team=team, slug=slug, name=name, memory_limit_bytes=mem, cpu_limit_cores=cpu,
                    module_prefixes="gotriage.dev/examples/",
                )
                AgentToken.issue(service, name="demo")
        from apps.ingest.demo import load_demo_captures

        # Dozens of in-process tasks would bury the login line under INFO logs.
        logging.disable(logging.INFO)
        try:
            load_demo_captures(self.stdout)
        finally:
            logging.disable(logging.NOTSET)
