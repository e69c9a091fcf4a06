from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from apps.services.models import Service, Team


class Command(BaseCommand):
    help = "Create a service (and its team if needed). Prints the service slug on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--team", required=True, help="team slug; created if missing")
        parser.add_argument("--name", default="")
        parser.add_argument("--memory-limit", type=int, default=None, help="container memory limit in bytes")
        parser.add_argument("--cpu-limit", type=float, default=None, help="container CPU limit in cores")

    def handle(self, slug, team, name, memory_limit, cpu_limit, **options):
        if slugify(slug) != slug:
            raise CommandError(f"'{slug}' is not a valid slug (use lowercase letters, digits and dashes)")
        team_obj, created = Team.objects.get_or_create(slug=team, defaults={"name": team})
        if created:
            self.stdout.write(f"created team {team_obj.slug}")
        if Service.objects.filter(slug=slug).exists():
            raise CommandError(f"service '{slug}' already exists")
        service = Service.objects.create(
            team=team_obj, slug=slug, name=name, memory_limit_bytes=memory_limit, cpu_limit_cores=cpu_limit
        )
        self.stdout.write(service.slug)
