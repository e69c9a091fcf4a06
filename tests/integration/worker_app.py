"""The Celery app with a short visibility timeout, for workers the tests kill.

Run as `celery -A tests.integration.worker_app worker`: an unacked message of
a killed worker comes back after ~5 s instead of the production 30 minutes.
"""
from gotriage.celery import app

app.conf.broker_transport_options = {"visibility_timeout": 5, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}

__all__ = ["app"]
