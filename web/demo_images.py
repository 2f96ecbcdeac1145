"""Product pictures for the demo data, drawn on request so the demo needs no network or files.

PNG is what every shop platform takes as a product image (Magento and WordPress refuse SVG
uploads); the SVG route stays for demo data seeded before the pictures became PNG.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from functools import lru_cache
from html import escape

from flask import Blueprint, Response
from PIL import Image, ImageDraw, ImageFont

bp = Blueprint("demo_images", __name__)
SIZE = 600


def _hue(name: str) -> int:
    return hashlib.sha256(name.encode()).digest()[0] * 360 // 256


def _rgb(hue: int, saturation: float, lightness: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


@lru_cache(maxsize=1024)
def png(name: str) -> bytes:
    """A 600 px square: a disc in the name's colour over a light ground, the name below."""
    hue = _hue(name)
    image = Image.new("RGB", (SIZE, SIZE), _rgb(hue, 0.55, 0.88))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 110, 450, 410), fill=_rgb(hue, 0.50, 0.45))
    font = ImageFont.load_default(size=40)
    draw.text((SIZE / 2, 520), name[:24], fill=(34, 34, 34), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/demo/images/<string:name>.png")
def image_png(name: str) -> Response:
    return _cached(Response(png(name), mimetype="image/png"))


@bp.get("/demo/images/<string:name>.svg")
def image(name: str) -> Response:
    hue = _hue(name)
    label = escape(name[:24])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600">'
        f'<rect width="600" height="600" fill="hsl({hue},55%,88%)"/>'
        f'<circle cx="300" cy="260" r="150" fill="hsl({hue},50%,45%)"/>'
        f'<text x="300" y="520" font-family="sans-serif" font-size="40" text-anchor="middle" '
        f'fill="#222">{label}</text></svg>'
    )
    return _cached(Response(svg, mimetype="image/svg+xml"))
