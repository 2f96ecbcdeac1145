"""The extension endpoints: subscriptions, their deliveries, and dead letters, each seen only
by its own organization through a real bearer token."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from core import events
from core.api_accounts import create_api_account
from core.db import Database
from core.principal import SYSTEM
from tests.webhooks.conftest import WOO_SECRET, FakeClock, make_connection, new_org, recorded
from webhooks import inbox, outbox
from webhooks.handlers import InboxContext
from webhooks.spine import Spine


def token_for(db: Database, client: FlaskClient, organization_id: int) -> dict[str, str]:
    with db.transaction() as session:
        account, secret = create_api_account(session, SYSTEM, organization_id=organization_id,
                                             name="ERP")
        name = account.account
    basic = base64.b64encode(f"{name}:{secret}".encode()).decode()
    answer = client.post("/auth/token", headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


@pytest.fixture
def orgs(db: Database) -> tuple[int, int]:
    with db.transaction() as session:
        return new_org(session, supplier=True).id, new_org(session).id


def create(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    body = {"url": "http://127.0.0.1:9/hook", "eventTypes": ["shipment.created"]} | body
    return client.post("/ecommerce/v3/webhooks", json=body, headers=headers)


def test_every_endpoint_needs_a_bearer_token(client: FlaskClient) -> None:
    answers = [client.get("/ecommerce/v3/webhooks"), client.post("/ecommerce/v3/webhooks"),
               client.get("/ecommerce/v3/webhooks/1/deliveries"),
               client.get("/ecommerce/v3/dead-letters"),
               client.post("/ecommerce/v3/dead-letters/1/replay")]

    assert [a.status_code for a in answers] == [401] * 5


def test_a_subscription_is_created_with_a_secret_shown_once(
        db: Database, client: FlaskClient, orgs: tuple[int, int]) -> None:
    headers = token_for(db, client, orgs[0])

    created = create(client, headers)
    listed = client.get("/ecommerce/v3/webhooks", headers=headers)
    one = client.get(f"/ecommerce/v3/webhooks/{created.get_json()['id']}", headers=headers)

    assert created.status_code == 201
    assert created.get_json()["secret"].startswith("whsec_")
    assert [s["url"] for s in listed.get_json()["content"]] == ["http://127.0.0.1:9/hook"]
    assert "secret" not in listed.get_json()["content"][0] and "secret" not in one.get_json()


def test_invalid_subscriptions_are_refused_with_every_problem(
        db: Database, client: FlaskClient, orgs: tuple[int, int], spine: Spine) -> None:
    headers = token_for(db, client, orgs[0])
    spine.settings.webhook_allow_private_targets = False

    answer = create(client, headers, url="ftp://x", eventTypes=["Not A Type", "order.updated"])
    private = create(client, headers, url="http://127.0.0.1:9/hook")

    assert answer.status_code == 422
    fields = {e["field"] for e in answer.get_json()["errors"]}
    assert fields == {"url", "eventTypes[0]"}
    assert private.status_code == 422


def test_another_organizations_subscription_is_not_found(
        db: Database, client: FlaskClient, orgs: tuple[int, int]) -> None:
    mine, theirs = token_for(db, client, orgs[0]), token_for(db, client, orgs[1])
    subscription_id = create(client, mine).get_json()["id"]

    answers = [client.get(f"/ecommerce/v3/webhooks/{subscription_id}", headers=theirs),
               client.delete(f"/ecommerce/v3/webhooks/{subscription_id}", headers=theirs),
               client.get(f"/ecommerce/v3/webhooks/{subscription_id}/deliveries",
                          headers=theirs)]
    listed = client.get("/ecommerce/v3/webhooks", headers=theirs).get_json()["content"]
    deleted = client.delete(f"/ecommerce/v3/webhooks/{subscription_id}", headers=mine)

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert listed == [] and deleted.status_code == 204


def test_deliveries_and_their_attempts_are_listed(
        db: Database, client: FlaskClient, orgs: tuple[int, int], spine: Spine) -> None:
    headers = token_for(db, client, orgs[0])
    subscription_id = create(client, headers).get_json()["id"]  # port 9: nothing listens
    with db.transaction() as session:
        events.record(session, SYSTEM, "shipment.created", "shipment", "S-1", [orgs[0]])
    outbox.fan_out(spine)
    [(_, delivery_id, _)] = [j for j in spine.enqueue.jobs if j[0] == "delivery"]
    outbox.deliver(spine, delivery_id)

    page = client.get(f"/ecommerce/v3/webhooks/{subscription_id}/deliveries",
                      headers=headers).get_json()

    assert page["page"]["totalElements"] == 1
    [delivery] = page["content"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    [attempt] = delivery["attemptLog"]
    assert attempt["statusCode"] is None and attempt["error"]


def test_dead_letters_are_listed_to_their_organization_and_replayed(
        db: Database, client: FlaskClient, spine: Spine, clock: FakeClock) -> None:
    def refuse(ctx: InboxContext) -> None:
        raise ValueError("cannot map")  # retriable by default; runs out of attempts

    spine.registry.inbox("woocommerce", "order.created")(refuse)
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                headers=sample.post_headers())
    delivery_id = spine.enqueue.jobs[0][1]
    for _ in range(spine.settings.inbox_max_attempts):
        inbox.process_delivery(spine, delivery_id)
        clock.advance(3600)
    owner = token_for(db, client, connection.retailer_id)
    with db.transaction() as session:
        stranger_id = new_org(session).id
    stranger = token_for(db, client, stranger_id)

    listed = client.get("/ecommerce/v3/dead-letters", headers=owner).get_json()
    hidden = client.get("/ecommerce/v3/dead-letters", headers=stranger).get_json()
    [letter] = listed["content"]
    refused = client.post(f"/ecommerce/v3/dead-letters/{letter['id']}/replay", headers=stranger)
    replayed = client.post(f"/ecommerce/v3/dead-letters/{letter['id']}/replay", headers=owner)

    assert letter["errorKind"] == "retriable" and "cannot map" in letter["error"]
    assert hidden["content"] == []
    assert refused.status_code == 404
    assert replayed.get_json() == {"replayed": [letter["id"]]}
    assert client.get("/ecommerce/v3/dead-letters", headers=owner).get_json()["content"] == []


def test_metrics_show_the_backlog_to_loopback_only(
        db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                headers=sample.post_headers())

    local = client.get("/metrics")
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"})

    assert local.status_code == 200 and "glue_inbox_backlog 1" in local.get_data(as_text=True)
    assert remote.status_code == 403
