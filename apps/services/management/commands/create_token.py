from django.core.management.base import BaseCommand, CommandError

from apps.services.models import AgentToken, Service


class Command(BaseCommand):
    help = "Issue an agent token for one service. The raw token is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("service")
        parser.add_argument("--name", default="")

    def handle(self, service, name, **options):
        try:
            svc = Service.objects.get(slug=service)
        except Service.DoesNotExist:
            raise CommandError(f"no service '{service}'") from None
        token, raw = AgentToken.issue(svc, name=name)
        self.stderr.write(f"token {token.prefix} for {svc.slug}; store it now, it is not shown again")
        self.stdout.write(raw)
