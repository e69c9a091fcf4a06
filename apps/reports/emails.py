"""Every mail is three templates (subject, text, html) rendered by one make_message()."""
from __future__ import annotations

from email.mime.image import MIMEImage

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from . import conf, links

UNSUBSCRIBE_SALT = "gotriage.reports.unsubscribe"


def make_message(name: str, context: dict, to: list[str], *, images: dict[str, bytes] | None = None,
                 headers: dict | None = None) -> EmailMultiAlternatives:
    """templates/emails/<name>-subject.txt, -body.txt and -body.html as one message.

    `images` maps a Content-ID to PNG bytes; the HTML refers to them as cid:…
    and the message becomes multipart/related so clients show them inline.
    """
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    msg = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to, headers=headers or {})
    msg.attach_alternative(html, "text/html")
    if images:
        msg.mixed_subtype = "related"
        for cid, png in images.items():
            part = MIMEImage(png, "png")
            part.add_header("Content-ID", f"<{cid}>")
            part.add_header("Content-Disposition", "inline", filename=f"{cid.split('@')[0]}.png")
            msg.attach(part)
    return msg


# --- unsubscribe -------------------------------------------------------------------


def unsubscribe_token(user, team) -> str:
    # Signed, not stored: the link works without a login and can't be forged for someone else.
    return signing.dumps({"u": user.pk, "t": team.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("t"), int):
        return None
    return data["u"], data["t"]


def report_message(report, user) -> EmailMultiAlternatives:
    """The weekly report for one recipient, with their own unsubscribe link."""
    unsubscribe = links.unsubscribe_url(unsubscribe_token(user, report.team))
    context = {**report.context(), "user": user, "unsubscribe_url": unsubscribe}
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        # RFC 8058: the mail provider POSTs here directly; no confirmation page.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Gotriage-Report": f"{report.team.slug} {report.week}",
    }
    # Dates in the mail read in the report's time zone, not the server's.
    with timezone.override(conf.report_tz()):
        return make_message("report", context, [user.email], images=report.images, headers=headers)


def inline_images(html: str, images: dict[str, bytes]) -> str:
    """cid: references as data: URIs, for showing a mail in a browser (preview, screenshots)."""
    import base64

    for cid, png in images.items():
        html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode())
    return html


def report_html(report, user) -> str:
    """The report's HTML part for `user`, with its charts inlined."""
    msg = report_message(report, user)
    html = next(content for content, mimetype in msg.alternatives if mimetype == "text/html")
    return inline_images(html, report.images)
