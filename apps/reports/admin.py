from django.contrib import admin

from .models import Alert, AlertChannel, AlertNotification, ReportOptOut, ReportSubscription, SentReport


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("team", "enabled", "next_report_at", "last_sent_at")


@admin.register(SentReport)
class SentReportAdmin(admin.ModelAdmin):
    list_display = ("team", "week", "sent_at", "error")
    list_filter = ("week",)


@admin.register(ReportOptOut)
class ReportOptOutAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "created_at")


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    list_display = ("team", "kind", "name", "target", "enabled")
    list_filter = ("kind", "enabled")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("service", "kind", "state", "summary", "started_at", "resolved_at", "suppressed")
    list_filter = ("kind", "state")


@admin.register(AlertNotification)
class AlertNotificationAdmin(admin.ModelAdmin):
    list_display = ("alert", "channel", "event", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "event")
