"""Server-side login sessions, unit by unit."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from tests.ui.conftest import organization, person
from web.ui import logins
from web.ui.models import UiSession


def test_a_session_is_live_until_it_ends(session):
    user = person(session, organization(session, "Oy"), "admin")
    sid = logins.start_session(session, user.user_id)
    assert logins.resolve_session(session, sid) == user.user_id
    logins.end_session(session, sid)
    assert logins.resolve_session(session, sid) is None
    assert logins.resolve_session(session, "made-up") is None


def test_only_the_digest_of_the_session_id_is_stored(session):
    user = person(session, organization(session, "Oy"), "admin")
    sid = logins.start_session(session, user.user_id)
    stored = session.scalar(sa.select(UiSession.sid_digest))
    assert sid not in stored and len(stored) == 64


def test_idle_clock_is_touched_at_most_once_a_minute(session):
    user = person(session, organization(session, "Oy"), "admin")
    start = utcnow()
    sid = logins.start_session(session, user.user_id, now=start)
    logins.resolve_session(session, sid, now=start + timedelta(seconds=30))
    row = session.scalar(sa.select(UiSession))
    assert row.last_seen_at == start
    later = start + logins.TOUCH_INTERVAL + timedelta(seconds=1)
    logins.resolve_session(session, sid, now=later)
    assert row.last_seen_at == later
    # active use keeps it alive past the idle timeout counted from the start
    assert logins.resolve_session(session, sid, now=later + logins.IDLE_TIMEOUT
                                  - timedelta(seconds=1)) == user.user_id


def test_a_new_login_drops_the_users_finished_ones(session):
    user = person(session, organization(session, "Oy"), "admin")
    old = logins.start_session(session, user.user_id)
    logins.end_session(session, old)
    logins.start_session(session, user.user_id)
    assert session.scalar(sa.select(sa.func.count()).select_from(UiSession)) == 1


def test_static_files_need_no_login_and_carry_the_security_headers(client):
    response = client.get("/ui/static/glue.css")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
