"""The studio's web app: Starlette routes over the catalog, runs, plans and health.

Why this stack: Starlette is a small, well-kept ASGI toolkit (the core of
FastAPI) with a test client; Jinja2 templates render every page on the
server with autoescaping; uvicorn serves it; watchfiles watches the query
folders. The pages need one small script of our own (``static/studio.js``:
forms sent with ``fetch``, a poll for reloads), shipped in the wheel: no CDN,
works offline.

Safety: the server binds 127.0.0.1 only; every request carries the session
token (printed at start, then kept in a ``SameSite=Strict`` cookie) or is
refused; the Host header must be the loopback address it listens on (no DNS
rebinding); every POST carries a CSRF token derived from the session token and,
when the browser sends one, an ``Origin`` of the studio itself. Raw SQL is
accepted only with ``--sql-console``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import hashlib
import hmac
import secrets
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from yeko_sql.ops.serverurl import role_url
from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.runtime.database import Database
from yeko_sql.studio import run as runs
from yeko_sql.studio.catalog import CatalogState, highlight
from yeko_sql.studio.health import SnapshotStore, charts, query_health
from yeko_sql.studio.snippets import Snippet, SnippetError, SnippetStore
from yeko_sql.verify.plans import combination_label, explain_query

__all__ = ["StudioConfig", "create_app"]

COOKIE = "yeko_studio"
OWNER = "owner"


@dataclass(slots=True)
class StudioConfig:
    """What the studio serves and how."""

    url: str  # the owner's URL of the database
    paths: list[Path]
    models: list[str] = field(default_factory=list)
    app_role: str | None = None
    tenant_column: str | None = None
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    allow_writes: bool = False
    sql_console: bool = False
    snippets_dir: Path = Path("studio-snippets")
    snapshots_file: Path = Path(".yeko/studio/health.jsonl")
    snapshot_every: float = 60.0
    watch: bool = True
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost")

    @property
    def dbname(self) -> str:
        """The database's name, from the URL."""
        return psycopg.conninfo.conninfo_to_dict(self.url).get("dbname") or ""  # type: ignore[return-value]

    @property
    def csrf(self) -> str:
        """The token every form sends back."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def plans_dir(self) -> Path | None:
        """``plans/`` of the first query folder, where guardrails keep shapes."""
        first = next((p for p in self.paths if p.is_dir()), None)
        return first / "plans" if first is not None else None


class Studio:
    """The state behind the pages: catalog, databases per role, snapshots."""

    def __init__(self, config: StudioConfig) -> None:
        self.config = config
        self.catalog = CatalogState(config.paths, config.models, config.url)
        self.snippets = SnippetStore(config.snippets_dir)
        self.snapshots = SnapshotStore(config.snapshots_file)
        self.policy = runs.WritePolicy(config.dbname, config.allow_writes)
        self._dbs: dict[tuple[int, str], Database] = {}
        self._lock = threading.Lock()
        self.env = Environment(
            loader=PackageLoader("yeko_sql.studio", "templates"),
            autoescape=select_autoescape(["html"]),
        )

    def role_of(self, query: Query[object]) -> str:
        """The role a query runs as: its ``-- role:``, else the app's, else owner."""
        return query.role or self.config.app_role or OWNER

    def database(self, role: str) -> Database:
        """An open ``Database`` for *role* over the current catalog's queries."""
        catalog = self.catalog.current
        key = (catalog.generation, role)
        with self._lock:
            db = self._dbs.get(key)
            if db is None:
                for old in [k for k in self._dbs if k[0] != catalog.generation]:
                    self._dbs.pop(old).close()
                url = (
                    self.config.url
                    if role == OWNER
                    else role_url(self.config.url, role)
                )
                db = Database(
                    url, queries=catalog.registry, settings=runs.default_settings()
                )
                db.open()
                self._dbs[key] = db
            return db

    def close(self) -> None:
        """Close every pool."""
        with self._lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()

    def page(
        self, template_name: str, request: Request, **context: Any
    ) -> HTMLResponse:
        """Render *template_name* with the common context."""
        catalog = self.catalog.current
        template = self.env.get_template(template_name)
        return HTMLResponse(
            template.render(
                request=request,
                csrf=self.config.csrf,
                catalog=catalog,
                config=self.config,
                policy=self.policy,
                **context,
            )
        )


