"""What every service's HTTP API shares: RFC 9457 problem responses, correlation
ids, health endpoints, metrics and the Idempotency-Key mechanism."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from datetime import time as clock
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import Histogram, make_asgi_app
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .aggregate import DomainError
from .contracts.envelope import encode, to_cloudevent
from .contracts.types import WIB
from .eventstore import ConcurrencyError, EventStore, IdempotentReplay
from .logging import bind_contextvars, clear_contextvars, get_logger

PROBLEM = "application/problem+json"
# A global position in a query: bounded so the database never sees a bigger one.
Position = Annotated[int, Query(ge=0, le=2**63 - 1)]
MAX_BODY = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CORRELATION = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
log = get_logger("api")

LATENCY = Histogram("simalik_http_request_seconds", "HTTP request latency (commands and reads)",
                    ["service", "method", "route", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the APIs is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


# For routers: documents the problem+json answers in the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("The body could not be parsed"),
    404: _problem_response("No such resource"),
    409: _problem_response("Stale expected_version, or the command does not fit the state"),
    413: _problem_response("Body larger than 1 MiB"),
    422: _problem_response("Invalid input; `errors` names each field and the reason"),
    503: _problem_response("A dependency (the database) is unavailable"),
}


def problem(status: int, title: str, detail: str, kind: str,
            errors: list[dict[str, str]] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://simalik.kedirikota.go.id/problems/{kind}",
                            "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _error(e: dict[str, Any]) -> dict[str, str]:
    if e.get("type") == "json_invalid":
        # The location of a JSON syntax error is a character offset, not a field.
        where = e.get("loc", ())[-1]
        reason = (e.get("ctx") or {}).get("error", "not valid JSON")
        return {"field": "body", "message": f"not valid JSON at character {where}: {reason}"}
    return {"field": _field(tuple(e.get("loc", ()))), "message": _clean(e["msg"])}


def install(app: FastAPI, service: str) -> None:
    """Error handlers, correlation middleware, /healthz, /readyz and /metrics."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, "validation", errors)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
        kind = {404: "not-found", 409: "conflict"}.get(exc.status, "rule")
        title = {404: "Not found", 409: "Conflict"}.get(exc.status, "Rule violated")
        detail = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return problem(exc.status, title, detail, kind, errors)

    @app.exception_handler(ConcurrencyError)
    async def _conflict(_request: Request, exc: ConcurrencyError) -> JSONResponse:
        return problem(409, "Conflict", f"expected_version: {exc}", "conflict",
                       [{"field": "expected_version", "message": str(exc)}])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        errors = None
        if exc.status_code == 400:  # a body FastAPI could not parse at all
            errors = [{"field": "body", "message": str(exc.detail)}]
        return problem(exc.status_code, str(exc.detail), str(exc.detail), "http", errors)

    @app.exception_handler(asyncpg.exceptions.TooManyConnectionsError)
    @app.exception_handler(asyncpg.exceptions.ConnectionDoesNotExistError)
    @app.exception_handler(asyncpg.exceptions.CannotConnectNowError)
    @app.exception_handler(OSError)
    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.error("dependency unavailable", error=repr(exc))
        return problem(503, "Service unavailable", "the database is not reachable; retry later",
                       "unavailable")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error=repr(exc))
        return problem(500, "Internal error", "an unexpected error was logged", "internal")

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]):
        # Checked before routing: a body too large to parse, and query values the
        # database cannot take (a NUL byte) or that are control characters.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return problem(413, "Request too large",
                           f"body: at most {MAX_BODY // 1024} KiB", "too-large",
                           [{"field": "body", "message": f"at most {MAX_BODY // 1024} KiB"}])
        for name, value in request.query_params.multi_items():
            if _CONTROL.search(value) or _CONTROL.search(name):
                return problem(422, "Invalid request", f"{name}: must not contain control "
                               "characters", "validation",
                               [{"field": name, "message": "must not contain control characters"}])
        return await call_next(request)

    @app.middleware("http")
    async def _correlate(request: Request, call_next: Callable[[Request], Awaitable[Any]]):
        clear_contextvars()
        # A caller's id is kept only if it is short and plain: it travels into
        # every event and into AMQP properties (at most 255 bytes).
        given = request.headers.get("x-correlation-id", "")
        correlation_id = given if _CORRELATION.fullmatch(given) else str(uuid.uuid4())
        request_id = str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        request.state.request_id = request_id
        bind_contextvars(service=service, correlation_id=correlation_id, request_id=request_id)
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        LATENCY.labels(service, request.method, route, response.status_code).observe(
            time.perf_counter() - started)
        response.headers["x-correlation-id"] = correlation_id
        if request.method != "GET" or response.status_code >= 400:
            log.info("request", method=request.method, path=request.url.path,
                     status=response.status_code)
        return response

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        try:
            await request.app.state.pool.fetchval("SELECT 1")
        except Exception as exc:  # noqa: BLE001 — readiness reports, never raises
            return problem(503, "Not ready", f"database: {exc!r}", "unavailable")
        return JSONResponse({"status": "ready"})

    app.mount("/metrics", make_asgi_app())


