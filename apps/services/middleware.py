"""Refuse NUL bytes in query strings before any view sees them.

No parameter of ours may contain one, and PostgreSQL refuses them in text
columns, so a filter like ?service=%00 would otherwise end in a 500.
"""
from __future__ import annotations

from django.http import JsonResponse


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                name = key.replace("\x00", "\\x00")[:60]
                return JsonResponse({"error": f"query parameter {name!r} contains a NUL byte", "field": name}, status=400)
        return self.get_response(request)
