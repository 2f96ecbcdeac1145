"""A supplier's tracking-code settings and the serial ranges its S10 codes come from.

Never the same code twice:

- ``allocate_serials`` takes ``n`` serials with one conditional ``UPDATE ... SET next_serial =
  next_serial + n WHERE next_serial + n <= range_end + 1 RETURNING next_serial`` in the caller's
  transaction. The row lock that UPDATE takes (PostgreSQL) or the write lock of ``BEGIN
  IMMEDIATE`` (SQLite) serialises concurrent confirms in any number of processes, and a
  transaction that rolls back gives its serials back with it, so nothing is lost or repeated.
- ``configure_tracking`` refuses a range that overlaps another supplier's live range (same
  service indicator and country) or any serial already issued from any range, retired or not.
  On PostgreSQL the check runs under a transaction-scoped advisory lock so two suppliers cannot
  claim overlapping ranges at the same moment; SQLite's write lock already serialises it.
- A supplier that never configured a range gets one on its first code: the next free block of
  ``DEFAULT_BLOCK`` serials of ``JJ``/``FI`` above every existing range, claimed under the same
  lock, so confirming works out of the box and a configured range can still be set later.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import s10
from core.db import utcnow
from core.document_settings import TRACKING_MODES, TrackingRange, TrackingSettings
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import Organization
from core.principal import Principal

DEFAULT_SERVICE_INDICATOR = "JJ"
DEFAULT_COUNTRY = "FI"
_CONFIGURE_LOCK_KEY = 0x5310_0001  # pg_advisory_xact_lock key for range configuration
DEFAULT_BLOCK = 100_000


class TrackingNotConfigured(Conflict):
    """A code is needed, the supplier has no serial range and no default block is free."""

    code = "tracking_not_configured"


class TrackingRangeExhausted(Conflict):
    """The supplier's live range has fewer serials left than were asked for."""

    code = "tracking_range_exhausted"


@dataclass(frozen=True)
class TrackingConfiguration:
    """A supplier's tracking settings as the API shows them."""

    mode: str
    carrier: str
    service_indicator: str | None
    country: str | None
    range_start: int | None
    range_end: int | None
    next_serial: int | None

    @property
    def remaining(self) -> int:
        if self.range_end is None or self.next_serial is None:
            return 0
        return self.range_end + 1 - self.next_serial


def tracking_settings(session: Session, supplier_id: int) -> TrackingSettings | None:
    return session.get(TrackingSettings, supplier_id)


def live_range(session: Session, supplier_id: int) -> TrackingRange | None:
    return session.scalars(sa.select(TrackingRange).where(
        TrackingRange.supplier_id == supplier_id, TrackingRange.retired_at.is_(None))).first()


def tracking_configuration(session: Session, supplier_id: int) -> TrackingConfiguration:
    """The supplier's settings; a supplier that set nothing is in ``glue`` mode with no range."""
    settings = tracking_settings(session, supplier_id)
    rng = live_range(session, supplier_id)
    return TrackingConfiguration(
        mode=settings.mode if settings else "glue",
        carrier=settings.carrier if settings else "s10",
        service_indicator=rng.service_indicator if rng else None,
        country=rng.country if rng else None,
        range_start=rng.range_start if rng else None,
        range_end=rng.range_end if rng else None,
        next_serial=rng.next_serial if rng else None)


def own_tracking_configuration(session: Session, actor: Principal) -> TrackingConfiguration:
    """The acting supplier's tracking settings (``supplier`` or ``admin`` permission)."""
    return tracking_configuration(session, _require_supplier(session, actor, None))


