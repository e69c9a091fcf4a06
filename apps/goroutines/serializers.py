from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .catalogue import describe_benign, describe_pattern
from .models import BlockingSite, Snapshot, StackSignature, TriageEvent, TriageState


class StackSerializer(serializers.ModelSerializer):
    class Meta:
        model = StackSignature
        fields = ["signature", "frames", "created_by", "blocking_key", "creation_key", "site_function", "site_file", "site_line"]


class SnapshotSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    instance = serializers.SlugRelatedField(slug_field="name", read_only=True)
    upload = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Snapshot
        fields = [
            "id", "service", "instance", "upload", "captured_at", "format", "go_version", "version", "labels",
            "total", "group_count", "truncated", "leak_profile", "extra",
        ]


class GroupSerializer(serializers.Serializer):
    """One exact stack in a snapshot."""

    signature = serializers.CharField(source="signature_id")
    blocking_key = serializers.CharField()
    wait_reason = serializers.CharField()
    count = serializers.IntegerField()
    leaked = serializers.IntegerField()
    wait_minutes_min = serializers.IntegerField(allow_null=True)
    wait_minutes_max = serializers.IntegerField(allow_null=True)
    labels = serializers.DictField(child=serializers.CharField())
    pattern = serializers.CharField()
    benign = serializers.CharField()
    stack = StackSerializer(allow_null=True)


class SiteRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = BlockingSite
        fields = ["id", "wait_reason", "site_function", "site_file", "site_line", "suspect", "score"]


class SiteGroupSerializer(serializers.Serializer):
    """A snapshot's goroutines summed per blocking site."""

    blocking_key = serializers.CharField()
    count = serializers.IntegerField()
    leaked = serializers.IntegerField()
    wait_minutes_max = serializers.IntegerField(allow_null=True)
    stacks = serializers.IntegerField()
    site = SiteRefSerializer(allow_null=True)


class DiffRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    before = serializers.IntegerField()
    after = serializers.IntegerField()
    delta = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["new", "gone", "grown", "shrunk", "same"])
    site = SiteRefSerializer(allow_null=True, required=False)
    stack = StackSerializer(allow_null=True, required=False)


class DiffSerializer(serializers.Serializer):
    before = SnapshotSerializer()
    after = SnapshotSerializer()
    key = serializers.CharField()
    rows = DiffRowSerializer(many=True)


class BlockingSiteSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    pattern_info = serializers.SerializerMethodField()
    benign_info = serializers.SerializerMethodField()
    is_open_suspect = serializers.BooleanField(read_only=True)

    class Meta:
        model = BlockingSite
        fields = [
            "id", "service", "blocking_key", "wait_reason", "site_function", "site_file", "site_line", "created_by",
            "pattern", "pattern_info", "benign", "benign_info", "first_seen", "last_seen", "last_count", "peak_count",
            "baseline_count", "score", "suspect", "evidence", "leaked", "lifecycle", "suspect_since", "resolved_at",
            "triage_state", "owner", "notes", "updated_at", "is_open_suspect",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_pattern_info(self, obj):
        return describe_pattern(obj.pattern)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_benign_info(self, obj):
        return describe_benign(obj.benign)


class TriageSerializer(serializers.Serializer):
    """PATCH body for a finding: what people set. Absent fields stay as they are."""

    triage_state = serializers.ChoiceField(choices=TriageState.choices, required=False)
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="username of a member of the service's team, or null")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)

    def validate_owner(self, value):
        if not value:
            return None
        site = self.context["site"]
        user = get_user_model().objects.filter(username=value).first()
        if user is None or not (user.is_superuser or site.service.team.memberships.filter(user=user).exists()):
            raise serializers.ValidationError("no such member of the service's team")
        return user


class TriageEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TriageEvent
        fields = ["at", "user", "field", "old", "new"]


class SeriesPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    count = serializers.IntegerField()
    total = serializers.IntegerField(required=False)


class SiteSeriesSerializer(serializers.Serializer):
    summed = SeriesPointSerializer(many=True)
    instances = serializers.DictField(child=SeriesPointSerializer(many=True))


class BlockingSiteDetailSerializer(BlockingSiteSerializer):
    sample_stack = StackSerializer(source="sample_signature", allow_null=True, read_only=True)

    class Meta(BlockingSiteSerializer.Meta):
        fields = BlockingSiteSerializer.Meta.fields + ["sample_stack"]
        read_only_fields = fields
