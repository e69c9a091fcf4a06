from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from .models import Upload


class UploadSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    instance = serializers.SlugRelatedField(slug_field="name", read_only=True)
    snapshot = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id", "url", "service", "instance", "kind", "status", "error", "error_line", "attempts", "started_at",
            "sha256", "size", "filename", "received_at", "processed_at", "captured_at",
            "go_version", "version", "labels", "snapshot",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_snapshot(self, obj):
        snap = getattr(obj, "snapshot", None)
        return str(snap.pk) if snap is not None else None

    @extend_schema_field(serializers.URLField())
    def get_url(self, obj):
        return reverse("upload-detail", args=[obj.pk], request=self.context.get("request"))


class UploadAcceptedSerializer(serializers.Serializer):
    """What POST /uploads/ answers per artefact."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    url = serializers.URLField()
    kind = serializers.CharField()
    created = serializers.BooleanField(help_text="false when the same bytes were uploaded before (HTTP 200)")
    filename = serializers.CharField(required=False)
