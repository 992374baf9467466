"""The Flask application factory: `flask --app app …` finds `create_app` here."""
from __future__ import annotations

from flask import Flask, g, jsonify, request
from flask.ctx import _AppCtxGlobals

from app.http_errors import status_of
from app.addresses import WebAddresses
from app.answer_cache import AnswerCache
from config.database import bind_settings, make_engine, new_session
from config.settings import Settings
from labels import fonts
from mailing.carriers import check as check_carriers
from tracking.federation import cases as federated_cases, platforms
from tracking.model.context import Env
from tracking.model.errors import Refused


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Globals(_AppCtxGlobals):
    """Flask's `g`, whose `db` (the request's unit of work) opens on first use: a request that reads no row
    (a kept tracking answer, a refusal at the door) opens none, and has none to commit or close."""

    def __getattr__(self, name: str):
        if name == "db" and "open_db" in self.__dict__:
            self.db = self.open_db()
            return self.db
        return super().__getattr__(name)


class _Tongban(Flask):
    """Flask with `g` as above, asking once per hook or view whether it is a coroutine (Flask's
    `ensure_sync`, its documented place for that): Flask asks `inspect` on every call, a dozen times a
    request, about 3% of a kept tracking answer. The hooks and views are registered once, so the answers
    kept are as many as they are."""
    app_ctx_globals_class = _Globals

    def ensure_sync(self, func):
        known = self.__dict__.setdefault("_sync_of", {})
        try:
            if func not in known:
                known[func] = super().ensure_sync(func)
            return known[func]
        except TypeError:  # an unhashable callable: asked each time
            return super().ensure_sync(func)


def create_app(config: dict | None = None) -> Flask:
    app = _Tongban(__name__, instance_relative_config=True)
    settings = Settings.from_env(instance_path=app.instance_path, overrides=config)
    app.config.update(SECRET_KEY=settings.secret_key, JSON_AS_ASCII=False, TONGBAN=settings,
                      MAX_CONTENT_LENGTH=32 * 1024 * 1024)
    app.json.ensure_ascii = False
    check_carriers(settings)  # a carrier named but not configured would leave packets unbooked
    engine = make_engine(settings.database_url)
    bind_settings(engine, settings)  # the stored stage deadlines derive with this app's limits
    fonts.register(settings.font_path or None)  # once per process, before the first document
    app.extensions["tongban"] = {"engine": engine, "env": Env(settings, WebAddresses(settings)),
                                 "answers": AnswerCache(settings.track_cache_seconds, engine)}
    platforms.configure(settings)  # case reports and ratings go to the platforms configured (if any)
    # a node mirrors its cross-province cases to the peer that holds them too (none without TONGBAN_NODE)
    federated_cases.configure(settings, engine, app.extensions["tongban"]["env"].addresses)

    @app.before_request
    def _open_session():
        # a GET only reads: it never takes nor waits for the write lock, and what it writes besides (an
        # access-log row, a wrong check code counted) goes through config.database's short writes; the
        # few GETs that change state (a result's first download) say so with app.web.writes
        view = app.view_functions.get(request.endpoint)
        reads = request.method in READING_METHODS and not getattr(view, "writes", False)
        g.open_db = lambda: new_session(engine, query_only=reads)

    @app.after_request
    def _commit(response):
        # the request is the unit of work: what a successful request wrote (an access-log row of a
        # read, say) is kept; a failed one is rolled back when the session closes
        db = g.get("db")
        # a session that never began (a kept answer, a page without data) has nothing to end
        if response.status_code < 400 and db is not None and (db.in_transaction() or db.info.get("later")):
            db.commit()
        return response

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.errorhandler(Refused)
    def _refused(e: Refused):
        if "db" in g:
            g.db.commit() if e.recorded else g.db.rollback()
        if not request.path.startswith("/api/"):  # a page: the same refusal, as a page a clerk reads
            from app.web import page_error
            return page_error(status_of(e), "无法完成", e.message)
        return jsonify(e.body()), status_of(e)

    from app import api, cli, ratelimit, tasks, web
    from app.pages import account, admin, courier, intake, manifests, office, supervise, track, window
    ratelimit.init_app(app)
    web.init_app(app)
    api.init_app(app)
    from app import carriers, federation
    from app.pages import peers
    federation.init_app(app)
    carriers.init_app(app)
    app.register_blueprint(peers.bp)
    for pages in (window, intake, manifests, office, track, supervise, admin, account, courier):
        app.register_blueprint(pages.bp)
    from app.pages import results as result_pages
    app.register_blueprint(result_pages.bp)
    from app.pages import files as file_pages
    app.register_blueprint(file_pages.bp)
    cli.init_app(app)
    tasks.celery_init_app(app)
    return app
