"""Who is acting: a user or an API account, on behalf of one organization."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import Forbidden

PERMISSIONS = ("admin", "supplier", "retailer")


@dataclass(frozen=True)
class Principal:
    """The acting party, passed to every service function.

    ``permissions`` are the membership's (for a user) or all the organization's roles (for an
    API account, which acts as the whole organization). ``system`` marks Glue's own jobs
    (worker, CLI administration), which bypass tenant checks.
    """

    organization_id: int | None
    permissions: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    api_account_id: int | None = None
    label: str = ""
    system: bool = False

    def can(self, permission: str) -> bool:
        return self.system or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"this action needs the {permission!r} permission")

    def require_org(self) -> int:
        if self.organization_id is None:
            raise Forbidden("this action needs an organization")
        return self.organization_id


SYSTEM = Principal(organization_id=None, system=True, label="system",
                   permissions=frozenset(PERMISSIONS))
