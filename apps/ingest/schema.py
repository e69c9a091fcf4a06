"""OpenAPI description of agent-token auth (drf-spectacular extension; imported in AppConfig.ready)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AgentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.services.auth.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Agent token of one service: `gta_<prefix>_<secret>`"}
