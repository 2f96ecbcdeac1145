"""Product files: reading CSV and XLSX, guessing the column mapping, turning rows into v3
inventory items, and comparing them with what is stored (the dry run).

The UI import (``web.ui.imports``) and ``glue import-products`` both call these with a
session. Writing goes through ``core.inventory.upsert_inventory`` only; :func:`compare` reads
and never writes.

Row semantics follow the v3 PUT: an empty cell keeps the stored value. ``descriptions`` and
``measurements`` are whole objects on the wire, so a row's texts and measurements are merged
into the stored ones first — importing only Finnish names must not wipe the English texts.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core.inventory import among
from core.products import BALANCES, PRODUCTS, InventoryItemIn, product_columns

LANGUAGES = ("fi", "sv", "en")
TEXTS = ("name", "shortDescription", "description")
MEASUREMENTS = ("weight", "length", "width", "height", "volume")
SCALARS = ("externalId", "eanCode", "status", "variantGroupId", "recommendedRetailPrice",
           "currency", "vatPercentage", "unitOfMeasure", "distributor")
BALANCE = ("wholesalePrice", "quantity", "incoming")
OPTION = "option"  # the column's header is the option's name (Options specification)
IGNORE = ""
TARGETS: tuple[str, ...] = (
    *SCALARS, *(f"{t}.{lang}" for t in TEXTS for lang in LANGUAGES), *MEASUREMENTS, "images",
    OPTION, *BALANCE)
MAX_ROWS = 200_000
MAX_ERRORS_PER_VIEW = 500

# Header spellings (lowercase, letters and digits only) that name a target: English, Finnish
# and Swedish, the words suppliers' ERP exports use.
_ALIASES: dict[str, tuple[str, ...]] = {
    "externalId": ("externalid", "sku", "productcode", "code", "itemnumber", "productid",
                   "tuotekoodi", "tuotenumero", "artikkelinumero", "artikelnummer", "id"),
    "eanCode": ("ean", "eancode", "ean13", "gtin", "barcode", "viivakoodi", "streckkod"),
    "status": ("status", "tila"),
    "variantGroupId": ("variantgroupid", "variantgroup", "group", "parentsku", "parent",
                       "variaatioryhma", "ryhma"),
    "recommendedRetailPrice": ("recommendedretailprice", "rrp", "retailprice", "msrp", "ovh",
                               "suositushinta", "myyntihinta"),
    "currency": ("currency", "valuutta", "valuta"),
    "vatPercentage": ("vatpercentage", "vat", "vatpercent", "alv", "alvprosentti", "moms"),
    "unitOfMeasure": ("unitofmeasure", "unit", "uom", "yksikko", "enhet"),
    "distributor": ("distributor", "jakelija"),
    "weight": ("weight", "weightkg", "paino", "vikt"),
    "length": ("length", "lengthm", "pituus", "langd"),
    "width": ("width", "widthm", "leveys", "bredd"),
    "height": ("height", "heightm", "korkeus", "hojd"),
    "volume": ("volume", "volumem3", "tilavuus", "volym"),
    "images": ("images", "image", "imageurl", "imageurls", "picture", "kuva", "kuvat", "bild"),
    "wholesalePrice": ("wholesaleprice", "price", "cost", "hinta", "ostohinta",
                       "sisaanostohinta", "tukkuhinta", "pris"),
    "quantity": ("quantity", "qty", "stock", "saldo", "maara", "varasto", "lagersaldo"),
    "incoming": ("incoming", "tulossa", "inkommande"),
}
_TEXT_ALIASES = {
    "name": ("name", "productname", "title", "nimi", "tuotenimi", "namn"),
    "shortDescription": ("shortdescription", "summary", "lyhytkuvaus", "kortbeskrivning"),
    "description": ("description", "kuvaus", "beskrivning", "longdescription"),
}
# A text column without a language suffix is in the language its header word is in.
_WORD_LANGUAGE = {"nimi": "fi", "tuotenimi": "fi", "lyhytkuvaus": "fi", "kuvaus": "fi",
                  "namn": "sv", "kortbeskrivning": "sv", "beskrivning": "sv"}
_OPTION_WORDS = ("color", "colour", "size", "vari", "koko", "farg", "storlek", "material")


def N_(message: str) -> str:  # noqa: N802  (babel's marker: extracted, translated when shown)
    return message


class FileUnreadable(ValueError):
    """The upload is not a CSV or XLSX file this import can read (the message says why)."""


# --- reading files -------------------------------------------------------------------------

def read_table(data: bytes, filename: str) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a CSV or XLSX file, every cell as a stripped string.

    CSV: UTF-8 (with or without BOM) or Windows-1252, separator sniffed among ``,;\\t``.
    XLSX: the first worksheet. Rows that are entirely empty are skipped.
    """
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        table = _read_xlsx(data)
    else:
        table = _read_csv(data)
    table = [row for row in table if any(cell for cell in row)]
    if not table:
        raise FileUnreadable("the file has no rows")
    if len(table) - 1 > MAX_ROWS:
        raise FileUnreadable(f"at most {MAX_ROWS} rows per file")
    header, rows = table[0], table[1:]
    width = len(header)
    return header, [(row + [""] * width)[:width] for row in rows]


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileUnreadable("the file is not a readable XLSX workbook") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12 as 12.0; an EAN must not become "…0.0"
    return str(value).strip()


