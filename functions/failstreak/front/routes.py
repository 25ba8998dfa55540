"""The front's routes: `handle` turns one Function URL event into its response (docs/http.md).

Every route authenticates its caller before it reads the body (or, for `GET /page`, the page); a route whose secret is
not configured answers 404.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from failstreak.errors import StoreUnavailable
from failstreak.front import github, gitlab, ingest, page
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response, error_response, request_from_event

log = logging.getLogger("failstreak.front")
KIB = 1024

Route = Callable[[Request, Front], Response]
ROUTES: Mapping[tuple[str, str], Route] = {
    ("POST", ingest.ROUTE): ingest.handle,
    ("POST", github.ROUTE): github.handle,
    ("POST", gitlab.ROUTE): gitlab.handle,
    ("GET", page.ROUTE): page.handle,
}
PATHS = frozenset(path for _, path in ROUTES)


def handle(event: Mapping[str, Any], front: Front) -> dict[str, Any]:
    """One Function URL event in, its response out. Nothing a caller sends is logged but the path and status."""
    path = str(event.get("rawPath") or "/")
    try:
        request = request_from_event(event, front.http.max_body_kib * KIB)
        route_path = request.path.rstrip("/") or "/"
        route = ROUTES.get((request.method, route_path))
        if route is None:
            raise HttpError(405 if route_path in PATHS else 404, "no such route")
        response = route(request, front)
    except HttpError as e:
        response = error_response(e)
    except StoreUnavailable as e:
        log.error("%s: %s", path[:100], str(e).splitlines()[0])
        response = error_response(HttpError(503, "the store is unavailable; retry later"))
    log.info("%s: %d", path[:100], response.status)
    return response.to_event()
