"""Reference data: delivery services and pickup points."""

from __future__ import annotations


def test_services_for_a_workflow(world, api_for):
    api = api_for(world.retailer)
    services = api.get("/ecommerce/v3/services?workflow=DROPSHIPPING").get_json()
    assert isinstance(services, list) and services
    postal = next(s for s in services if s["id"] == "2103")
    assert postal["provider"] == "Posti" and "PICKUP_POINT" in postal["tags"]
    assert {"code", "description", "specifiers"} <= set(postal["additionalServices"][0])
    assert api.get("/ecommerce/v3/services?workflow=SOMETHING").status_code == 422


def test_pickup_points_nearest_first_and_filtered(world, api_for):
    api = api_for(world.retailer)
    points = api.get("/ecommerce/v3/pickup-points?postalCode=33200&size=2").get_json()
    assert [p["postOffice"] for p in points] == ["TAMPERE", "TAMPERE"]
    assert set(points[0]) >= {"externalId", "type", "serviceProvider", "name", "streetAddress",
                              "postalCode", "postOffice", "country", "latitude", "longitude"}
    stores = api.get("/ecommerce/v3/pickup-points?type=STORE&size=100").get_json()
    assert stores and all(p["type"] == "STORE" for p in stores)
    others = api.get("/ecommerce/v3/pickup-points?type=!STORE&size=100").get_json()
    assert others and all(p["type"] != "STORE" for p in others)
    found = api.get("/ecommerce/v3/pickup-points?search=kamppi").get_json()
    assert [p["externalId"] for p in found] == ["100102"]
    assert api.get("/ecommerce/v3/pickup-points?serviceCode=2104").get_json() == []
    assert api.get("/ecommerce/v3/pickup-points?size=0").status_code == 422


def test_reference_data_needs_a_token(client):
    assert client.get("/ecommerce/v3/services").status_code == 401
    assert client.get("/ecommerce/v3/pickup-points").status_code == 401
