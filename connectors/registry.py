"""Which shop platforms exist: the entry-point group ``glue.connectors``.

Glue's own connectors register through the same group as third-party packages (datasette's
rule: the core proves its extension point by using it). A package adds a platform with::

    [project.entry-points."glue.connectors"]
    myshop = "myshop_glue:MyShopConnector"
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from connectors.base import Connector

GROUP = "glue.connectors"


class UnknownPlatform(LookupError):
    """No installed connector serves this platform name."""


@lru_cache
def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class by platform name.

    An entry point whose name differs from its class's ``platform``, or which does not name a
    :class:`Connector` subclass, is a packaging mistake and fails loudly here.
    """
    found: dict[str, type[Connector]] = {}
    for entry in entry_points(group=GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(f"entry point {entry.name!r} in {GROUP} is not a Connector class")
        if cls.platform != entry.name:
            raise TypeError(f"entry point {entry.name!r} names platform {cls.platform!r}")
        found[entry.name] = cls
    return found


def connector_class(platform: str) -> type[Connector]:
    """The connector class for ``platform``; :class:`UnknownPlatform` when none is installed."""
    try:
        return connectors()[platform]
    except KeyError:
        raise UnknownPlatform(platform) from None
