"""Product pictures for the demo data, drawn as SVG so the demo needs no network or files."""

from __future__ import annotations

import hashlib
from html import escape

from flask import Blueprint, Response

bp = Blueprint("demo_images", __name__)


@bp.get("/demo/images/<string:name>.svg")
def image(name: str) -> Response:
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] * 360 // 256
    label = escape(name[:24])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600">'
        f'<rect width="600" height="600" fill="hsl({hue},55%,88%)"/>'
        f'<circle cx="300" cy="260" r="150" fill="hsl({hue},50%,45%)"/>'
        f'<text x="300" y="520" font-family="sans-serif" font-size="40" text-anchor="middle" '
        f'fill="#222">{label}</text></svg>'
    )
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