def _allowed_host(request: Request, config: StudioConfig) -> bool:
    host = request.headers.get("host", "")
    name = urlsplit(f"//{host}").hostname or ""
    return name in config.hosts or name == "::1"


class _Guard:
    """ASGI middleware: loopback Host, session token, CSRF on POST."""

    def __init__(self, app: Any, config: StudioConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        given = request.query_params.get("token")
        if given is not None and secrets.compare_digest(given, self.config.token):
            target = request.url.remove_query_params("token")
            response = RedirectResponse(str(target.path) or "/", status_code=303)
            response.set_cookie(
                COOKIE, self.config.token, httponly=True, samesite="strict"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        if not _allowed_host(request, self.config):
            return PlainTextResponse("the studio answers on loopback only", 403)
        if request.url.path.startswith("/static/"):
            return None
        cookie = request.cookies.get(COOKIE, "")
        given = request.query_params.get("token", "")
        if not (
            secrets.compare_digest(cookie, self.config.token)
            or secrets.compare_digest(given, self.config.token)
        ):
            return PlainTextResponse(
                "open the studio with the URL it printed at start (it holds the"
                " session token)",
                403,
            )
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).hostname not in (
                *self.config.hosts,
                "::1",
            ):
                return PlainTextResponse("cross-origin request refused", 403)
        return None


async def _form(request: Request, studio: Studio) -> dict[str, str]:
    """The POSTed form as text fields, after its CSRF token is checked.

    Raises:
        PermissionError: the CSRF token is missing or wrong.
    """
    form = await request.form()
    fields = {k: str(v) for k, v in form.multi_items()}
    if not secrets.compare_digest(fields.get("csrf", ""), studio.config.csrf):
        raise PermissionError("the form's CSRF token is missing or wrong")
    return fields


def _studio(request: Request) -> Studio:
    studio: Studio = request.app.state.studio
    return studio


def _find(request: Request) -> Query[object] | None:
    studio = _studio(request)
    name = request.path_params["name"]
    try:
        return studio.catalog.current.registry[name]
    except KeyError:
        return None


async def catalog_page(request: Request) -> Response:
    studio = _studio(request)
    text = request.query_params.get("q", "")
    found = studio.catalog.current.search(text)
    groups: dict[str, list[Query[object]]] = {}
    for query in found:
        groups.setdefault(query.namespace, []).append(query)
    return studio.page("catalog.html", request, groups=groups, q=text)


async def query_page(request: Request) -> Response:
    studio = _studio(request)
    config = studio.config
    query = _find(request)
    if query is None:
        return studio.page("missing.html", request, name=request.path_params["name"])
    described = studio.catalog.current.described.get(query.qualname)
    prefill: Snippet | None = None
    if name := request.query_params.get("snippet"):
        with contextlib.suppress(SnippetError):
            prefill = studio.snippets.get(name)
    scoped = config.tenant_column in query.params and "tenant" not in query.headers
    return studio.page(
        "query.html",
        request,
        query=query,
        described=described,
        sql=highlight(query.sql),
        role=studio.role_of(query),
        writes=runs.writes(query),
        scoped=scoped,
        prefill=prefill,
        page_kind=query.kind == Kind.PAGE,
        hidden={"limit", "offset"} if query.kind == Kind.PAGE else set(),
    )


async def run_page(request: Request) -> Response:
    studio = _studio(request)
    config = studio.config
    query = _find(request)
    if query is None:
        return PlainTextResponse("no such query", 404)
    try:
        form = await _form(request, studio)
    except PermissionError as exc:
        return PlainTextResponse(str(exc), 403)
    described = studio.catalog.current.described.get(query.qualname)
    try:
        values = runs.call_values(query, described, form)
    except ValueError as exc:
        return studio.page(
            "results.html",
            request,
            outcome=runs.Outcome(error=str(exc)),
            query=query,
            columns={},
        )
    school = values.get(config.tenant_column) if config.tenant_column else None
    writes = runs.writes(query)
    if writes and (refusal := studio.policy.refusal()):
        outcome = runs.Outcome(error=refusal)
    else:
        commit = bool(form.get("commit")) and writes
        db = await run_in_threadpool(studio.database, studio.role_of(query))
        outcome = await run_in_threadpool(
            runs.run_query,
            db,
            query,
            values,
            school=str(school) if school and "tenant" not in query.headers else None,
            commit=commit,
        )
    export = form.get("format")
    if export == "csv" and outcome.error is None:
        return PlainTextResponse(
            runs.rows_as_csv(outcome),
            media_type="text/csv",
            headers={
                "content-disposition": f'attachment; filename="{query.qualname}.csv"'
            },
        )
    if export == "json" and outcome.error is None:
        return Response(
            runs.rows_as_json(outcome),
            media_type="application/json",
            headers={
                "content-disposition": f'attachment; filename="{query.qualname}.json"'
            },
        )
    return studio.page(
        "results.html",
        request,
        outcome=outcome,
        query=query,
        columns=runs.column_info(described),
        writes=writes,
    )


async def plan_page(request: Request) -> Response:
    studio = _studio(request)
    query = _find(request)
    if query is None:
        return PlainTextResponse("no such query", 404)
    try:
        form = await _form(request, studio)
        values = runs.call_values(
            query, studio.catalog.current.described.get(query.qualname), form
        )
    except PermissionError as exc:
        return PlainTextResponse(str(exc), 403)
    except ValueError as exc:
        return studio.page("plan.html", request, error=str(exc), query=query)
    try:
        report, stored, label = await run_in_threadpool(_explain, studio, query, values)
    except (psycopg.Error, KeyError) as exc:
        return studio.page("plan.html", request, error=str(exc), query=query)
    diff = (
        None
        if stored is None
        else "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                report.shape.splitlines(keepends=True),
                f"sql/plans/{label}.plan",
                "this run",
            )
        )
    )
    return studio.page(
        "plan.html",
        request,
        report=report,
        stored=stored,
        diff=diff,
        label=label,
        query=query,
        error=None,
    )