# --- the column mapping --------------------------------------------------------------------

def _key(header: str) -> str:
    folded = header.lower().translate(str.maketrans("äöåé", "aoae"))
    return re.sub(r"[^a-z0-9]", "", folded)


def guess_target(header: str) -> str:
    """The target field a column header most likely means, or ``""`` (ignore)."""
    raw = header.strip().lower()
    if raw.startswith(("option:", "option ", "optio:", "optio ")):
        return OPTION
    key = _key(header)
    lang_match = re.search(r"(?:^|[^a-z])(fi|sv|en)\)?$", raw)
    if lang_match:
        stem = _key(raw[:lang_match.start(1)])
        for target, words in _TEXT_ALIASES.items():
            if stem in words:
                return f"{target}.{lang_match.group(1)}"
    for target, words in _TEXT_ALIASES.items():
        if key in words:
            return f"{target}.{_WORD_LANGUAGE.get(key, 'en')}"
    for target, words in _ALIASES.items():
        if key in words:
            return target
    if key in _OPTION_WORDS:
        return OPTION
    return IGNORE


def guess_mapping(header: list[str]) -> dict[str, str]:
    """{column index: target} for every column; each target but ``option`` is used once
    (the first column that claims it wins)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, name in enumerate(header):
        target = guess_target(name)
        if target and target != OPTION and target in used:
            target = IGNORE
        used.add(target)
        mapping[str(index)] = target
    return mapping


def mapping_errors(mapping: dict[str, str]) -> list[str]:
    """What is wrong with a mapping as a whole (empty list: usable)."""
    targets = [t for t in mapping.values() if t]
    problems = []
    if "externalId" not in targets:
        problems.append("externalId")
    problems += sorted({t for t in targets if t != OPTION and targets.count(t) > 1})
    return problems


# --- rows to inventory items ---------------------------------------------------------------

@dataclass
class RowOutcome:
    """One data row of the file: its 1-based row number in the file (the header is row 1),
    what the import does with it (``new``, ``changed``, ``unchanged`` or ``error``), and why."""

    row: int
    sku: str
    name: str = ""
    status: str = "error"
    changes: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    item: dict[str, Any] | None = None


def _number(value: str) -> str:
    # Finnish spreadsheets write 12,50 and thousands with spaces.
    return value.replace("\u00a0", "").replace(" ", "").replace(",", ".")


def build_item(values: list[str], header: list[str], mapping: dict[str, str],
               catalog_external_id: str | None, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The v3 inventory item of one row, merged with the stored product (``stored`` is its
    column mapping, or None for a new product)."""
    product: dict[str, Any] = {}
    texts: dict[str, dict[str, str]] = {}
    options: list[tuple[str, str]] = []
    measures: dict[str, str] = {}
    balance: dict[str, str] = {}
    for index, target in mapping.items():
        value = values[int(index)] if int(index) < len(values) else ""
        if not target or value == "":
            continue
        if target in ("recommendedRetailPrice", "vatPercentage"):
            product[target] = _number(value)
        elif target in ("status", "currency", "unitOfMeasure"):
            product[target] = value.upper()
        elif target in SCALARS:
            product[target] = value
        elif target in MEASUREMENTS:
            measures[target] = _number(value)
        elif target == "images":
            product["images"] = [{"url": u} for u in re.split(r"[\s|;]+", value) if u]
        elif target == OPTION:
            name = re.sub(r"^(option|optio)\s*:?\s*", "", header[int(index)], flags=re.I)
            options.append((name.strip() or header[int(index)], value))
        elif target in BALANCE:
            balance[target] = _number(value)
        else:
            text, lang = target.split(".")
            texts.setdefault(lang, {})[text] = value
    if measures:
        merged = dict((stored or {}).get("measurements") or {})
        merged.update(measures)
        product["measurements"] = merged
    if texts or options:
        product["descriptions"] = _merge_texts((stored or {}).get("descriptions") or {},
                                               texts, options)
    item: dict[str, Any] = {"product": product}
    if balance and catalog_external_id:
        item["balances"] = [{"catalogExternalId": catalog_external_id, **balance}]
    return item


def _merge_texts(stored: dict[str, Any], texts: dict[str, dict[str, str]],
                 options: list[tuple[str, str]]) -> dict[str, Any]:
    merged = copy.deepcopy(stored)
    for lang, given in texts.items():
        merged.setdefault(lang, {}).update(given)
    if options:
        for lang in (merged or {"fi": {}}):
            merged.setdefault(lang, {})
            merged[lang]["specifications"] = set_options(
                merged[lang].get("specifications") or [], options)
    return merged


