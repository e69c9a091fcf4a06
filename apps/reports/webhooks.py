"""Alert payloads per channel kind, and the one place that sends them."""
from __future__ import annotations

import ipaddress
import json
import socket
import urllib.request
from urllib.parse import urlparse

from . import conf
from .models import AlertChannel, ChannelKind

# Alertmanager's zero time: "no end known yet" for a firing alert.
ZERO_TIME = "0001-01-01T00:00:00Z"


class DeliveryError(Exception):
    pass


def valid_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


def private_destination(url: str) -> str | None:
    """The private address `url` points at, or None when it is public (or allowed).

    Checked when a channel is saved and again before every delivery, since DNS
    answers can change in between.
    """
    if conf.get("GOTRIAGE_WEBHOOK_ALLOW_PRIVATE"):
        return None
    parsed = urlparse(url)
    try:
        infos = socket.getaddrinfo(parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return None  # unresolvable: delivery fails on its own and is retried
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return str(address)
    return None


def generic_payload(alert: dict) -> dict:
    return {"version": 1, "source": "gotriage", "event": alert["state"], "alert": alert}


def slack_payload(alert: dict) -> dict:
    firing = alert["state"] == "firing"
    marker = ":red_circle: *FIRING*" if firing else ":white_check_mark: *RESOLVED*"
    context = f"<{alert['url']}|Open in gotriage> · team *{alert['team']}* · service *{alert['service']}* · since {alert['started_at']}"
    if not firing and alert.get("resolved_at"):
        context += f" · resolved {alert['resolved_at']}"
    return {
        "text": f"{'[FIRING]' if firing else '[RESOLVED]'} {alert['summary']}",  # notification and fallback line
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{marker} · {alert['title']}"}},
            # Go names like (*Worker).run would turn into bold mrkdwn: the summary goes as plain text.
            {"type": "section", "text": {"type": "plain_text", "text": alert["summary"], "emoji": False}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def alertmanager_payload(alert: dict) -> list[dict]:
    details = alert.get("details") or {}
    description = ", ".join(f"{k}={v}" for k, v in details.items() if v is not None and not isinstance(v, (list, dict)))
    return [{
        "labels": {
            "alertname": alert["alertname"], "severity": alert["severity"], "team": alert["team"],
            "service": alert["service"], "kind": alert["kind"], "key": alert["key"],
        },
        "annotations": {"summary": alert["summary"], "description": description, "dashboard": alert["url"]},
        "startsAt": alert["started_at"],
        "endsAt": alert["resolved_at"] if alert["state"] == "resolved" and alert.get("resolved_at") else ZERO_TIME,
        "generatorURL": alert["url"],
    }]


BUILDERS = {ChannelKind.WEBHOOK: generic_payload, ChannelKind.SLACK: slack_payload, ChannelKind.ALERTMANAGER: alertmanager_payload}


def post_json(url: str, body) -> int:
    if not valid_url(url):
        raise DeliveryError(f"not an http(s) URL: {url!r}")
    private = private_destination(url)
    if private:
        raise DeliveryError(f"refusing to post to private address {private} ({urlparse(url).hostname})")
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "gotriage-alerts/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=conf.get("GOTRIAGE_WEBHOOK_TIMEOUT")) as response:
            return response.status
    except urllib.error.HTTPError as exc:  # a non-2xx answer: retried by the outbox
        raise DeliveryError(f"HTTP {exc.code} from {urlparse(url).netloc}") from exc
    except OSError as exc:
        raise DeliveryError(f"{urlparse(url).netloc}: {exc}") from exc


def deliver(channel: AlertChannel, alert: dict) -> None:
    if channel.kind == ChannelKind.EMAIL:
        from .emails import make_message

        make_message("alert", {"alert": alert}, channel.addresses).send()
        return
    post_json(channel.target, BUILDERS[channel.kind](alert))


def sample_payload(channel: AlertChannel) -> dict:
    """A harmless alert for the channel page's test button."""
    from django.utils import timezone

    from . import links

    now = timezone.now().isoformat()
    return {
        "id": "test", "kind": "test", "alertname": "GotriageTest", "severity": "info", "title": "Test notification",
        "state": "firing", "service": "test", "service_name": "test", "team": channel.team.slug, "key": "test",
        "dedup_key": "test", "summary": f"Test notification for team {channel.team.slug} from gotriage",
        "details": {}, "url": links.fleet_url(), "started_at": now, "resolved_at": None, "test": True,
    }
