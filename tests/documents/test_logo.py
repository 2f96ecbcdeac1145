"""Logo uploads: PNG or JPEG only, by content, within size and pixel limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core import logos
from core.errors import NotFound, ValidationFailed
from tests import factories
from tests.documents import builders


def image(fmt: str, size: tuple[int, int] = (200, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"),
                                                   ("JPEG", "image/jpeg")])
def test_png_and_jpeg_are_taken(session, fmt, content_type):
    retailer = builders.new_retailer(session)
    assert logos.set_logo(session, factories.acting(retailer), image(fmt)) == content_type
    assert logos.get_logo(session, factories.acting(retailer))[1] == content_type


@pytest.mark.parametrize("data", [
    image("GIF"),
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"\x89PNG\r\n\x1a\n" + b"\0" * 100,  # PNG magic, no image
    image("PNG")[:200],  # truncated
    image("PNG", (5000, 20)),  # too wide
    image("PNG", (8, 8)),  # too small
])
def test_anything_else_is_refused(session, data):
    retailer = builders.new_retailer(session)
    with pytest.raises(ValidationFailed):
        logos.set_logo(session, factories.acting(retailer), data)
    assert retailer.logo is None


def test_over_a_mebibyte_is_refused_before_decoding():
    with pytest.raises(ValidationFailed, match="at most 1048576"):
        logos.validate_logo(b"\x89PNG\r\n\x1a\n" + b"\0" * logos.MAX_BYTES)


def test_deleting_the_logo(session):
    retailer = builders.new_retailer(session)
    actor = factories.acting(retailer)
    logos.set_logo(session, actor, image("PNG"))
    logos.delete_logo(session, actor)
    with pytest.raises(NotFound):
        logos.get_logo(session, actor)