async def health_page(request: Request) -> Response:
    studio = _studio(request)
    config = studio.config
    try:
        report, _ = await run_in_threadpool(studio.snapshots.take, config.url)
    except psycopg.Error as exc:
        return studio.page("health.html", request, error=str(exc), report=None)
    snaps = studio.snapshots.read()
    return studio.page(
        "health.html",
        request,
        error=None,
        report=report,
        queries=query_health(report, studio.catalog.current.registry),
        charts=charts(snaps),
        snapshots=len(snaps),
    )


async def snippets_page(request: Request) -> Response:
    studio = _studio(request)
    config = studio.config
    if request.method == "POST":
        try:
            form = await _form(request, studio)
        except PermissionError as exc:
            return PlainTextResponse(str(exc), 403)
        snippet = Snippet(
            name=form.get("snippet_name", "").strip(),
            query=form.get("query") or None,
            school=None,
            params={
                key[2:]: None if form.get(f"null:{key[2:]}") else value
                for key, value in form.items()
                if key.startswith("p:")
            },
            sql=form.get("sql", "") if config.sql_console else "",
        )
        try:
            path = await run_in_threadpool(studio.snippets.save, snippet)
        except SnippetError as exc:
            return PlainTextResponse(str(exc), 400)
        return PlainTextResponse(f"saved {path}")
    return studio.page("snippets.html", request, snippets=studio.snippets.list())


async def console_page(request: Request) -> Response:
    studio = _studio(request)
    config = studio.config
    if not config.sql_console:
        return PlainTextResponse(
            "the SQL console is off: start the studio with --sql-console", 404
        )
    if request.method == "GET":
        prefill = ""
        if name := request.query_params.get("snippet"):
            with contextlib.suppress(SnippetError):
                prefill = studio.snippets.get(name).sql
        return studio.page("console.html", request, sql=prefill)
    try:
        form = await _form(request, studio)
    except PermissionError as exc:
        return PlainTextResponse(str(exc), 403)
    outcome = await run_in_threadpool(_console_run, studio, form)
    return studio.page("results.html", request, outcome=outcome, query=None, columns={})


async def generation(request: Request) -> Response:
    studio = _studio(request)
    catalog = studio.catalog.current
    return JSONResponse(
        {
            "generation": catalog.generation,
            "errors": [f"{e.message}" for e in catalog.errors],
        }
    )