def configure_tracking(session: Session, actor: Principal, *, mode: str | None = None,
                       carrier: str | None = None, service_indicator: str | None = None,
                       country: str | None = None, range_start: int | None = None,
                       range_end: int | None = None,
                       supplier_id: int | None = None) -> TrackingConfiguration:
    """Set the acting supplier's tracking mode and carrier and, when ``range_start`` and
    ``range_end`` are given, replace its serial range (the old one is retired; its issued serials
    stay taken). Giving the live range again with a larger end extends it in place.

    ``supplier_id`` is for SYSTEM only (CLI administration). Raises ``ValidationFailed`` for bad
    values and ``Conflict`` for a range that overlaps serials that are not the supplier's to use.
    """
    from core.carriers import carrier_names  # the carriers module imports this one

    supplier_id = _require_supplier(session, actor, supplier_id)
    errors: list[dict[str, str]] = []
    if mode is not None and mode not in TRACKING_MODES:
        errors.append({"field": "mode", "message": f"mode is one of {', '.join(TRACKING_MODES)}"})
    if carrier is not None and carrier not in carrier_names():
        errors.append({"field": "carrier", "message": f"unknown carrier backend {carrier!r}"})
    indicator = service_indicator or DEFAULT_SERVICE_INDICATOR
    country = country or DEFAULT_COUNTRY
    if not s10.is_service_indicator(indicator):
        errors.append({"field": "serviceIndicator", "message": "two capital letters, e.g. JJ"})
    if not s10.is_service_indicator(country):
        errors.append({"field": "country", "message": "two capital letters, e.g. FI"})
    if (range_start is None) != (range_end is None):
        errors.append({"field": "rangeEnd", "message": "give both rangeStart and rangeEnd"})
    elif range_start is not None and not (
            isinstance(range_start, int) and isinstance(range_end, int)
            and 0 <= range_start <= range_end <= s10.MAX_SERIAL):
        errors.append({"field": "rangeStart",
                       "message": f"a range is 0 <= rangeStart <= rangeEnd <= {s10.MAX_SERIAL}"})
    if errors:
        raise ValidationFailed("invalid tracking settings", errors)

    settings = session.get(TrackingSettings, supplier_id)
    if settings is None:
        settings = TrackingSettings(supplier_id=supplier_id, mode="glue", carrier="s10")
        session.add(settings)
    if mode is not None:
        settings.mode = mode
    if carrier is not None:
        settings.carrier = carrier
    settings.updated_at = utcnow()
    if range_start is not None and range_end is not None:
        _replace_range(session, supplier_id, indicator, country, range_start, range_end)
    session.flush()
    return tracking_configuration(session, supplier_id)


def _lock_configuration(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _CONFIGURE_LOCK_KEY})


def _replace_range(session: Session, supplier_id: int, indicator: str, country: str,
                   start: int, end: int) -> None:
    _lock_configuration(session)
    current = live_range(session, supplier_id)
    if current is not None:
        # Lock the live row so no allocation slips in between the check and the change.
        session.execute(sa.select(TrackingRange.id).where(TrackingRange.id == current.id)
                        .with_for_update())
        session.refresh(current)
    if (current is not None and current.service_indicator == indicator
            and current.country == country and current.range_start == start
            and end >= current.next_serial - 1):
        _check_overlap(session, supplier_id, indicator, country, start, end, exclude=current.id)
        current.range_end = end  # extend or shrink the unissued tail in place
        return
    _check_overlap(session, supplier_id, indicator, country, start, end, exclude=None)
    if current is not None:
        current.retired_at = utcnow()
        session.flush()
    session.add(TrackingRange(supplier_id=supplier_id, service_indicator=indicator,
                              country=country, range_start=start, range_end=end,
                              next_serial=start))


def _check_overlap(session: Session, supplier_id: int, indicator: str, country: str,
                   start: int, end: int, exclude: int | None) -> None:
    """Refuse serials issued from any range, and any part of another supplier's live range."""
    same_space = sa.and_(TrackingRange.service_indicator == indicator,
                         TrackingRange.country == country)
    issued = sa.and_(TrackingRange.range_start <= end, TrackingRange.next_serial - 1 >= start)
    others_live = sa.and_(TrackingRange.supplier_id != supplier_id,
                          TrackingRange.retired_at.is_(None),
                          TrackingRange.range_start <= end, TrackingRange.range_end >= start)
    query = sa.select(TrackingRange).where(same_space, sa.or_(issued, others_live))
    if exclude is not None:
        query = query.where(TrackingRange.id != exclude)
    clash = session.scalars(query.limit(1)).first()
    if clash is not None:
        raise Conflict(f"serials {start}..{end} of {indicator}/{country} overlap serials that are "
                       "already issued or belong to another supplier; choose another range",
                       field="rangeStart")


