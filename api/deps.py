"""Annotated dependencies: the service and the caller's role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.auth import API_KEY_HEADER, KeyRing, Principal, Role
from api.problems import ProblemError, unauthorized
from matching.service import ChainmatchService

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="API key; role portal, analyst or admin (CHAINMATCH_API_KEYS).",
)


async def get_service(request: Request) -> ChainmatchService:
    service: ChainmatchService = request.app.state.service
    return service


def require(role: Role) -> Callable[[Request, str | None], Coroutine[Any, Any, Principal]]:
    """A dependency admitting keys whose role is at least ``role``."""

    async def check(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
        keyring: KeyRing = request.app.state.keyring
        principal = keyring.authenticate(key)
        if principal is None:
            raise unauthorized(key)
        request.state.key_id = principal.key_id
        if principal.role < role:
            raise ProblemError(
                403,
                f"role {principal.role.name} may not do this; requires {role.name}",
                slug="forbidden",
                title="Forbidden",
            )
        return principal

    return check


ServiceDep = Annotated[ChainmatchService, Depends(get_service)]
PortalKey = Annotated[Principal, Depends(require(Role.portal))]
AnalystKey = Annotated[Principal, Depends(require(Role.analyst))]
AdminKey = Annotated[Principal, Depends(require(Role.admin))]
