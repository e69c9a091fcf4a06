import django_filters

from apps.services.filtering import UTCDateTimeFilter

from .models import BlockingSite, Lifecycle, Snapshot, TriageState


class SnapshotFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    instance = django_filters.CharFilter(field_name="instance__name")
    version = django_filters.CharFilter()
    since = UTCDateTimeFilter(field_name="captured_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="captured_at", lookup_expr="lt")
    leak_profile = django_filters.BooleanFilter()

    class Meta:
        model = Snapshot
        fields = ["service", "instance", "version", "leak_profile"]


class BlockingSiteFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    suspect = django_filters.BooleanFilter()
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    triage_state = django_filters.ChoiceFilter(choices=TriageState.choices)
    pattern = django_filters.CharFilter()
    wait_reason = django_filters.CharFilter()
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    owner = django_filters.CharFilter(field_name="owner__username")
    ordering = django_filters.OrderingFilter(fields=["score", "last_count", "last_seen", "first_seen", "peak_count"])

    class Meta:
        model = BlockingSite
        fields = ["service", "suspect", "lifecycle", "triage_state", "pattern", "wait_reason"]
