"""Glue listing documents as :mod:`connectors.publish` builds them, for the recorded shop's
products: the variable shirt (parent 18, variations 19-24) and the simple mug (25)."""

from __future__ import annotations

from typing import Any

from connectors.publish import Listing


def variant(product_id: int, sku: str, options: list[list[str]], *, price: str = "24.90",
            quantity: int = 10, barcode: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "sku": sku, "barcode": barcode, "price": price,
            "currency": "EUR", "options": options, "weight_kg": None, "quantity": quantity}


def shirt_listing() -> dict[str, Any]:
    """The recorded variable product, as the publish engine would describe it."""
    sizes, colours = ("S", "M", "L"), ("Musta", "Harmaa")
    variants = [variant(100 + i, f"GLUE-PAITA-{s}-{c.upper()}", [["Koko", s], ["Väri", c]],
                        barcode="6412345000019" if (s, c) == ("M", "Musta") else None)
                for i, (s, c) in enumerate((s, c) for s in sizes for c in colours)]
    return {"key": "g7:PAITA", "title": "Glue-testipaita", "short_description": "Pehmeä & kestävä",
            "description": "Luomupuuvillainen t-paita.", "vendor": "Tukku Oy",
            "images": ["https://img.example.test/paita.jpg"], "options": ["Koko", "Väri"],
            "variants": variants}


def mug_listing(quantity: int = 25) -> dict[str, Any]:
    mug = variant(5, "GLUE-MUKI", [], price="12.90", quantity=quantity)
    mug["weight_kg"] = "0.350"
    return {"key": "p5", "title": "Glue-muki", "short_description": "", "description":
            "Kestää\nastianpesukoneen.\n\n<b>Ei</b> mikroaaltouuniin.", "vendor": "Tukku Oy",
            "images": [], "options": [], "variants": [mug]}


def listing(document: dict[str, Any]) -> Listing:
    return Listing(key=document["key"], document=document, content_hash="c", full_hash="f",
                   product_ids=tuple(v["product_id"] for v in document["variants"]))
