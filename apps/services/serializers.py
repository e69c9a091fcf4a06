from rest_framework import serializers

from .models import Instance, Service


class InstanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instance
        fields = ["name", "first_seen", "last_seen", "go_version", "version", "memory_limit_bytes", "cpu_limit_cores"]


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Service
        fields = [
            "id", "slug", "name", "team", "description", "memory_limit_bytes", "cpu_limit_cores",
            "repo_url_template", "module_prefixes", "rss_alert_bytes", "created_at",
        ]
        read_only_fields = ["id", "slug", "team", "created_at"]
