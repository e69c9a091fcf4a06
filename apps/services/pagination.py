"""The API's one pagination: limit/offset with bounds PostgreSQL can take."""
from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**9  # past any real list; a larger number would overflow bigint in SQL


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
