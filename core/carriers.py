"""Carrier backends: where tracking codes come from (DESIGN.md 6).

A backend is a subclass of ``CarrierBackend``, registered under its ``name`` either in code
(``register_carrier``) or through the entry-point group ``glue.carriers`` (the value names the
class; it is instantiated without arguments). Glue's built-in ``s10`` backend is registered both
ways, so the entry-point path is proven by the core itself. A supplier's ``TrackingSettings``
names the backend its codes come from.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib.metadata import entry_points

from sqlalchemy.orm import Session

from core import s10
from core.tracking_ranges import allocate_serials

ENTRY_POINT_GROUP = "glue.carriers"


@dataclass(frozen=True)
class CarrierService:
    """A delivery service as printed on a label: its code and its name."""

    code: str
    name: str


class CarrierBackend(ABC):
    """The contract of a carrier backend. Methods run inside a web request or a worker job."""

    #: the key suppliers' settings use; lowercase letters, digits and ``-``
    name: str = ""
    #: shown to people choosing a backend
    title: str = ""

    @abstractmethod
    def issue_codes(self, session: Session, supplier_id: int, count: int) -> list[str]:
        """Return ``count`` new tracking codes for the supplier's parcels.

        Called when a shipment is confirmed without codes, inside the caller's open transaction:
        codes must never repeat, also when that transaction runs concurrently with others in
        other processes, and a rollback may waste codes but must never let one be issued twice.
        Raise a ``core.errors.GlueError`` subclass with a message a supplier can act on when
        codes cannot be issued. Must not commit, and should not block on the network for long.
        """

    @abstractmethod
    def describe_service(self, service_code: str | None) -> CarrierService:
        """The service a parcel travels with, for the label; ``service_code`` may be None
        (the order named none) and unknown codes must still give a printable answer."""

    @abstractmethod
    def tracking_url(self, code: str) -> str:
        """A URL where the recipient follows the parcel with ``code``; pure, no I/O."""


# Posti's parcel services as they appear in orders' ``serviceCode``.
POSTI_SERVICES = {
    "2102": "Express-paketti",
    "2103": "Postipaketti",
    "2104": "Kotipaketti",
    "2461": "Pikkupaketti",
}
DEFAULT_SERVICE = CarrierService(code="2103", name="Postipaketti")


class S10Backend(CarrierBackend):
    """Glue's built-in backend: UPU S10 codes cut from the supplier's serial range."""

    name = "s10"
    title = "Glue S10 tracking codes"
    url_template = "https://www.posti.fi/fi/seuranta#/lahetys/{code}"

    def issue_codes(self, session: Session, supplier_id: int, count: int) -> list[str]:
        indicator, country, serials = allocate_serials(session, supplier_id, count)
        return [s10.format_code(indicator, serial, country) for serial in serials]

    def describe_service(self, service_code: str | None) -> CarrierService:
        if not service_code:
            return DEFAULT_SERVICE
        return CarrierService(code=service_code,
                              name=POSTI_SERVICES.get(service_code, "Paketti"))

    def tracking_url(self, code: str) -> str:
        return self.url_template.format(code=code)


_registry: dict[str, CarrierBackend] = {}
_loaded = False
_lock = threading.Lock()


def register_carrier(backend: CarrierBackend) -> None:
    """Make ``backend`` available under ``backend.name``; a later registration replaces it."""
    if not backend.name:
        raise ValueError("a carrier backend needs a name")
    _registry[backend.name] = backend


def _load_entry_points() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _registry:
                backend = ep.load()()
                _registry[backend.name or ep.name] = backend
        _loaded = True


def get_carrier(name: str) -> CarrierBackend:
    """The registered backend called ``name``; ``KeyError`` when there is none."""
    _load_entry_points()
    return _registry[name]


def carrier_names() -> list[str]:
    _load_entry_points()
    return sorted(_registry)


register_carrier(S10Backend())