def allocate_serials(session: Session, supplier_id: int,
                     count: int) -> tuple[str, str, list[int]]:
    """Take ``count`` consecutive serials from the supplier's live range, atomically, in the
    caller's transaction; returns (service indicator, country, serials).

    A supplier that never had a range first gets the next free default block. Raises
    ``TrackingRangeExhausted`` when fewer than ``count`` serials are left (nothing is taken
    then), and ``TrackingNotConfigured`` when no range exists and no default block is free."""
    if count < 1:
        return DEFAULT_SERVICE_INDICATOR, DEFAULT_COUNTRY, []
    row = _take(session, supplier_id, count)
    if row is None and _claim_default_range(session, supplier_id):
        row = _take(session, supplier_id, count)
    if row is None:
        rng = live_range(session, supplier_id)
        if rng is None:
            raise TrackingNotConfigured(
                "this supplier has no tracking-code range and no free default block is left: "
                "configure one, or send the tracking codes of its own system with the parcels",
                supplier_id=supplier_id)
        raise TrackingRangeExhausted(
            f"the tracking-code range {rng.service_indicator} {rng.range_start}..{rng.range_end} "
            f"has {rng.range_end + 1 - rng.next_serial} codes left, {count} needed: configure "
            "a new range", supplier_id=supplier_id)
    next_serial, indicator, country = row
    # The ORM may hold a stale copy of the row; the UPDATE bypassed it.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, TrackingRange) and obj.supplier_id == supplier_id:
            session.expire(obj)
    return indicator, country, list(range(next_serial - count, next_serial))


def _take(session: Session, supplier_id: int, count: int) -> sa.Row | None:
    table = TrackingRange.__table__
    return session.execute(
        table.update()
        .where(table.c.supplier_id == supplier_id, table.c.retired_at.is_(None),
               table.c.next_serial + count <= table.c.range_end + 1)
        .values(next_serial=table.c.next_serial + count)
        .returning(table.c.next_serial, table.c.service_indicator, table.c.country)
    ).first()


def _claim_default_range(session: Session, supplier_id: int) -> bool:
    """Give a supplier that never had a range the next free default block; False when it
    had one (exhausted) or the serial space is full."""
    _lock_configuration(session)
    has_range = session.scalar(sa.select(sa.func.count()).select_from(TrackingRange)
                               .where(TrackingRange.supplier_id == supplier_id))
    if has_range:
        # Either a range exists (exhausted), or a concurrent first confirm claimed one
        # while this transaction waited for the lock: let the caller try once more.
        return live_range(session, supplier_id) is not None
    top = session.scalar(sa.select(sa.func.max(TrackingRange.range_end)).where(
        TrackingRange.service_indicator == DEFAULT_SERVICE_INDICATOR,
        TrackingRange.country == DEFAULT_COUNTRY))
    start = ((top or 0) // DEFAULT_BLOCK + 1) * DEFAULT_BLOCK
    end = start + DEFAULT_BLOCK - 1
    if end > s10.MAX_SERIAL:
        return False
    session.add(TrackingRange(supplier_id=supplier_id, service_indicator=DEFAULT_SERVICE_INDICATOR,
                              country=DEFAULT_COUNTRY, range_start=start, range_end=end,
                              next_serial=start))
    session.flush()
    return True


def _require_supplier(session: Session, actor: Principal, supplier_id: int | None) -> int:
    if supplier_id is not None and not actor.system:
        raise Forbidden("only Glue itself may configure another organization")
    if supplier_id is None:
        supplier_id = actor.require_org()
        if not (actor.can("supplier") or actor.can("admin")):
            raise Forbidden("tracking settings need the 'supplier' or 'admin' permission")
    organization = session.get(Organization, supplier_id)
    if organization is None or not organization.is_supplier:
        raise Forbidden("only a supplier has tracking settings")
    return supplier_id
