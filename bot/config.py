"""Configuration from the environment, read in one place.

Nothing here runs at import time: `Settings.from_env()` is called by the app
factory and the CLI, so tests can build settings of their own.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_LINE_API_BASE_URL = "https://api.line.me"
DEFAULT_LINE_DATA_API_BASE_URL = "https://api-data.line.me"


def instance_dir() -> Path:
    """`./instance/` beside the working directory: the SQLite file and the generated secret."""
    path = Path(os.environ.get("CITIZENBOT_INSTANCE_DIR", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{instance_dir() / 'citizenbot.sqlite3'}"


def _generated_secret_key() -> str:
    """A secret made once and kept in ./instance/, so restarts keep staff sessions valid."""
    path = instance_dir() / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    # One base for every Messaging API call. LINE serves content downloads from a
    # second host; when the base is overridden (tests, proxies) both go there.
    line_api_base_url: str = DEFAULT_LINE_API_BASE_URL
    line_data_api_base_url: str = DEFAULT_LINE_DATA_API_BASE_URL
    # Seconds allowed for one Messaging API call.
    line_api_timeout: float = 5.0
    # Start the outbox delivery thread in this process.
    outbox_worker: bool = True
    # Seconds an idle conversation flow is kept before it expires.
    conversation_ttl: int = 24 * 3600
    staff_api_token: str | None = None
    # Keys accepted by Open311 POST requests (OPEN311_API_KEYS, comma-separated).
    open311_api_keys: tuple[str, ...] = ()
    # Sign-language video meeting URL for this deployment ({room}: one room per session);
    # None uses data/video_service.yaml.
    video_meeting_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        base = env.get("LINE_API_BASE_URL") or DEFAULT_LINE_API_BASE_URL
        data_base = base if env.get("LINE_API_BASE_URL") else DEFAULT_LINE_DATA_API_BASE_URL
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(),
            secret_key=env.get("SECRET_KEY") or _generated_secret_key(),
            line_channel_secret=env.get("LINE_CHANNEL_SECRET") or None,
            line_channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN") or None,
            line_api_base_url=base.rstrip("/"),
            line_data_api_base_url=data_base.rstrip("/"),
            line_api_timeout=float(env.get("LINE_API_TIMEOUT", "5")),
            outbox_worker=env.get("CITIZENBOT_OUTBOX_WORKER", "1") != "0",
            conversation_ttl=int(env.get("CITIZENBOT_CONVERSATION_TTL", str(24 * 3600))),
            staff_api_token=env.get("STAFF_API_TOKEN") or None,
            open311_api_keys=tuple(k.strip() for k in env.get("OPEN311_API_KEYS", "").split(",") if k.strip()),
            video_meeting_url=env.get("VIDEO_MEETING_URL") or None,
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)
