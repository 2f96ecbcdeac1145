"""``/dev/mail``: the mail Glue would have sent, when no SMTP server is configured.

Stored mail holds live invitation and reset links, so the page answers only when mail is stored
(no ``GLUE_SMTP_HOST``, ``GLUE_DEV_MAIL`` not ``0``) and only to requests from this machine.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import abort, render_template, request

from web.ui import bp
from web.ui.context import transaction
from web.ui.mail import dev_mail_enabled, stored_mail


def _from_this_machine() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/dev/mail")
def dev_mail() -> Any:
    if not dev_mail_enabled() or not _from_this_machine():
        abort(404)
    with transaction() as s:
        mails = [{"id": m.id, "to": m.recipient, "subject": m.subject, "body": m.body,
                  "created_at": m.created_at} for m in stored_mail(s)]
    return render_template("ui/dev_mail.html", mails=mails)
