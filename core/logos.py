"""An organization's logo: printed on its white-label packing slips (retailers) and shown on
its public profile (suppliers).

Only PNG and JPEG are taken, recognised by their magic bytes (never by a name or a declared
content type), at most ``MAX_BYTES`` and ``MAX_PIXELS`` on either side; the image is opened
with Pillow to prove it decodes, with the pixel size read from the header before any decoding,
so a small file that claims a huge image (a decompression bomb) is refused cheaply.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image
from sqlalchemy.orm import Session

from core import events
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import Organization
from core.principal import Principal

MAX_BYTES = 1024 * 1024
MAX_PIXELS = 4000
MIN_PIXELS = 16
_MAGIC = {b"\x89PNG\r\n\x1a\n": ("image/png", "PNG"), b"\xff\xd8\xff": ("image/jpeg", "JPEG")}


def sniff_content_type(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` from the file's first bytes, else None."""
    for magic, (content_type, _) in _MAGIC.items():
        if data.startswith(magic):
            return content_type
    return None


def validate_logo(data: bytes) -> str:
    """Check an uploaded logo; returns its content type or raises ``ValidationFailed``."""
    if len(data) > MAX_BYTES:
        raise _invalid(f"the logo is {len(data)} bytes; at most {MAX_BYTES} are allowed")
    match = next(((ct, fmt) for magic, (ct, fmt) in _MAGIC.items() if data.startswith(magic)),
                 None)
    if match is None:
        raise _invalid("the logo must be a PNG or JPEG image")
    content_type, expected_format = match
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if image.format != expected_format:
                    raise _invalid("the logo must be a PNG or JPEG image")
                if max(width, height) > MAX_PIXELS or min(width, height) < MIN_PIXELS:
                    raise _invalid(f"the logo is {width} × {height} pixels; each side must be "
                                   f"{MIN_PIXELS} to {MAX_PIXELS}")
                image.load()  # decodes fully: a truncated or corrupt file fails here
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 -- Pillow raises many kinds for bad data
        raise _invalid("the logo image could not be read") from exc
    return content_type


def set_logo(session: Session, actor: Principal, data: bytes) -> str:
    """Store the acting organization's logo after ``validate_logo``; returns its type."""
    organization = _own_organization(session, actor)
    content_type = validate_logo(data)
    organization.logo = data
    organization.logo_content_type = content_type
    events.record(session, actor, "organization.logo_changed", "organization",
                  organization.business_id, [organization.id], contentType=content_type,
                  size=len(data))
    session.flush()
    return content_type


def get_logo(session: Session, actor: Principal) -> tuple[bytes, str]:
    """The acting organization's logo and its content type; ``NotFound`` when it has none."""
    organization = _own_organization(session, actor)
    if not organization.logo:
        raise NotFound("this organization has no logo")
    return organization.logo, organization.logo_content_type or "application/octet-stream"


def delete_logo(session: Session, actor: Principal) -> None:
    organization = _own_organization(session, actor)
    organization.logo = None
    organization.logo_content_type = None
    events.record(session, actor, "organization.logo_changed", "organization",
                  organization.business_id, [organization.id], contentType=None, size=0)
    session.flush()


def _own_organization(session: Session, actor: Principal) -> Organization:
    organization_id = actor.require_org()
    if not any(actor.can(p) for p in ("admin", "retailer", "supplier")):
        raise Forbidden("changing the logo needs a permission of the organization")
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("no such organization")
    return organization


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": "logo", "message": message}])