def set_options(specifications: list[dict[str, Any]],
                options: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """``specifications`` with the ``Options`` specification's properties set (name → value);
    other specifications and other options are kept."""
    specs = copy.deepcopy(specifications)
    spec = next((s for s in specs if s.get("type") == "Options"), None)
    if spec is None:
        spec = {"type": "Options", "properties": []}
        specs.append(spec)
    props = spec.setdefault("properties", [])
    for name, value in options:
        prop = next((p for p in props if p.get("name") == name), None)
        if prop is None:
            props.append({"name": name, "value": value})
        else:
            prop["value"] = value
    return specs


# --- the dry run ---------------------------------------------------------------------------

def stored_products(session: Session, supplier_id: int, skus: Iterable[str]) -> dict[str, Any]:
    """The stored product columns by externalId, for the SKUs given (one batch)."""
    conn = session.connection()
    skus = list(skus)
    if not skus:
        return {}
    return {row.external_id: dict(row._mapping) for row in conn.execute(
        sa.select(PRODUCTS).where(PRODUCTS.c.supplier_id == supplier_id,
                                  among(conn, PRODUCTS.c.external_id, skus)))}


def _stored_balances(session: Session, product_ids: list[int], catalog_id: int | None,
                     ) -> dict[int, Any]:
    if catalog_id is None or not product_ids:
        return {}
    conn = session.connection()
    return {row.product_id: row for row in conn.execute(
        sa.select(BALANCES).where(BALANCES.c.catalog_id == catalog_id,
                                  among(conn, BALANCES.c.product_id, product_ids)))}


def compare(session: Session, supplier_id: int, header: list[str], rows: list[list[str]],
            mapping: dict[str, str], catalog: tuple[int, str] | None, *, first_row: int = 0,
            seen: set[str] | None = None) -> list[RowOutcome]:
    """What importing ``rows`` would do, row by row, without writing anything.

    ``catalog`` is (id, externalId) of the catalog prices and quantities go into.
    ``first_row`` is the index of ``rows[0]`` among the file's data rows; ``seen`` holds the
    SKUs of earlier rows (a SKU that appears twice is an error in its later rows).
    """
    seen = set() if seen is None else seen
    sku_column = next((int(i) for i, t in mapping.items() if t == "externalId"), None)
    skus = [row[sku_column] if sku_column is not None else "" for row in rows]
    stored = stored_products(session, supplier_id, {s for s in skus if s})
    balances = _stored_balances(session, [p["id"] for p in stored.values()],
                                catalog[0] if catalog else None)
    outcomes = []
    for offset, (values, sku) in enumerate(zip(rows, skus, strict=True)):
        outcome = RowOutcome(row=first_row + offset + 2, sku=sku)
        outcomes.append(outcome)
        if not sku:
            outcome.errors = [{"field": "externalId", "message": N_("The SKU is missing.")}]
            continue
        if sku in seen:
            outcome.errors = [{"field": "externalId",
                               "message": N_("The SKU appears on an earlier row.")}]
            continue
        seen.add(sku)
        old = stored.get(sku)
        item = build_item(values, header, mapping, catalog[1] if catalog else None, old)
        item["product"]["externalId"] = sku
        try:
            parsed = InventoryItemIn.model_validate(item)
        except ValidationError as exc:
            outcome.errors = _errors(exc, header, mapping)
            continue
        outcome.item = item
        outcome.name = _name(parsed.product.descriptions, old)
        if old is None:
            outcome.status = "new"
            continue
        cols = product_columns(parsed.product)
        outcome.changes = [name for name, value in cols.items() if old[name] != value]
        balance = balances.get(old["id"])
        for given in parsed.balances or []:
            for name in ("quantity", "incoming", "wholesale_price"):
                value = getattr(given, name)
                if value is not None and (balance is None or getattr(balance, name) != value):
                    outcome.changes.append(name)
        outcome.status = "changed" if outcome.changes else "unchanged"
    return outcomes


def _name(descriptions: dict[str, Any] | None, old: dict[str, Any] | None) -> str:
    texts = {lang: d.model_dump(by_alias=True) for lang, d in (descriptions or {}).items()}
    texts = texts or (old or {}).get("descriptions") or {}
    for lang in ("fi", "en", "sv", *texts):
        if (texts.get(lang) or {}).get("name"):
            return texts[lang]["name"]
    return ""


def _errors(exc: ValidationError, header: list[str], mapping: dict[str, str],
            ) -> list[dict[str, str]]:
    """pydantic's errors with the field named by the file's column where there is one."""
    columns = {target: header[int(i)] for i, target in mapping.items() if target}
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        target = loc[-1] if loc else ""
        if "measurements" in loc or "balances" in loc:
            target = next((p for p in reversed(loc) if p in columns), target)
        elif "descriptions" in loc and len(loc) >= 4:
            target = f"{loc[-1]}.{loc[2]}"
        elif "images" in loc:
            target = "images"
        out.append({"field": columns.get(target, ".".join(loc)), "message": err["msg"]})
    return out


def summary(outcomes: Iterable[RowOutcome]) -> dict[str, int]:
    """How many rows are new, changed, unchanged and in error."""
    counts = {"new": 0, "changed": 0, "unchanged": 0, "error": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts
