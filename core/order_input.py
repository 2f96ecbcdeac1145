"""The v3 order body (create, update, reopen) and comments, as parsed input (v3 B4).

Nulls are accepted for every unset optional field, as the clients of the hosted service send
them; unknown fields are ignored. :func:`parse_order` turns shape errors into one
``ValidationFailed`` whose ``index`` is the row number for errors inside ``rows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from pydantic import ValidationError as PydanticValidationError

from core.errors import ValidationFailed


class _In(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore",
                              coerce_numbers_to_str=True)


class PartyIn(_In):
    external_id: str | None = Field(default=None, alias="externalId")
    name: str | None = None
    street_address: str | None = Field(default=None, alias="streetAddress")
    postal_code: str | None = Field(default=None, alias="postalCode")
    post_office: str | None = Field(default=None, alias="postOffice")
    country: str | None = None
    telephone: str | None = None
    email: str | None = None


class ReferenceIn(_In):
    name: str | None = None
    value: str | None = None


class MetadataIn(_In):
    document_type: str | None = Field(default=None, alias="documentType")
    client: str | None = None


class StatusIn(_In):
    value: str | None = None


class PreferencesIn(_In):
    auto_submit: bool | None = Field(default=None, alias="autoSubmit")


class CommentIn(_In):
    external_id: str | None = Field(default=None, alias="externalId")
    author: str | None = None
    value: str | None = None
    type: str | None = None
    created_date: datetime | None = Field(default=None, alias="createdDate")
    origin: str | None = None


class RowIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    external_id: str | None = Field(default=None, alias="externalId")
    external_product_id: str | None = Field(default=None, alias="externalProductId")
    product_ean_code: str | None = Field(default=None, alias="productEANCode")
    product_unit_of_measure: str | None = Field(default=None, alias="productUnitOfMeasure")
    product_description: str | None = Field(default=None, alias="productDescription")
    external_warehouse_id: str | None = Field(default=None, alias="externalWarehouseId")
    quantity: int | None = None
    price: Decimal | None = None
    # Set by Glue's own importers (a shop connection knows the exact product it published);
    # never read from a request body.
    _product_id: int | None = PrivateAttr(default=None)

    def pinned(self, product_id: int) -> RowIn:
        """This row, bound to one Glue product: resolved by id, among the order's catalogs."""
        self._product_id = product_id
        return self

    @property
    def product_id(self) -> int | None:
        return self._product_id

    @field_validator("external_id", "external_product_id", "product_ean_code",
                     "external_warehouse_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        """Ids arrive as numbers from some shops; empty strings mean "not given"."""
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = value.strip() or None
        return value


class OrderIn(BaseModel):
    """The v3 order body (create, reopen, and partial update). Unknown fields are ignored and
    every optional field accepts ``null``; ``model_fields_set`` tells an update what was sent."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    external_id: str | None = Field(default=None, alias="externalId")
    order_date: datetime | None = Field(default=None, alias="orderDate")
    metadata: MetadataIn | None = None
    references: list[ReferenceIn] | None = None
    vendor: PartyIn | None = None
    sender: PartyIn | None = None
    client: PartyIn | None = None
    recipient: PartyIn | None = None
    delivery_address: PartyIn | None = Field(default=None, alias="deliveryAddress")
    currency: str | None = None
    service_code: str | None = Field(default=None, alias="serviceCode")
    routing_service_code: str | None = Field(default=None, alias="routingServiceCode")
    pickup_point_id: str | None = Field(default=None, alias="pickupPointId")
    delivery_operator: str | None = Field(default=None, alias="deliveryOperator")
    additional_services: list[dict[str, Any]] | None = Field(default=None,
                                                             alias="additionalServices")
    total_price: Decimal | None = Field(default=None, alias="totalPrice")
    total_tax: Decimal | None = Field(default=None, alias="totalTax")
    total_wholesale_price: Decimal | None = Field(default=None, alias="totalWholeSalePrice")
    rows: list[RowIn] | None = None
    status: StatusIn | None = None
    preferences: PreferencesIn | None = None
    comments: list[CommentIn] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        """Some clients send ``"status": "Cancelled"`` instead of ``{"value": ...}``."""
        return {"value": value} if isinstance(value, str) else value

    @field_validator("service_code", "routing_service_code", "pickup_point_id", "external_id",
                     mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value.strip() or None
        return value


def parse_order(body: Mapping[str, Any]) -> OrderIn:
    """Parse a JSON body into :class:`OrderIn`, turning shape errors into ``ValidationFailed``
    (``index`` is the row number for errors inside ``rows``)."""
    try:
        return OrderIn.model_validate(body)
    except PydanticValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            entry: dict[str, Any] = {"field": ".".join(loc), "message": err["msg"]}
            if len(loc) >= 2 and loc[0] == "rows" and loc[1].isdigit():
                entry.update(index=int(loc[1]), field=".".join(loc[2:]))
            errors.append(entry)
        raise ValidationFailed("the order is not valid", errors) from exc
