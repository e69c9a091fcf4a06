"""`manage.py triage [--format text|json] [--own-prefix P] FILE [FILE ...]`.

A thin wrapper: the analysis is the pure engine's CLI
(apps.goruntime.goroutines.cli), so the command works without a database.
"""
from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from apps.goruntime.goroutines import cli


class Command(BaseCommand):
    help = ("Triage Go goroutine dumps (debug=2/1, pprof proto, goroutineleak, panics, SIGQUIT, "
            "go test -timeout). FILEs are snapshots of one process, oldest first.")
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument("--own-prefix", action="append", default=[], metavar="PREFIX",
                            help="module/package prefix of the program's own code (repeatable)")
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, **opts):
        argv = ["--format", opts["format"]]
        for p in opts.get("own_prefix") or []:
            argv += ["--own-prefix", p]
        argv += list(opts["files"])
        # write straight to the real stream: BaseCommand's OutputWrapper would
        # append an extra newline and the JSON is consumed by other tools
        out = getattr(self.stdout, "_out", None) or sys.stdout
        err = getattr(self.stderr, "_out", None) or sys.stderr
        rc = cli.main(argv, out, err)
        if rc:
            raise CommandError("triage failed (see messages above)", returncode=rc)
