from django.apps import AppConfig


class GoroutinesConfig(AppConfig):
    name = "apps.goroutines"
