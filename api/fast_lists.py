"""The hottest requests, ``GET /v1/enterprises/{id}/suppliers`` and ``…/buyers``, without FastAPI's per-request
dependency solving and parameter validation, which cost about as much as a whole query on the seed firms.

:class:`FastListRoute` sits before the FastAPI routes and takes only a request it can vouch for: a known key,
the id and every known parameter in its plain documented form, none repeated. Anything else (no key, ``k=0``,
``yes`` for ``true``…) falls through to the FastAPI route, which answers it as documented. Both call
:func:`api.routers.enterprises.ranked`; errors of the service reach the same problem handlers; the OpenAPI
document comes from the FastAPI routes alone.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import FastAPI
from starlette.datastructures import Headers, QueryParams, URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, request_response
from starlette.types import Receive, Scope, Send

from api.auth import API_KEY_HEADER, KeyRing, Role
from api.routers.enterprises import ranked
from api.schemas import WEIGHTS_PATTERN
from matching.profiles import ID_PATTERN

_ID = re.compile(ID_PATTERN)
_WEIGHTS = re.compile(WEIGHTS_PATTERN)
_K = re.compile(r"^[1-9][0-9]?$|^100$")  # KQuery: 1 to 100
_BOOLS = {"true": True, "false": False}
_SCOPE_KEY = "chainmatch.fast_list"

Kind = Literal["suppliers", "buyers"]


class FastListRoute(BaseRoute):
    """``GET /v1/enterprises/{enterprise_id}/{kind}`` for requests whose every input is plainly valid."""

    def __init__(self, kind: Kind, keyring: KeyRing) -> None:
        self.kind = kind
        self.path = f"/v1/enterprises/{{enterprise_id}}/{kind}"  # the FastAPI route's: one metrics label for both
        self.keyring = keyring
        self.item_param = "need_id" if kind == "suppliers" else "offer_id"
        self._prefix, self._suffix = "/v1/enterprises/", f"/{kind}"
        self.app = request_response(self._endpoint)  # Starlette's wrapper: errors reach the app's handlers
        self.served = 0  # requests this route took (tests and diagnostics read it)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or scope.get("root_path")
            or not path.startswith(self._prefix)
            or not path.endswith(self._suffix)
        ):
            return Match.NONE, {}
        enterprise_id = path[len(self._prefix) : -len(self._suffix)]
        args = self._arguments(scope) if _ID.match(enterprise_id) else None
        if args is None:
            return Match.NONE, {}
        return Match.FULL, {"route": self, "path_params": {"enterprise_id": enterprise_id}, _SCOPE_KEY: args}

    def _arguments(self, scope: Scope) -> tuple[str, str | None, int, str | None, bool | None, bool | None] | None:
        """``(key id, item id, k, weights, cross_region_only, in_circle_only)``, or ``None`` to fall through."""
        keys = Headers(scope=scope).getlist(API_KEY_HEADER)
        principal = self.keyring.authenticate(keys[0]) if len(keys) == 1 else None
        if principal is None or principal.role < Role.portal:
            return None
        query = QueryParams(scope.get("query_string", b""))
        values: dict[str, str] = {}
        for name in (self.item_param, "k", "weights", "cross_region_only", "in_circle_only"):
            given = query.getlist(name)
            if len(given) > 1:
                return None
            if given:
                values[name] = given[0]
        item, k, weights = values.get(self.item_param), values.get("k", "10"), values.get("weights")
        cross, circle = values.get("cross_region_only"), values.get("in_circle_only")
        if (
            (item is not None and not _ID.match(item))
            or not _K.match(k)
            or (weights is not None and not _WEIGHTS.match(weights))
            or (cross is not None and cross not in _BOOLS)
            or (circle is not None and circle not in _BOOLS)
        ):
            return None
        return (principal.key_id, item, int(k), weights, None if cross is None else _BOOLS[cross],
                None if circle is None else _BOOLS[circle])  # fmt: skip

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # unnamed: URLs name the FastAPI routes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.served += 1
        await self.app(scope, receive, send)

    async def _endpoint(self, request: Request) -> Response:
        key_id, item, k, weights, cross, circle = request.scope[_SCOPE_KEY]
        request.state.key_id = key_id  # the access log's caller, as the FastAPI route's key check sets it
        enterprise_id = request.path_params["enterprise_id"]
        return ranked(request, request.app.state.service, self.kind, enterprise_id, item, k, weights, cross, circle)


def install(app: FastAPI, keyring: KeyRing) -> list[FastListRoute]:
    """Put the fast routes before every other route of ``app``."""
    routes = [FastListRoute("suppliers", keyring), FastListRoute("buyers", keyring)]
    app.router.routes[:0] = routes
    return routes
