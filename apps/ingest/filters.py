import django_filters

from apps.services.filtering import UTCDateTimeFilter

from .models import Kind, Status, Upload


class UploadFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    instance = django_filters.CharFilter(field_name="instance__name")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    received_after = UTCDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Upload
        fields = ["service", "instance", "status", "kind"]
