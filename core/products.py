"""Products and balances on the v3 wire, and reading them under the visibility rule.

- Input models (:class:`InventoryItemIn`, :class:`ProductIn`, :class:`BalanceIn`,
  :class:`BalanceRefIn`) parse the v3 wire: camelCase aliases (snake_case names work too),
  ``null`` for any unset optional field, unknown fields ignored.
- :func:`product_to_wire` and :func:`balance_to_wire` write the v3 shapes back. Money and
  measurements are JSON numbers (see :func:`core.wire.number`); times carry their UTC offset.
- Reads (:func:`get_inventory`, :func:`catalog_inventory`, :func:`list_balances`) apply
  DESIGN.md 2: a supplier sees its own products with every balance; a retailer sees the basic
  data of products in any public catalog and in its own private catalogs, and balances (price,
  quantity) only of the catalogs in ``core.access.active_catalog_ids``. An organization with
  both roles sees the union.

The writes (PUT and DELETE /inventory) are in :mod:`core.inventory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from core import keyset
from core.access import active_catalog_ids
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import Balance, Catalog, Organization, Product
from core.principal import Principal
from core.validation import validate_code128_id, validate_ean, validate_external_id
from core.wire import number, timestamp

MAX_ITEMS = 2000  # the v3 Products API limit per request
MAX_PAGE_SIZE = 2000
MAX_QUANTITY = 2**31 - 1

# --- input models (the v3 wire) ------------------------------------------------------------


def _domain(check: Any) -> Any:
    """Run a core.validation check inside pydantic, keeping its message without a prefix."""

    def run(value: str) -> str:
        try:
            return check(value)
        except ValidationFailed as exc:
            raise PydanticCustomError("invalid", "{reason}",
                                      {"reason": exc.errors[0]["message"]}) from None

    return AfterValidator(run)


def _optional_ean(value: str) -> str:
    return value if value == "" else validate_ean(value)


def _http_url(value: str) -> str:
    # Shops fetch these and the UI links them: only web addresses, never javascript: or file:.
    if not value.lower().startswith(("https://", "http://")):
        raise PydanticCustomError("url", "must be an http:// or https:// address")
    return value


ProductExternalId = Annotated[str, _domain(validate_external_id)]
CatalogExternalId = Annotated[str, _domain(validate_code128_id)]
Ean = Annotated[str, _domain(_optional_ean)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]  # fits NUMERIC(14, 4)
Amount = Money  # measurements take the same exact, non-negative form
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Text = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=100_000)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")]


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in code; unknown fields are ignored, not refused,
    so that clients written for the hosted service keep working."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class MeasurementsIn(WireModel):
    weight: Amount | None = None  # kg
    length: Amount | None = None  # m
    width: Amount | None = None  # m
    height: Amount | None = None  # m
    volume: Amount | None = None  # m³


class ImageIn(WireModel):
    url: Url


class PropertyIn(WireModel):
    name: Text | None = None
    value: Text | None = None
    specifier: Text | None = None
    description: LongText | None = None


class SpecificationIn(WireModel):
    type: Text | None = None
    properties: list[PropertyIn] | None = None


class AttachmentIn(WireModel):
    name: Text | None = None
    type: Text | None = None
    content_type: Text | None = None
    uri: Url | None = None


class DescriptionIn(WireModel):
    name: Text | None = None
    short_description: LongText | None = None
    description: LongText | None = None
    specifications: list[SpecificationIn] | None = None
    attachments: list[AttachmentIn] | None = None


class ProductIn(WireModel):
    external_id: ProductExternalId
    ean_code: Ean | None = None
    supplier_id: str | None = None  # ignored: the acting supplier owns the product
    distributor: Annotated[str, Field(max_length=200)] | None = None
    recommended_retail_price: Money | None = None
    currency: Currency | None = None
    vat_percentage: Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)] | None = None
    unit_of_measure: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    status: Literal["ACTIVE", "EOS"] | None = None
    measurements: MeasurementsIn | None = None
    is_fragile: bool | None = None
    is_dangerous_goods: bool | None = None
    is_oversized: bool | None = None
    images: Annotated[list[ImageIn], Field(max_length=100)] | None = None
    descriptions: dict[Language, DescriptionIn] | None = None
    variant_group_id: ProductExternalId | None = None  # Glue extension (DESIGN.md 4)


class BalanceIn(WireModel):
    retailer_id: str | None = None  # the retailer's business ID; private catalogs only
    catalog_external_id: CatalogExternalId
    product_external_id: str | None = None  # defaults to the item's product
    quantity: Quantity | None = None  # available to order, not counting reservations
    incoming: Quantity | None = None
    wholesale_price: Money | None = None
    currency: Currency | None = None


class InventoryItemIn(WireModel):
    product: ProductIn
    balances: list[BalanceIn] | None = None


class BalanceRefIn(WireModel):
    """One entry of DELETE /inventory/balances."""

    product_external_id: ProductExternalId
    catalog_external_id: CatalogExternalId
    retailer_id: str | None = None


# --- columns -------------------------------------------------------------------------------

PRODUCTS = Product.__table__
BALANCES = Balance.__table__

# Columns a PUT may change, with what a new product gets when the field is not given.
PRODUCT_DEFAULTS: dict[str, Any] = {
    "ean_code": None, "status": "ACTIVE", "variant_group_id": None, "distributor": None,
    "recommended_retail_price": None, "currency": "EUR", "vat_percentage": None,
    "unit_of_measure": "KPL", "is_fragile": False, "is_dangerous_goods": False,
    "is_oversized": False, "measurements": {}, "images": [], "descriptions": {},
}
_SCALARS = ("ean_code", "status", "variant_group_id", "distributor", "recommended_retail_price",
            "currency", "vat_percentage", "unit_of_measure", "is_fragile", "is_dangerous_goods",
            "is_oversized")
BALANCE_FIELDS = ("quantity", "incoming", "wholesale_price", "currency")


def product_columns(product: ProductIn) -> dict[str, Any]:
    """The product columns a PUT sets: only the fields the client gave (not absent, not null)."""
    cols: dict[str, Any] = {name: value for name in _SCALARS
                            if (value := getattr(product, name)) is not None}
    if cols.get("ean_code") == "":
        cols["ean_code"] = None
    if product.measurements is not None:
        cols["measurements"] = {k: number(v) for k, v in
                                product.measurements.model_dump(exclude_none=True).items()}
    if product.images is not None:
        cols["images"] = [{"url": image.url} for image in product.images]
    if product.descriptions is not None:
        cols["descriptions"] = {lang: text.model_dump(by_alias=True, exclude_none=True)
                                for lang, text in product.descriptions.items()}
    return cols


# --- serialisation -------------------------------------------------------------------------


def product_to_wire(product: Product) -> dict[str, Any]:
    """The v3 product object (plus Glue's ``variantGroupId``, ``createdDate``, ``updatedDate``).

    ``supplierId`` is the supplier's business ID; load ``Product.supplier`` with the product
    when serialising many (the reads here do).
    """
    return {
        "externalId": product.external_id,
        "supplierId": product.supplier.business_id,
        "distributor": product.distributor,
        "eanCode": product.ean_code,
        "recommendedRetailPrice": number(product.recommended_retail_price),
        "currency": product.currency,
        "vatPercentage": number(product.vat_percentage),
        "unitOfMeasure": product.unit_of_measure,
        "status": product.status,
        "measurements": dict(product.measurements or {}),
        "isFragile": product.is_fragile,
        "isDangerousGoods": product.is_dangerous_goods,
        "isOversized": product.is_oversized,
        "images": list(product.images or []),
        "descriptions": dict(product.descriptions or {}),
        "variantGroupId": product.variant_group_id,
        "createdDate": timestamp(product.created_at),
        "updatedDate": timestamp(product.updated_at),
    }


def balance_to_wire(balance: Balance) -> dict[str, Any]:
    """The v3 balance object (plus Glue's ``modifiedDate``). ``quantity`` is what can still be
    ordered; reserved units are not shown. ``retailerId`` is the private catalog's retailer
    business ID, null for a public catalog."""
    catalog = balance.catalog
    return {
        "retailerId": catalog.retailer.business_id if catalog.retailer_id else None,
        "catalogExternalId": catalog.external_id,
        "productExternalId": balance.product.external_id,
        "quantity": balance.quantity,
        "incoming": balance.incoming,
        "wholesalePrice": number(balance.wholesale_price),
        "currency": balance.currency,
        "modifiedDate": timestamp(balance.modified_at),
    }


def inventory_item_to_wire(product: Product, balances: list[Balance]) -> dict[str, Any]:
    """``{product, balances}`` as GET /inventory answers it."""
    return {"product": product_to_wire(product),
            "balances": [balance_to_wire(b) for b in balances]}


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """What one actor may see: all of ``supplier_id``'s inventory (None: no own inventory),
    the basic data of public and own private catalogs if ``retailer_id`` is set, and the
    balances of ``balance_catalog_ids``. ``everything`` is Glue's own system actor."""

    supplier_id: int | None
    retailer_id: int | None
    balance_catalog_ids: frozenset[int]
    everything: bool = False

    def owns(self, supplier_id: int) -> bool:
        return self.everything or self.supplier_id == supplier_id

    def sees_balance(self, balance: Balance, supplier_id: int) -> bool:
        return self.owns(supplier_id) or balance.catalog_id in self.balance_catalog_ids


def _view(session: Session, actor: Principal) -> _View:
    if actor.system:
        return _View(None, None, frozenset(), everything=True)
    if not (actor.can("supplier") or actor.can("retailer")):
        raise Forbidden("reading inventory needs the 'supplier' or 'retailer' permission")
    org = actor.require_org()
    retailer_id = org if actor.can("retailer") else None
    return _View(supplier_id=org if actor.can("supplier") else None, retailer_id=retailer_id,
                 balance_catalog_ids=frozenset(active_catalog_ids(session, retailer_id))
                 if retailer_id else frozenset())


def _visible_products(view: _View) -> sa.ColumnElement[bool]:
    """Products whose basic data the view sees."""
    if view.everything:
        return sa.true()
    conditions = []
    if view.supplier_id is not None:
        conditions.append(Product.supplier_id == view.supplier_id)
    if view.retailer_id is not None:
        listed = (sa.select(Balance.product_id).join(Catalog, Catalog.id == Balance.catalog_id)
                  .where(sa.or_(Catalog.is_public.is_(True),
                                Catalog.retailer_id == view.retailer_id)))
        conditions.append(Product.id.in_(listed))
    return sa.or_(*conditions)


def _balance_options() -> tuple[Any, ...]:
    return (joinedload(Balance.catalog).joinedload(Catalog.retailer),)


def get_inventory(session: Session, actor: Principal, external_ids: list[str],
                  ) -> list[tuple[Product, list[Balance]]]:
    """The visible products with these externalIds, each with the balances the actor sees,
    ordered by product. ExternalIds are unique per supplier only, so a retailer may get
    several suppliers' products for one id: all visible ones are returned. Unknown and
    invisible ids are simply absent."""
    view = _view(session, actor)
    if len(external_ids) > MAX_ITEMS:
        raise ValidationFailed(f"at most {MAX_ITEMS} externalIds per request")
    if not external_ids:
        return []
    products = session.scalars(
        sa.select(Product).where(Product.external_id.in_(list(external_ids)),
                                 _visible_products(view))
        .options(selectinload(Product.supplier)).order_by(Product.id)
        .execution_options(populate_existing=True)).all()
    if not products:
        return []
    balances = session.scalars(
        sa.select(Balance).where(Balance.product_id.in_([p.id for p in products]))
        .options(*_balance_options()).order_by(Balance.catalog_id)
        .execution_options(populate_existing=True)).all()
    by_product: dict[int, list[Balance]] = {p.id: [] for p in products}
    owner = {p.id: p.supplier_id for p in products}
    for balance in balances:
        if view.sees_balance(balance, owner[balance.product_id]):
            by_product[balance.product_id].append(balance)
    return [(p, by_product[p.id]) for p in products]


def _page(page: int, size: int) -> None:
    if page < 0:
        raise ValidationFailed("page starts at 0", [{"field": "page", "message": "must be >= 0"}])
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"size must be 1..{MAX_PAGE_SIZE}",
                               [{"field": "size", "message": f"must be 1..{MAX_PAGE_SIZE}"}])


def _catalog_for(session: Session, view: _View, external_id: str) -> Catalog:
    """A catalog the view may look into; NotFound for unknown ones and for another
    retailer's private catalog alike, so the answer reveals nothing."""
    catalog = session.scalar(sa.select(Catalog).where(Catalog.external_id == external_id)
                             .options(joinedload(Catalog.retailer)))
    if catalog is not None and (view.owns(catalog.supplier_id) or (
            view.retailer_id is not None
            and (catalog.is_public or catalog.retailer_id == view.retailer_id))):
        return catalog
    raise NotFound(f"no catalog {external_id!r}")


def catalog_inventory(session: Session, actor: Principal, catalog_external_id: str, *,
                      retailer_id: str | None = None, page: int = 0, size: int = 100,
                      after: str | None = None,
                      ) -> tuple[list[tuple[Product, list[Balance]]], int]:
    """One page of the products published in a catalog, with that catalog's balance when the
    actor may see it (else an empty list), and the total count (GET /inventory?catalogExternalId).

    ``retailer_id`` (a business ID), when given, must agree with the catalog: the private
    catalog's retailer, or for a retailer reading a public catalog its own business ID;
    otherwise NotFound.

    Ordered by product id; ``after`` (the cursor of :func:`catalog_inventory_key` of the
    previous page's last product, see :mod:`core.keyset`) wins over ``page``.
    """
    view = _view(session, actor)
    _page(page, size)
    catalog = _catalog_for(session, view, catalog_external_id)
    if retailer_id:
        if catalog.is_public:
            agrees = view.owns(catalog.supplier_id) or _business_id(session, view) == retailer_id
        else:
            agrees = catalog.retailer is not None and catalog.retailer.business_id == retailer_id
        if not agrees:
            raise NotFound(f"no catalog {catalog_external_id!r} for retailer {retailer_id!r}")
    show = view.owns(catalog.supplier_id) or catalog.id in view.balance_catalog_ids
    where = (Balance.catalog_id == catalog.id,)
    total = session.scalar(sa.select(sa.func.count()).select_from(Balance).where(*where))
    # Keyset paging (core.keyset): the unique index balances (catalog_id, product_id) covers
    # both the filter and the order, so the boundary of page N is an index-only scan.
    query = keyset.page_query(
        session,
        sa.select(Product, Balance).join(Balance, Balance.product_id == Product.id)
        .where(*where).options(selectinload(Product.supplier))
        .execution_options(populate_existing=True),
        (Balance.product_id,), page=page, size=size, after=after,
        boundary=sa.select(Balance.product_id).where(*where))
    rows = session.execute(query).all() if query is not None else []
    return [(product, [balance] if show else []) for product, balance in rows], total or 0


def catalog_inventory_key(product: Product) -> keyset.Key:
    """The paging key of a :func:`catalog_inventory` row (for the next page's cursor)."""
    return (product.id,)


def balance_key(balance: Balance) -> keyset.Key:
    """The paging key of a :func:`list_balances` row (for the next page's cursor)."""
    return (balance.modified_at, balance.id)


def _business_id(session: Session, view: _View) -> str | None:
    org = session.get(Organization, view.retailer_id) if view.retailer_id else None
    return org.business_id if org else None


def list_balances(session: Session, actor: Principal, *, catalog_external_id: str | None = None,
                  modified_from: datetime | None = None,
                  product_external_ids: list[str] | None = None, page: int = 0,
                  size: int = 100, after: str | None = None) -> tuple[list[Balance], int]:
    """One page of the balances the actor sees, oldest modification first (for incremental
    sync with ``modified_from``), and the total count (GET /catalogs/balances and
    /catalogs/{id}/balances). A supplier sees its catalogs' balances; a retailer those of its
    active catalogs. Naming a catalog it may know of but not read prices in (a public catalog
    without active access, its own inactive private catalog) is Forbidden.

    Paged by seek on (modified_at, id) (:mod:`core.keyset`); ``after`` (a cursor of
    :func:`balance_key`) wins over ``page``.
    """
    view = _view(session, actor)
    _page(page, size)
    if modified_from is not None and modified_from.tzinfo is None:
        raise ValidationFailed("modifiedFromDate needs a UTC offset",
                               [{"field": "modifiedFromDate", "message": "needs a UTC offset"}])
    conditions: list[sa.ColumnElement[bool]] = []
    if catalog_external_id is not None:
        catalog = _catalog_for(session, view, catalog_external_id)
        if not (view.owns(catalog.supplier_id) or catalog.id in view.balance_catalog_ids):
            raise Forbidden(f"catalog {catalog_external_id!r} is not active for you: its "
                            "prices and quantities show once the supplier activates it")
        conditions.append(Balance.catalog_id == catalog.id)
    elif not view.everything:
        conditions.append(sa.or_(Catalog.supplier_id == view.supplier_id,
                                 Balance.catalog_id.in_(view.balance_catalog_ids)))
    if modified_from is not None:
        conditions.append(Balance.modified_at >= modified_from)
    if product_external_ids is not None:
        conditions.append(Product.external_id.in_(list(product_external_ids)))
    base = (sa.select(Balance).join(Balance.catalog).join(Balance.product).where(*conditions))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    query = keyset.page_query(
        session,
        base.options(contains_eager(Balance.catalog).joinedload(Catalog.retailer),
                     contains_eager(Balance.product))
        .execution_options(populate_existing=True),
        (Balance.modified_at, Balance.id), page=page, size=size, after=after,
        boundary=base.with_only_columns(Balance.modified_at, Balance.id))
    balances = session.scalars(query).all() if query is not None else []
    return list(balances), total or 0
