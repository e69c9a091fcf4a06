from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"

    def ready(self):
        # Alerts follow findings and recommendations: listen, don't be called.
        from apps.goroutines.signals import findings_updated
        from apps.tuning.signals import recommendation_updated

        from .tasks import evaluate_alerts_later

        findings_updated.connect(evaluate_alerts_later, dispatch_uid="reports-alerts-findings")
        recommendation_updated.connect(evaluate_alerts_later, dispatch_uid="reports-alerts-tuning")
