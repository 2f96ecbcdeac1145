"""The append-only event log, written in the same transaction as the change it records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from core.models import Event
from core.principal import Principal


def record(session: Session, actor: Principal, type: str, subject_type: str,
           subject_id: str | int, organization_ids: Iterable[int | None],
           **data: Any) -> Event:
    """Add an event to the session; it commits (or rolls back) with the change itself."""
    event = Event(type=type, subject_type=subject_type, subject_id=str(subject_id),
                  organization_ids=sorted({o for o in organization_ids if o is not None}),
                  actor=actor.label, data=data)
    session.add(event)
    return event