def day_bound(value: date | datetime | None, end: bool) -> datetime | None:
    """A query bound: a bare date means the whole day in WIB (its first or last
    instant); a datetime without an offset is WIB."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=WIB)
    return datetime.combine(value, clock.max if end else clock.min, tzinfo=WIB)


async def request_hash(request: Request) -> str:
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True, ensure_ascii=False)
    except ValueError:
        canonical = raw.decode("utf-8", "replace")
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


async def idempotent(request: Request, store: EventStore, key: str | None, actor: str,
                     run: Callable[[str | None, str | None],
                                   Awaitable[tuple[int, dict[str, Any]]]]) -> JSONResponse:
    """Runs a command once per Idempotency-Key: a retry gets the first response and
    appends nothing; the same key with another body gets 422. Keys belong to the
    actor, so one caller can never be answered with another's stored response.
    `run(scoped_key, request_hash)` executes the command."""
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        message = "must be 1–200 printable characters"
        return problem(422, "Invalid request", f"Idempotency-Key: {message}", "validation",
                       [{"field": "Idempotency-Key", "message": message}])
    digest = await request_hash(request) if key else None
    scoped = f"{actor}\x1f{key}" if key else None

    async def replay() -> JSONResponse | None:
        stored = await store.idempotent_response(scoped)
        if stored is None:
            return None
        stored_hash, status, body = stored
        if stored_hash != digest:
            return problem(422, "Idempotency-Key reused",
                           "Idempotency-Key: this key was used with a different request body",
                           "idempotency-key-reused",
                           [{"field": "Idempotency-Key",
                             "message": "already used with a different request body"}])
        return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})

    if key:
        earlier = await replay()
        if earlier is not None:
            return earlier
    try:
        status, body = await run(scoped, digest)
    except IdempotentReplay:
        earlier = await replay()
        assert earlier is not None
        return earlier
    except (ConcurrencyError, DomainError):
        # A retry racing its own first attempt sees the state that attempt made
        # (a stale version, a cancelled activity); once the first has committed,
        # the retry's answer is the first response.
        if key and (earlier := await replay()) is not None:
            return earlier
        raise
    return JSONResponse(body, status_code=status)


async def history_page(store: EventStore, service: str, after: int, limit: int) -> Response:
    """One page of the history feed (DESIGN §6): the stored events after `after`,
    in position order, as the relay publishes them. Encoded here rather than by
    FastAPI's generic encoder, which took most of the time of a rebuild's page."""
    events = await store.read_after_raw(after, limit)
    epoch = await store.epoch()
    # Each event's data is spliced in as stored (RawJSON): nothing decoded and
    # encoded again on the way out.
    body = b",".join(encode(to_cloudevent(e, service, epoch)) for e in events)
    next_after = events[-1].position if events else after
    return Response(b'{"epoch":"%s","events":[%s],"next_after":%d}'
                    % (str(epoch).encode(), body, next_after), media_type="application/json")
