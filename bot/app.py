"""The application factory: `gunicorn 'bot.app:create_app()'` serves what it builds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify

from bot.config import Settings
from bot.db import Database
from bot.engine import Engine
from handlers import build_registry
from intents import MatcherProvider


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` may hold a ready `SETTINGS` object and Flask options."""
    config = dict(config or {})
    settings: Settings = config.pop("SETTINGS", None) or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=1024 * 1024,  # LINE webhook bodies and chat messages alike
        JSON_AS_ASCII=False,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # zh-TW readable in JSON answers

    db = Database(settings.database_url)
    matchers = MatcherProvider(db.sessionmaker)
    registry = build_registry()

    from bot import outbox
    from bot.line_api import LineApi

    line_api = LineApi(settings)
    delivery = outbox.Delivery(db, settings, api=line_api)
    engine = Engine(
        db, registry, matchers, settings, notify=outbox.notify, fetch_content=line_api.get_content
    )

    app.extensions["citizenbot"] = {
        "settings": settings,
        "db": db,
        "engine": engine,
        "matchers": matchers,
        "registry": registry,
        "delivery": delivery,
        "line_api": line_api,
    }

    from bot.channels import line, web

    app.register_blueprint(line.bp)
    app.register_blueprint(web.bp)

    from bot import open311, staff_api

    app.register_blueprint(open311.bp)
    app.register_blueprint(staff_api.bp)

    @app.get("/healthz")
    def healthz():
        if db.ping():
            return jsonify(status="ok")
        return jsonify(status="database unavailable"), 503

    @app.get("/openapi.json")
    def openapi():
        from bot.openapi import document

        return jsonify(document())

    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not app.testing:
        # Build the matcher now rather than in the first resident's request (2-3 s with the
        # city FAQ); a request arriving meanwhile waits for this build instead of starting one.
        threading.Thread(target=_warm, args=(matchers,), name="matcher-warm-up", daemon=True).start()
    return app


def _warm(matchers: MatcherProvider) -> None:
    try:
        matchers.get()
    except Exception:  # e.g. the database is not migrated yet: the first request will say so
        logging.getLogger(__name__).warning("matcher warm-up failed", exc_info=True)


def services(app: Flask | None = None) -> dict[str, Any]:
    """The app's citizenbot services (settings, db, engine…), for blueprints and the CLI."""
    from flask import current_app

    return (app or current_app).extensions["citizenbot"]
