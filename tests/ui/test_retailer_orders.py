"""The retailer's orders: the list with status filter, reference search and keyset paging; the
detail with shipments, row statuses, delivered quantities and tracking links; cancelling and
comments; and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from core.models import Order
from core.order_input import parse_order
from core.orders import create_order
from core.shipments import confirm_shipment
from tests import factories
from tests.ui.conftest import log_in, organization, person
from tests.ui.conftest import post as _post


def post(client, path, data=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
    return _post(client, path, data, token_from="/", **kwargs)


def _world(session, orders: int = 1):  # noqa: ANN001, ANN202
    """A retailer with access to one supplier's catalog and ``orders`` orders (O1, O2, ...),
    each of one row of two units, referenced ``SHOP-<n>``."""
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "admin", "retailer", email="buyer@example.test")
    supplier = organization(session, "Tukku Oy", supplier=True)
    catalog = factories.public_catalog(session, supplier)
    factories.grant(session, catalog, shop)
    product = factories.product(session, supplier, "MUKI-1")
    factories.publish(session, product, catalog, quantity=1000, price="4.50")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, orders + 1):
        create_order(session, factories.acting(shop), parse_order({
            "externalId": f"O{n}", "orderDate": (start + timedelta(hours=n)).isoformat(),
            "references": [{"name": "shopOrder", "value": f"SHOP-{n}"}],
            "rows": [{"externalProductId": "MUKI-1", "quantity": 2}]}))
    session.commit()
    return {"buyer": buyer, "shop": shop, "supplier": supplier}


def test_orders_are_listed_newest_first_with_status_and_reference(client, session):
    w = _world(session, orders=2)
    log_in(client, w["buyer"])
    page = client.get("/retailer/orders").get_data(as_text=True)
    assert page.index(">O2<") < page.index(">O1<")
    assert "SHOP-1" in page and "Reititetty" in page


def test_reference_search_and_status_filter(client, session, db):
    w = _world(session, orders=3)
    with db.transaction() as s:
        s.scalar(sa.select(Order).where(Order.external_id == "O3")).status = "Cancelled"
    log_in(client, w["buyer"])
    found = client.get("/retailer/orders?q=SHOP-2").get_data(as_text=True)
    assert ">O2<" in found and ">O1<" not in found and ">O3<" not in found
    cancelled = client.get("/retailer/orders?status=Cancelled").get_data(as_text=True)
    assert ">O3<" in cancelled and ">O1<" not in cancelled
    assert ">O1<" in client.get("/retailer/orders?status=nonsense").get_data(as_text=True)
    # a value no reference has, but an order's own id, opens that order
    response = client.get("/retailer/orders?q=O2")
    assert response.status_code == 302 and response.location.endswith("/retailer/orders/O2")
    assert "Ei hakua vastaavia tilauksia." in client.get(
        "/retailer/orders?q=NOPE").get_data(as_text=True)


def test_orders_are_keyset_paged(client, session):
    w = _world(session, orders=52)
    log_in(client, w["buyer"])
    first = client.get("/retailer/orders").get_data(as_text=True)
    assert ">O52<" in first and ">O3<" in first and ">O2<" not in first
    next_link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert ">O2<" in second and ">O1<" in second and ">O3<" not in second
    assert 'rel="next"' not in second


def test_detail_shows_shipment_delivered_quantities_and_tracking_links(client, session):
    w = _world(session)
    order = session.scalar(sa.select(Order).where(Order.external_id == "O1"))
    shipment = order.shipments[0]
    confirm_shipment(session, factories.acting(w["supplier"]), shipment.shipment_id, [
        {"parcelId": "1", "trackingCodes": ["JJFI123"],
         "rows": [{"itemId": "MUKI-1", "deliveredQuantity": 1}]}])
    session.commit()
    log_in(client, w["buyer"])
    page = client.get("/retailer/orders/O1").get_data(as_text=True)
    assert "Tukku Oy" in page and shipment.shipment_id in page
    assert 'href="https://www.posti.fi/fi/seuranta#/lahetys/JJFI123"' in page
    assert "toimitettu 1" in page and "Toimitettu" in page
    assert "Peru tilaus" not in page  # nothing left to cancel


def test_cancelling_an_order_while_allowed(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    page = client.get("/retailer/orders/O1").get_data(as_text=True)
    assert "Peru tilaus" in page
    response = post(client, "/retailer/orders/O1/cancel", follow_redirects=True)
    assert "Tilaus peruttiin." in response.get_data(as_text=True)
    with db.transaction() as s:
        assert s.scalar(sa.select(Order.status).where(Order.external_id == "O1")) == "Cancelled"
    again = post(client, "/retailer/orders/O1/cancel", follow_redirects=True)
    assert again.status_code == 200


def test_comments_are_added_and_shown(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, "/retailer/orders/O1/comments",
                    {"value": "Lahjapaketti, kiitos", "type": "passThrough"},
                    follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Kommentti lisättiin." in page and "Lahjapaketti, kiitos" in page
    empty = post(client, "/retailer/orders/O1/comments", {"value": " "}, follow_redirects=True)
    assert "Kirjoita ensin kommentti." in empty.get_data(as_text=True)


def test_another_retailers_order_is_not_found(client, session):
    _world(session)
    other = organization(session, "Toinen Kauppa Oy", retailer=True)
    stranger = person(session, other, "admin", "retailer", email="other@example.test")
    log_in(client, stranger)
    assert client.get("/retailer/orders/O1").status_code == 404
    assert post(client, "/retailer/orders/O1/cancel").status_code == 404
    assert post(client, "/retailer/orders/O1/comments", {"value": "x"}).status_code == 404
    assert ">O1<" not in client.get("/retailer/orders").get_data(as_text=True)


def test_a_supplier_gets_403_and_a_missing_token_400(app, client, session, admin):
    w = _world(session)
    log_in(client, admin)
    assert client.get("/retailer/orders/O1").status_code == 403
    assert post(client, "/retailer/orders/O1/cancel").status_code == 403
    client = app.test_client()
    log_in(client, w["buyer"])
    assert client.post("/retailer/orders/O1/cancel").status_code == 400
    assert client.post("/retailer/orders/O1/comments", data={"value": "x"}).status_code == 400
