"""The Celery app. Without REDIS_URL tasks run in-process (eager)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gotriage.settings")

app = Celery("gotriage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from apps.reports.schedule import add_beat_entries  # noqa: E402

add_beat_entries(app)

# Ingest's periodic work for `celery beat` (run exactly one beat); registered
# like the reports entries so importing this module never reads settings early.
INGEST_BEAT = {
    # uploads left in `received` while Redis was down, or lost with a worker
    "ingest-sweep-stuck-uploads": (60.0, "apps.ingest.tasks.sweep_stuck_uploads"),
    # prune old raw files, thin and expire old samples
    "ingest-retention": (3600.0, "apps.ingest.tasks.apply_retention"),
}
for _name, (_every, _task) in INGEST_BEAT.items():
    app.add_periodic_task(_every, app.signature(_task), name=_name)
