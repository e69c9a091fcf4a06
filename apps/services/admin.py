from django.contrib import admin

from .models import AgentToken, Instance, Membership, Service, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["slug", "team", "memory_limit_bytes", "cpu_limit_cores", "created_at"]
    list_filter = ["team"]
    search_fields = ["slug", "name", "description"]


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "go_version", "version", "last_seen"]
    list_filter = ["service"]
    search_fields = ["name"]


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "service", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["service"]
    # The hash is not useful to a person and the raw token is never stored.
    exclude = ["hashed"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()

    def has_add_permission(self, request):
        return False  # tokens are issued by `create_token` or the service settings page


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role"]
    list_filter = ["team", "role"]
