"""The tables of the core domain (DESIGN.md sections 2-5).

Internal integer keys join the tables; the wire uses the public identifiers (business IDs,
``externalId`` values, ``shipmentId``). Enumerations are stored as their wire strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _now() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


# --- parties -------------------------------------------------------------------------------

class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    country: Mapped[str] = mapped_column(sa.String(2), default="FI")
    name: Mapped[str] = mapped_column(sa.String(200))
    is_supplier: Mapped[bool] = mapped_column(default=False)
    is_retailer: Mapped[bool] = mapped_column(default=False)
    # supplier public profile
    description: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    ships_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    logo_content_type: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    # retailer address, printed on white-label packing slips
    street_address: Mapped[str] = mapped_column(sa.String(200), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="")
    post_office: Mapped[str] = mapped_column(sa.String(100), default="")
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    telephone: Mapped[str] = mapped_column(sa.String(50), default="")
    created_at: Mapped[datetime] = _now()


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    language: Mapped[str] = mapped_column(sa.String(2), default="fi")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _now()

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    is_retailer: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship()


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    permissions: Mapped[str] = mapped_column(sa.String(40))  # "admin,supplier,retailer"
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiAccount(Base):
    __tablename__ = "api_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    secret_hash: Mapped[str] = mapped_column(sa.String(200))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship()


# --- catalogs ------------------------------------------------------------------------------

class Catalog(Base):
    """A supplier's catalog: the public one (one per supplier) or a retailer's private one."""

    __tablename__ = "catalogs"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    retailer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id"), index=True, default=None)  # private catalogs only
    name: Mapped[str] = mapped_column(sa.String(200))
    catalog_type: Mapped[str] = mapped_column(sa.String(20), default="Catalog")
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    back_order_allowed: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=0)
    route_weight: Mapped[int] = mapped_column(default=0)
    is_public: Mapped[bool] = mapped_column(default=False)
    # private catalogs: created -> in_use -> active; deactivated by either side
    state: Mapped[str] = mapped_column(sa.String(20), default="created")
    deactivated_by: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    created_at: Mapped[datetime] = _now()

    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    retailer: Mapped[Organization | None] = relationship(foreign_keys=[retailer_id])


class CatalogAccess(Base):
    """A retailer's access to a supplier's public catalog (the activation request)."""

    __tablename__ = "catalog_access"
    __table_args__ = (sa.UniqueConstraint("catalog_id", "retailer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogs.id", ondelete="CASCADE"))
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="requested")
    request_message: Mapped[str] = mapped_column(sa.Text, default="")
    response_message: Mapped[str] = mapped_column(sa.Text, default="")
    requested_at: Mapped[datetime] = _now()
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    catalog: Mapped[Catalog] = relationship()
    retailer: Mapped[Organization] = relationship()


# --- products and balances -----------------------------------------------------------------

class Product(Base):
    __tablename__ = "products"
    # the supplier's product list filters by status and pages by externalId
    __table_args__ = (sa.UniqueConstraint("supplier_id", "external_id"),
                      sa.Index("ix_products_supplier_variant_group", "supplier_id",
                               "variant_group_id"),
                      sa.Index("ix_products_supplier_status", "supplier_id", "status",
                               "external_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    external_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    ean_code: Mapped[str | None] = mapped_column(sa.String(14), index=True, default=None)
    status: Mapped[str] = mapped_column(sa.String(10), default="ACTIVE")
    variant_group_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    distributor: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    recommended_retail_price: Mapped[Decimal | None] = mapped_column(default=None)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    vat_percentage: Mapped[Decimal | None] = mapped_column(default=None)
    unit_of_measure: Mapped[str] = mapped_column(sa.String(10), default="KPL")
    is_fragile: Mapped[bool] = mapped_column(default=False)
    is_dangerous_goods: Mapped[bool] = mapped_column(default=False)
    is_oversized: Mapped[bool] = mapped_column(default=False)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    images: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"fi": {"name", "shortDescription", "description", "specifications", "attachments"}, ...}
    descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    supplier: Mapped[Organization] = relationship()


class Balance(Base):
    """A product published into a catalog: its per-catalog price and stock.

    ``quantity`` is what can still be ordered; ``reserved`` is what accepted, not yet delivered
    orders hold. Reserving moves units from one to the other in one conditional UPDATE.
    """

    __tablename__ = "balances"
    __table_args__ = (sa.UniqueConstraint("catalog_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogs.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    incoming: Mapped[int] = mapped_column(default=0)
    wholesale_price: Mapped[Decimal | None] = mapped_column(default=None)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    catalog: Mapped[Catalog] = relationship()
    product: Mapped[Product] = relationship()


# --- orders and shipments ------------------------------------------------------------------

class Order(Base):
    __tablename__ = "orders"
    # the retailer's order search pages newest first by (order_date, id)
    __table_args__ = (sa.UniqueConstraint("retailer_id", "external_id"),
                      sa.Index("ix_orders_retailer_date", "retailer_id", "order_date", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    order_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(sa.String(30), default="Accepted", index=True)
    document_type: Mapped[str] = mapped_column(sa.String(20), default="SalesOrder")
    metadata_client: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    references: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # parties: {"vendor": {...}, "sender": {...}, "client": {...}, "deliveryAddress": {...}}
    parties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    service_code: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    routing_service_code: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    pickup_point_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    delivery_operator: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    additional_services: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total_price: Mapped[Decimal | None] = mapped_column(default=None)
    total_tax: Mapped[Decimal | None] = mapped_column(default=None)
    total_wholesale_price: Mapped[Decimal | None] = mapped_column(default=None)
    auto_submit: Mapped[bool] = mapped_column(default=True)
    # every tracking code of the order's delivered parcels, copied from its shipments
    tracking_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(sa.String(20), default="api")  # api | ui | connection
    shop_connection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="SET NULL"), default=None)
    shop_order_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    retailer: Mapped[Organization] = relationship()
    rows: Mapped[list[OrderRow]] = relationship(
        back_populates="order", order_by="OrderRow.line_no", cascade="all, delete-orphan")
    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="order", order_by="Shipment.id", cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="order", order_by="Comment.id", cascade="all, delete-orphan")


class OrderRow(Base):
    __tablename__ = "order_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    line_no: Mapped[int]
    external_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    catalog_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogs.id"))
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    shipment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shipments.id", ondelete="SET NULL"), index=True, default=None)
    external_product_id: Mapped[str] = mapped_column(sa.String(64))
    product_ean_code: Mapped[str | None] = mapped_column(sa.String(14), default=None)
    product_description: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    product_unit_of_measure: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    quantity: Mapped[int]
    # units still held on the balance; drops to 0 when delivered, cancelled or returned
    reserved_quantity: Mapped[int] = mapped_column(default=0)
    delivered_quantity: Mapped[int] = mapped_column(default=0)
    wholesale_price: Mapped[Decimal | None] = mapped_column(default=None)
    price: Mapped[Decimal | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(sa.String(30), default="Accepted")
    # codes of the parcels that carry this row, copied from its shipment
    tracking_codes: Mapped[list[str]] = mapped_column(JSON, default=list)

    order: Mapped[Order] = relationship(back_populates="rows")
    product: Mapped[Product] = relationship()
    catalog: Mapped[Catalog] = relationship()
    shipment: Mapped[Shipment | None] = relationship(back_populates="rows")


class Shipment(Base):
    __tablename__ = "shipments"
    # the supplier's work queue: newest first per supplier, and counts per status
    __table_args__ = (sa.Index("ix_shipments_supplier_created", "supplier_id", "created_at", "id"),
                      sa.Index("ix_shipments_supplier_status", "supplier_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    status: Mapped[str] = mapped_column(sa.String(20), default="Created", index=True)
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    order: Mapped[Order] = relationship(back_populates="shipments")
    supplier: Mapped[Organization] = relationship()
    rows: Mapped[list[OrderRow]] = relationship(back_populates="shipment",
                                                order_by="OrderRow.line_no")
    parcels: Mapped[list[Parcel]] = relationship(
        back_populates="shipment", order_by="Parcel.id", cascade="all, delete-orphan")
    history: Mapped[list[ShipmentStatusChange]] = relationship(
        order_by="ShipmentStatusChange.id", cascade="all, delete-orphan")


class ShipmentStatusChange(Base):
    __tablename__ = "shipment_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"),
                                             index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = _now()
    actor: Mapped[str] = mapped_column(sa.String(200), default="")


class Parcel(Base):
    __tablename__ = "parcels"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "parcel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"))
    parcel_id: Mapped[str] = mapped_column(sa.String(20))  # "1", "2", ...
    package_type: Mapped[str] = mapped_column(sa.String(10), default="PC")
    service_code: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    weight: Mapped[Decimal | None] = mapped_column(default=None)  # kg
    ready: Mapped[bool] = mapped_column(default=False)
    tracking_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    tracking_source: Mapped[str | None] = mapped_column(sa.String(10), default=None)  # glue|own

    shipment: Mapped[Shipment] = relationship(back_populates="parcels")
    rows: Mapped[list[ParcelRow]] = relationship(cascade="all, delete-orphan",
                                                 order_by="ParcelRow.id")


class ParcelRow(Base):
    __tablename__ = "parcel_rows"
    __table_args__ = (sa.UniqueConstraint("parcel_id", "order_row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(sa.ForeignKey("parcels.id", ondelete="CASCADE"))
    order_row_id: Mapped[int] = mapped_column(sa.ForeignKey("order_rows.id", ondelete="CASCADE"),
                                              index=True)
    delivered_quantity: Mapped[int] = mapped_column(default=0)

    order_row: Mapped[OrderRow] = relationship()


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (sa.UniqueConstraint("order_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    author: Mapped[str] = mapped_column(sa.String(200), default="")
    author_organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id"), default=None)
    value: Mapped[str] = mapped_column(sa.Text)
    type: Mapped[str] = mapped_column(sa.String(20), default="pickingNote")
    origin: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    created_date: Mapped[datetime] = _now()

    order: Mapped[Order] = relationship(back_populates="comments")


# --- shop connections (filled in by the connector issues) ----------------------------------

class ShopConnection(Base):
    __tablename__ = "shop_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)  # public id used in URLs
    retailer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id"), index=True, default=None)
    platform: Mapped[str] = mapped_column(sa.String(20))  # shopify | woocommerce | magento
    # myshopify domain, site URL or base URL; the Shopify receiver looks connections up by it
    shop: Mapped[str] = mapped_column(sa.String(300), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="installing")
    credentials: Mapped[str | None] = mapped_column(sa.Text, default=None)  # encrypted JSON
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


# --- the event log / outbox ----------------------------------------------------------------

class Event(Base):
    """Append-only: every state change writes its event in the same transaction.

    ``organization_ids`` names who may see the event (the visibility rule); the event spine
    delivers from this table, marking progress in its own tables, never by editing rows here.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(60), index=True)  # e.g. "shipment.created"
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    organization_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(sa.String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
