"""Tenancy: teams, their members, the services they own, and agent tokens."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import tokens


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    ROLE_MEMBER = "member"
    ROLE_ADMIN = "admin"
    ROLES = [(ROLE_MEMBER, "Member"), (ROLE_ADMIN, "Admin")]

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ROLES, default=ROLE_MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ServiceQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ServiceQuerySet":
        """The one access rule for pages and API: a user sees their teams' services."""
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__memberships__user=user).distinct()


class Service(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="services")
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # Container limits as configured (agents may report observed ones on Instance).
    memory_limit_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_limit_cores = models.FloatField(null=True, blank=True)
    # e.g. https://github.com/acme/shop/blob/main/{path}#L{line}
    repo_url_template = models.CharField(max_length=500, blank=True)
    # Module prefixes counted as the service's own code, one per line.
    module_prefixes = models.TextField(blank=True)
    rss_alert_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def display_name(self) -> str:
        return self.name or self.slug

    @property
    def own_prefixes(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.module_prefixes.splitlines() if p.strip())

    def source_url(self, file: str, line: int | None) -> str | None:
        """Link a frame's file:line to the repository, when a template is set."""
        if not self.repo_url_template or not file:
            return None
        path = file
        for prefix in self.own_prefixes:
            if prefix in path:
                path = path.split(prefix, 1)[1].lstrip("/")
                break
        return self.repo_url_template.replace("{path}", path).replace("{line}", str(line or ""))


class Instance(models.Model):
    """A pod or host seen uploading for a service."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="instances")
    name = models.CharField(max_length=253)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    go_version = models.CharField(max_length=40, blank=True)
    version = models.CharField(max_length=100, blank=True, help_text="release label")
    memory_limit_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_limit_cores = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="uniq_instance")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.service.slug}/{self.name}"


class AgentTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def for_raw(self, raw: str) -> "AgentToken | None":
        """The active token matching `raw`, compared in constant time."""
        prefix = tokens.prefix_of(raw)
        if not prefix:
            return None
        digest = tokens.digest(raw)
        for token in self.active().filter(prefix=prefix).select_related("service"):
            if tokens.same(token.hashed, digest):
                return token
        return None


class AgentToken(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True)  # lookup key, not secret
    hashed = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AgentTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.service.slug})"

    @classmethod
    def issue(cls, service: Service, name: str = "", user=None) -> tuple["AgentToken", str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = tokens.generate()
        token = cls.objects.create(
            service=service, name=name, prefix=tokens.prefix_of(raw), hashed=tokens.digest(raw), created_by=user
        )
        return token, raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        """Record use at most once a minute, so uploads don't write on every call."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            AgentToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
