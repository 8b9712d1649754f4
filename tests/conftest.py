"""Shared fixtures: a migrated database per test, the app, a signed-webhook helper.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is
set. Schemas come from the Alembic migrations, never from create_all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.db import Database, upgrade
from bot.models import Base

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
STAFF_TOKEN = "test-staff-token"


class FakeClock:
    """Stands in for a module's monotonic clock, so a test advances time instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def provider_clock(monkeypatch) -> FakeClock:
    """The matcher provider's clock (check interval, retry after a failed rebuild)."""
    import intents.provider

    clock = FakeClock()
    monkeypatch.setattr(intents.provider, "time", clock)
    return clock


def shared_path(*parts: str) -> Path:
    """A file under ../shared (reference data and fixtures, used by path)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):  # CI always has ../shared: its absence is a failure there
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is not present")
    return path


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        db = Database(url)
        with db.engine.begin() as conn:
            # Start from nothing so the migrations themselves are exercised.
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture
def database_url(_migrated_template, tmp_path) -> str:
    """A fresh, migrated, empty database for one test."""
    if _migrated_template.startswith("sqlite"):
        src = Path(_migrated_template.removeprefix("sqlite:///"))
        dst = tmp_path / "citizenbot.sqlite3"
        shutil.copyfile(src, dst)
        return f"sqlite:///{dst}"
    db = Database(_migrated_template)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.dispose()
    return _migrated_template


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        # Nothing may leave the machine: an unset fake points at a closed loopback port.
        line_api_base_url="http://127.0.0.1:9",
        line_data_api_base_url="http://127.0.0.1:9",
        line_api_timeout=2.0,
        outbox_worker=False,
        staff_api_token=STAFF_TOKEN,
    )


@pytest.fixture
def make_app(settings):
    """Build an app (several may share one database, like gunicorn workers)."""
    from bot.app import create_app

    apps = []

    def _make(**overrides):
        app = create_app({"SETTINGS": settings.with_overrides(**overrides), "TESTING": True})
        apps.append(app)
        return app

    yield _make
    for app in apps:
        services = app.extensions["citizenbot"]
        delivery = services.get("delivery")
        if delivery is not None and hasattr(delivery, "stop"):
            delivery.stop()
        services["db"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app) -> Database:
    return app.extensions["citizenbot"]["db"]


@pytest.fixture
def engine(app):
    return app.extensions["citizenbot"]["engine"]


# --- LINE: a fake Messaging API on loopback and signed webhook bodies -----------------------


@pytest.fixture
def fake_line():
    """A fake LINE Messaging API on 127.0.0.1 (see tests/fakeline.py)."""
    from tests.fakeline import FakeLine

    with FakeLine(access_token=ACCESS_TOKEN) as fake:
        yield fake


@pytest.fixture
def line_app(make_app, fake_line):
    """An app whose Messaging API calls go to the fake LINE server."""
    return make_app(line_api_base_url=fake_line.url, line_data_api_base_url=fake_line.url)


def sign_body(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    """X-Line-Signature: base64 of the HMAC-SHA256 of the raw body with the channel secret."""
    import base64
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_webhook(client, payload, secret: str = CHANNEL_SECRET, signature: str | None = None):
    """POST a webhook body (dict, str or bytes) to /callback, signed unless a signature is given."""
    import json

    if isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    sig = sign_body(body, secret) if signature is None else signature
    if sig:
        headers["X-Line-Signature"] = sig
    return client.post("/callback", data=body, headers=headers)
