from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "apps.ingest"

    def ready(self):
        from . import schema  # noqa: F401  registers the agent-token OpenAPI scheme