def create_app(config: StudioConfig) -> Starlette:
    """The studio as an ASGI app (``uvicorn`` serves it; tests call it)."""
    studio = Studio(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = []
        if config.watch:
            tasks.append(asyncio.create_task(_watch(studio)))
        if config.snapshot_every > 0:
            tasks.append(asyncio.create_task(_snapshots(studio)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            studio.close()

    static = Path(__file__).parent / "static"
    app = Starlette(
        routes=[
            Route("/", catalog_page),
            Route("/query/{name}", query_page),
            Route("/query/{name}/run", run_page, methods=["POST"]),
            Route("/query/{name}/plan", plan_page, methods=["POST"]),
            Route("/health", health_page),
            Route("/snippets", snippets_page, methods=["GET", "POST"]),
            Route("/console", console_page, methods=["GET", "POST"]),
            Route("/api/generation", generation),
            Mount("/static", StaticFiles(directory=static), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.studio = studio
    guarded: Any = _Guard(app, config)
    guarded.state = app.state
    return guarded  # type: ignore[no-any-return]


def _explain(
    studio: Studio, query: Query[object], values: Mapping[str, object]
) -> tuple[Any, str | None, str]:
    given = runs.explain_values(query, values)
    statement = query.statement_for(given)
    kept = frozenset(n for n in query.optional if given.get(n) is not None)
    label = combination_label(query, kept) if query.optional else query.qualname
    sort = values.get("sort")
    if isinstance(sort, str) and sort in query.variants:
        statement = _sorted(query, statement, kept, sort)
        label = f"{label} sort={sort}"  # guardrails store the default order only
    with psycopg.connect(studio.config.url, autocommit=True) as conn:
        report = explain_query(conn, statement, given, runs=3, generic=True)
    plans = studio.config.plans_dir
    path = plans / f"{label}.plan" if plans is not None else None
    stored = path.read_text() if path is not None and path.is_file() else None
    return report, stored, label


def _sorted(
    query: Query[object], statement: Query[object], kept: frozenset[str], sort: str
) -> Query[object]:
    """*statement* with the ORDER BY of sort variant *sort*."""
    template = query.template
    if template is None:
        return dataclasses.replace(statement, compiled=query.variants[sort])
    compiled, params = template.render(
        template.kept_params(template.included(kept)), sort
    )
    return dataclasses.replace(statement, compiled=compiled, params=params)


def _console_run(studio: Studio, form: Mapping[str, str]) -> runs.Outcome:
    """Raw SQL as the app's role, in a transaction rolled back unless committed."""
    outcome = runs.Outcome()
    text = form.get("sql", "").strip()
    role = studio.config.app_role or OWNER
    url = studio.config.url if role == OWNER else role_url(studio.config.url, role)
    commit = bool(form.get("commit"))
    if commit and (refusal := studio.policy.refusal()):
        outcome.error = refusal
        return outcome
    try:
        with psycopg.connect(url) as conn:
            school = form.get("school")
            if school and studio.config.tenant_column:
                conn.execute(
                    "SELECT set_config(%s, %s, true)",
                    [f"yeko.{studio.config.tenant_column}", school],
                )
            cur = conn.execute(text)  # type: ignore[call-overload,unused-ignore]
            if cur.description:
                outcome.columns = [c.name for c in cur.description]
                outcome.rows = [list(r) for r in cur.fetchmany(runs.MAX_ROWS)]
            else:
                outcome.value, outcome.has_value = cur.rowcount, True
            if commit:
                conn.commit()
                outcome.committed = True
            else:
                conn.rollback()
                outcome.rolled_back = True
    except psycopg.Error as exc:
        outcome.error = f"{type(exc).__name__}: {exc}".strip()
    return outcome


async def _watch(studio: Studio) -> None:
    """Reload the catalog whenever a query file changes."""
    from watchfiles import awatch  # noqa: PLC0415  (only when watching)

    folders = [str(p) for p in studio.config.paths if p.exists()]
    if not folders:
        return
    async for _ in awatch(*folders, debounce=200, step=50):
        await run_in_threadpool(studio.catalog.reload)


async def _snapshots(studio: Studio) -> None:
    """Take a health snapshot every ``snapshot_every`` seconds."""
    while True:
        with contextlib.suppress(psycopg.Error):
            await run_in_threadpool(studio.snapshots.take, studio.config.url)
        await asyncio.sleep(studio.config.snapshot_every)

