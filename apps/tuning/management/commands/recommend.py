"""`manage.py recommend`: thin wrapper around apps.goruntime.runtime.cli (same flags, same output)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.goruntime.runtime import cli


class Command(BaseCommand):
    help = "Recommend GOMAXPROCS / GOGC / GOMEMLIMIT and an RSS alert from Go runtime captures."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        opts = {k: options.get(k) for k in ("format", "memory_limit", "cpu_limit", "go_version", "go_mod",
                                            "automaxprocs", "gogc", "gomemlimit", "single_tenant", "files")}
        rc = cli.run(opts, self.stdout, self.stderr)
        if rc:
            raise CommandError("recommend failed (see the error above)", returncode=rc)
