"""The OpenAPI document is generated from the code, served, viewable, and honoured."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests import factories as f
from tests.api.conftest import commit
from web.api.openapi import api_rules, build_document

EXTENSIONS = {("/ecommerce/v3/catalogs", "post"), ("/ecommerce/v3/catalogs/{external_id}", "patch"),
              ("/ecommerce/v3/catalogs/{external_id}/activation-requests", "post"),
              ("/ecommerce/v3/activation-requests", "get"),
              ("/ecommerce/v3/activation-requests/{request_id}", "patch"),
              ("/ecommerce/v3/suppliers", "get")}


def _flask_to_openapi(rule: str) -> str:
    import re

    return re.sub(r"<(?:[^:<>]+:)?([^<>:]+)>", r"{\1}", rule)


def test_every_api_route_appears_in_the_served_document(app, client):
    served = client.get("/ecommerce/v3/openapi.json")
    assert served.status_code == 200
    document = served.get_json()
    assert document["openapi"] == "3.1.0"
    assert document == build_document(app)
    rules = api_rules(app)
    assert len(rules) > 25
    for rule in rules:
        path = _flask_to_openapi(rule.rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["responses"] and operation["summary"]


def test_extensions_are_marked_and_v3_operations_are_not(client):
    paths = client.get("/ecommerce/v3/openapi.json").get_json()["paths"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            if (path, method) in EXTENSIONS:
                assert operation.get("x-glue-extension") is True, (path, method)
    assert "x-glue-extension" not in paths["/ecommerce/v3/orders"]["post"]
    assert "x-glue-extension" not in paths["/ecommerce/v3/inventory"]["put"]


def test_a_view_without_an_operation_is_refused(app):
    app.add_url_rule("/ecommerce/v3/undocumented", "api.v3.undocumented", lambda: "")
    with pytest.raises(LookupError):
        build_document(app)


def test_the_viewer_is_served_from_installed_files(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/ecommerce/v3/openapi.json" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    script = client.get("/api/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000


def test_error_bodies_share_one_shape(client):
    for response in (client.get("/ecommerce/v3/nothing-here"),
                     client.delete("/ecommerce/v3/services"),
                     client.get("/ecommerce/v3/orders")):
        body = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert set(body) == {"type", "title", "status", "detail", "error", "message", "errors"}
        assert body["status"] == response.status_code
    assert client.delete("/ecommerce/v3/services").status_code == 405


def test_page_parameters_are_checked(world, api_for):
    api = api_for(world.retailer)
    assert api.get("/ecommerce/v3/orders?page=-1").status_code == 422
    assert api.get("/ecommerce/v3/orders?size=0").status_code == 422
    assert api.get("/ecommerce/v3/orders?size=2001").status_code == 422
    assert api.get("/ecommerce/v3/orders?size=abc").status_code == 422


def test_schemathesis_finds_no_server_error_and_no_schema_violation(db, app, world, api_for):
    """Bounded property-based run over every operation, as an organization with both roles
    that has access to the world's catalog (so the happy paths are reachable too)."""
    both = commit(db, lambda s: f.org(s, supplier=True, retailer=True))
    commit(db, lambda s: f.grant(s, world.catalog, both))
    token = api_for(both).token
    schema = schemathesis.openapi.from_wsgi("/ecommerce/v3/openapi.json", app)
    wanted = [checks.not_a_server_error, checks.response_schema_conformance,
              checks.status_code_conformance, checks.content_type_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
        def run(case):  # noqa: ANN001, ANN202
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=wanted)

        run()


def test_nul_characters_are_refused_before_they_reach_the_database(world, api_for, client):
    api = api_for(world.retailer)
    assert api.get("/ecommerce/v3/orders?refValue=a%00b").status_code == 422
    assert api.get("/ecommerce/v3/orders/A%00B").status_code == 422
    assert api.post("/ecommerce/v3/orders", json={"externalId": "x\u0000"}).status_code == 422
    from tests.api.conftest import basic

    assert client.get("/auth/token", headers=basic("a\u0000b", "secret")).status_code == 401


def _sample_path(rule: str) -> str:
    """A concrete URL for a Flask rule: 1 for int parameters, the first choice of any()."""
    import re

    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return "1"
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip(" )")
        return "x"

    return re.sub(r"<(?:([^:<>]+):)?[^<>:]+>", value, rule)


def test_every_operation_but_the_public_ones_needs_a_token(app, client):
    """Generated from the route table, so a new route cannot forget its check."""
    public = {"api.auth.token", "api.v3.openapi_json"}
    checked = 0
    for rule in api_rules(app):
        if rule.endpoint in public:
            continue
        path = _sample_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, json=[])
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            checked += 1
    assert checked > 25


def test_a_body_over_the_size_limit_is_413(db, world, api_for):
    from web.app import create_app

    token = api_for(world.supplier).token  # stateless: valid in any app with the same key
    small = create_app(database=db, MAX_CONTENT_LENGTH=1000).test_client()
    response = small.put("/ecommerce/v3/inventory", data="[" + "0," * 2000 + "0]",
                         content_type="application/json",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
