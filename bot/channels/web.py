"""The web chat channel: the residents' page (`GET /`) and its JSON API.

`POST /api/chat` takes one message, runs it through the same engine as LINE and
answers `{"replies": [...]}` (each `bot.messages.reply_to_dict`). The web user is a
random id kept in Flask's signed session cookie (user key `web:<id>`).

Notifications for a web user (outbox rows with channel "web") cannot be pushed:
they wait as pending rows and are handed over, once, at the head of the next
`/api/chat` answer or by `GET /api/chat/updates`, which the page polls.

Body size: the app caps request bodies at 1 MiB. Images (up to 5 MiB decoded,
about 6.7 MiB as base64) are the one exception: this route reads up to
`IMAGE_BODY_LIMIT`, and a body over 1 MiB that is not an image is refused with
413 all the same. The page itself shrinks photos before upload, so a phone
photo usually travels as a few hundred KB.

Cross-site requests: the API accepts only `application/json` bodies, which a
foreign page cannot send without a CORS preflight (never granted here), and the
session cookie is SameSite=Lax.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from bot import openapi
from bot.messages import Location, Message, reply_from_dict, reply_to_dict, sniff_image
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)

MAX_TEXT = 2000
MAX_POSTBACK = 300  # LINE's limit for postback data; the same buttons serve both channels
MAX_ADDRESS = 200
MAX_IMAGE_BYTES = 5 * 1024 * 1024
BODY_LIMIT = 1024 * 1024
# base64 of MAX_IMAGE_BYTES plus room for the JSON wrapper and a data: URL prefix.
IMAGE_BODY_LIMIT = math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 4096
# Default polite limit: messages per window (seconds) per web user, per process.
RATE_LIMIT = (30, 60.0)
SESSION_KEY = "web_id"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


def _error(code: str, message: str, status: int) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


# --- the page --------------------------------------------------------------------------

_asset_version: str | None = None


def asset_version() -> str:
    """A short hash of the static files, so browsers fetch new ones after a release."""
    global _asset_version
    if _asset_version is None or current_app.debug:
        digest = hashlib.sha256()
        for path in sorted(STATIC_DIR.glob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
        _asset_version = digest.hexdigest()[:10]
    return _asset_version


# Everything the page loads comes from this origin; no inline script or style.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/")
def page() -> Response:
    version = asset_version()
    html = render_template(
        "chat.html",
        css_url=url_for("static", filename="chat.css", v=version),
        js_url=url_for("static", filename="chat.js", v=version),
        max_text=MAX_TEXT,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- identity and politeness ---------------------------------------------------------------


def _web_id(create: bool) -> str | None:
    value = session.get(SESSION_KEY)
    if isinstance(value, str) and _ID_RE.match(value):
        return value
    if not create:
        return None
    value = secrets.token_urlsafe(16)
    session[SESSION_KEY] = value
    session.permanent = True  # survives closing the browser (PERMANENT_SESSION_LIFETIME)
    return value


class _RateLimiter:
    """At most `count` messages per `window` seconds per key, in this process.

    A courtesy against a stuck script, not a security boundary (each gunicorn
    worker counts on its own)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, count: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= count:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle users so memory stays bounded
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
                    del self._hits[k]
            return True


_limiter = _RateLimiter()


# --- parsing -----------------------------------------------------------------------------

MAIN_KEYS = ("text", "postback", "location", "image", "event")


def _read_json() -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest("unsupported_media_type", "請以 JSON（Content-Type: application/json）傳送訊息。")
    # Bodies up to the image limit are read; only images may exceed the usual 1 MiB.
    request.max_content_length = IMAGE_BODY_LIMIT
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "訊息格式有誤（不是有效的 JSON）。") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid_json", "訊息格式有誤：應為 JSON 物件。")
    if len(raw) > BODY_LIMIT and set(body) & set(MAIN_KEYS) != {"image"}:
        raise BadRequest("payload_too_large", "訊息太長了，請縮短後再傳送。", 413)
    return body


def _decode_image(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise BadRequest("invalid_image", "照片資料有誤，請重新選擇照片。")
    if value.startswith("data:"):  # accept a data: URL as browsers produce it
        _, _, value = value.partition(",")
    value = "".join(value.split())
    if len(value) > math.ceil(MAX_IMAGE_BYTES / 3) * 4:
        raise BadRequest("image_too_large", "照片太大了，請選擇 5 MB 以下的照片。")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("invalid_image", "照片資料有誤（base64 格式不正確），請重新選擇照片。") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise BadRequest("image_too_large", "照片太大了，請選擇 5 MB 以下的照片。")
    if not data:
        raise BadRequest("invalid_image", "照片資料是空的，請重新選擇照片。")
    if sniff_image(data) is None:
        raise BadRequest("invalid_image", "這個檔案不是照片，請選擇 JPEG、PNG、WebP 或 HEIC 格式的圖片。")
    return data


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        return None
    return value


def parse_message(body: dict[str, Any], user_key: str) -> Message:
    """A validated chat request as the engine's Message (raises BadRequest)."""
    present = [k for k in MAIN_KEYS if k in body]
    if len(present) != 1:
        raise BadRequest(
            "invalid_request", "請傳送一則訊息：text、postback、location、image 或 event 其中一項。"
        )
    key = present[0]
    value = body[key]
    if key == "text":
        if not isinstance(value, str):
            raise BadRequest("invalid_text", "訊息內容應為文字。")
        text = value.strip()
        if not text:
            raise BadRequest("empty_text", "請輸入訊息內容。")
        if len(text) > MAX_TEXT:
            raise BadRequest("text_too_long", f"訊息太長了，請在 {MAX_TEXT:,} 字以內。")
        return Message(user_key, "web", "text", text=text)
    if key == "postback":
        display = body.get("display")
        if not isinstance(value, str) or not value or len(value) > MAX_POSTBACK:
            raise BadRequest("invalid_postback", "按鈕資料有誤，請重新點選或直接輸入文字。")
        if display is not None and (not isinstance(display, str) or len(display) > MAX_TEXT):
            raise BadRequest("invalid_postback", "按鈕文字有誤，請重新點選或直接輸入文字。")
        # Like LINE, the shown text is only for the transcript; the data carries the meaning.
        return Message(user_key, "web", "postback", data=value)
    if key == "location":
        if not isinstance(value, dict):
            raise BadRequest("invalid_location", "位置資料有誤，請輸入地址或「緯度,經度」。")
        latitude = _number(value.get("latitude"), -90, 90)
        longitude = _number(value.get("longitude"), -180, 180)
        address = value.get("address")
        if latitude is None or longitude is None:
            raise BadRequest(
                "invalid_location", "位置的經緯度有誤，請輸入地址或「緯度,經度」，例如 22.62,120.31。"
            )
        if address is not None and (not isinstance(address, str) or len(address) > MAX_ADDRESS):
            raise BadRequest("invalid_location", f"地址有誤，請在 {MAX_ADDRESS} 字以內。")
        location = Location(latitude, longitude, (address or "").strip() or None)
        return Message(user_key, "web", "location", location=location)
    if key == "image":
        return Message(user_key, "web", "image", image_bytes=_decode_image(value))
    if value != "follow":
        raise BadRequest("invalid_event", "不支援的事件；目前只接受 follow。")
    return Message(user_key, "web", "follow")


# --- pending notifications ---------------------------------------------------------------------


def take_pending(user_key: str) -> list[dict[str, Any]]:
    """Web notifications waiting for this user, marked sent in the same transaction."""
    from bot.app import services

    db = services()["db"]
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    with db.session() as s:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == "web",
                OutboxMessage.to == user_key,
                OutboxMessage.status == "pending",
            )
            .order_by(OutboxMessage.id)
        )
        if db.dialect == "postgresql":
            # Two tabs polling at once: each row goes to exactly one of them.
            stmt = stmt.with_for_update(skip_locked=True)
        for row in s.scalars(stmt):
            try:
                replies = [reply_to_dict(reply_from_dict(m)) for m in row.messages]
            except (TypeError, ValueError, KeyError) as exc:
                log.error("outbox row %s for the web is malformed: %s", row.id, type(exc).__name__)
                row.status, row.last_error = "failed", f"malformed messages: {type(exc).__name__}"
                continue
            out.extend(replies)
            row.status = "sent"
            row.sent_at = now
            row.attempts = (row.attempts or 0) + 1
    return out


# --- the API ------------------------------------------------------------------------------


@bp.post("/api/chat")
def chat() -> Response:
    from bot.app import services

    try:
        body = _read_json()
        user_key = f"web:{_web_id(create=True)}"
        msg = parse_message(body, user_key)
    except BadRequest as exc:
        return _error(exc.code, exc.message, exc.status)
    except RequestEntityTooLarge:
        return _too_large()

    count, window = current_app.config.get("WEB_CHAT_RATE_LIMIT", RATE_LIMIT)
    if not _limiter.allow(user_key, count, window):
        response = _error("rate_limited", "訊息傳送得太快了，請稍候幾秒再試。", 429)
        response.headers["Retry-After"] = str(int(window))
        return response

    try:
        replies = services()["engine"].handle(msg)
        pending = take_pending(user_key)
    except Exception:
        log.exception("web chat: the engine failed on a %s message", msg.kind)
        return _error("internal_error", "系統暫時無法處理您的訊息，請稍後再試；急事請撥 1999。", 500)
    return jsonify(replies=pending + [reply_to_dict(r) for r in replies])


@bp.get("/api/chat/updates")
def updates() -> Response:
    web_id = _web_id(create=False)
    if web_id is None:  # nobody has talked yet: nothing can be waiting
        return jsonify(replies=[])
    try:
        pending = take_pending(f"web:{web_id}")
    except Exception:
        log.exception("web chat: pending notifications could not be read")
        return _error("internal_error", "暫時無法取得新訊息，稍後會再試。", 500)
    response = jsonify(replies=pending)
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_large() -> Response:
    return _error("payload_too_large", "訊息或照片太大了：文字請在 1 MB 以內，照片請在 5 MB 以內。", 413)


@bp.errorhandler(RequestEntityTooLarge)
def _on_too_large(_exc: RequestEntityTooLarge) -> Response:
    return _too_large()


@bp.after_request
def _no_store(response: Response) -> Response:
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- OpenAPI ------------------------------------------------------------------------------------

_ref = openapi.ref
_CHOICE = {
    "type": "object",
    "description": (
        "A button. `message`: send `text` as if typed; `postback`: send `data` (show `text` in the "
        "transcript); `location`: ask for an address or coordinates; `camera`/`camera_roll`: ask for "
        "a photo; `uri`: a link to `uri`."
    ),
    "required": ["label", "action"],
    "properties": {
        "label": {"type": "string"},
        "text": {"type": ["string", "null"]},
        "data": {"type": ["string", "null"]},
        "action": {"enum": ["message", "postback", "location", "camera", "camera_roll", "uri"]},
        "uri": {"type": ["string", "null"]},
    },
}
_CHOICES = {"type": "array", "items": _ref("Choice"), "description": "Quick replies (on the last reply)."}
_SCHEMAS = {
    "Choice": _CHOICE,
    "Card": {
        "type": "object",
        "required": ["title", "body", "buttons"],
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string"},
            "buttons": {"type": "array", "items": _ref("Choice")},
            "image_url": {"type": ["string", "null"]},
        },
    },
    "TextReply": {
        "type": "object",
        "required": ["type", "text", "choices"],
        "properties": {
            "type": {"const": "text"},
            "text": {"type": "string", "description": "Plain text; keep line breaks, link URLs."},
            "choices": _CHOICES,
        },
    },
    "CardsReply": {
        "type": "object",
        "required": ["type", "alt_text", "cards", "choices"],
        "properties": {
            "type": {"const": "cards"},
            "alt_text": {"type": "string"},
            "cards": {"type": "array", "items": _ref("Card")},
            "choices": _CHOICES,
        },
    },
    "PlaceReply": {
        "type": "object",
        "required": ["type", "title", "address", "latitude", "longitude", "choices"],
        "properties": {
            "type": {"const": "place"},
            "title": {"type": "string"},
            "address": {"type": "string"},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "choices": _CHOICES,
        },
    },
    "Reply": {
        "oneOf": [_ref("TextReply"), _ref("CardsReply"), _ref("PlaceReply")],
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                "text": "#/components/schemas/TextReply",
                "cards": "#/components/schemas/CardsReply",
                "place": "#/components/schemas/PlaceReply",
            },
        },
    },
    "ChatResponse": {
        "type": "object",
        "required": ["replies"],
        "properties": {"replies": {"type": "array", "items": _ref("Reply")}},
    },
    "ChatRequest": {
        "description": "Exactly one of the message kinds.",
        "oneOf": [
            {
                "title": "text",
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}},
            },
            {
                "title": "postback",
                "type": "object",
                "required": ["postback"],
                "properties": {
                    "postback": {"type": "string", "minLength": 1, "maxLength": MAX_POSTBACK},
                    "display": {"type": "string", "maxLength": MAX_TEXT, "description": "The button's text."},
                },
            },
            {
                "title": "location",
                "type": "object",
                "required": ["location"],
                "properties": {
                    "location": {
                        "type": "object",
                        "required": ["latitude", "longitude"],
                        "properties": {
                            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                            "address": {"type": "string", "maxLength": MAX_ADDRESS},
                        },
                    }
                },
            },
            {
                "title": "image",
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {
                        "type": "string",
                        "contentEncoding": "base64",
                        "description": (
                            "A JPEG, PNG, WebP or HEIC image, base64 (a `data:` URL is accepted), "
                            f"at most {MAX_IMAGE_BYTES // (1024 * 1024)} MiB decoded. The only kind of "
                            "request allowed a body over 1 MiB."
                        ),
                    }
                },
            },
            {
                "title": "event",
                "type": "object",
                "required": ["event"],
                "properties": {"event": {"const": "follow", "description": "Opening the chat: the welcome."}},
            },
        ],
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": openapi.json_content(_ref("Error"))}


_SESSION_NOTE = (
    "The resident is identified by a random id in the signed session cookie, created on the first "
    "call: send the cookie back to continue the conversation."
)

openapi.register(
    paths={
        "/api/chat": {
            "post": {
                "operationId": "chatSend",
                "tags": ["web chat"],
                "summary": "Send one message to the bot; get its replies",
                "description": (
                    f"{_SESSION_NOTE} Notifications waiting for this resident (e.g. staff answers) come "
                    "first in `replies`, each delivered once, followed by the replies to this message."
                ),
                "requestBody": {
                    "required": True,
                    "content": openapi.json_content(_ref("ChatRequest"), {"text": "中正路有坑洞"}),
                },
                "responses": {
                    "200": {
                        "description": "Pending notifications, then the replies to this message.",
                        "content": openapi.json_content(_ref("ChatResponse")),
                    },
                    "400": _error_response(
                        "Not JSON, not exactly one message kind, empty text, text over 2,000 characters, "
                        "bad postback, coordinates out of range, bad base64 or not an image, image over 5 MiB."
                    ),
                    "413": _error_response("Body over 1 MiB (over about 6.7 MiB for an image)."),
                    "429": _error_response("Messages sent too fast; `Retry-After` says when to try again."),
                    "500": _error_response("The bot failed; the message may be sent again."),
                },
            }
        },
        "/api/chat/updates": {
            "get": {
                "operationId": "chatUpdates",
                "tags": ["web chat"],
                "summary": "Notifications waiting for this resident",
                "description": (
                    f"{_SESSION_NOTE} Each pending notification is returned once and then marked sent; "
                    "the page polls this about every 15 seconds. Without a session: an empty list."
                ),
                "responses": {
                    "200": {
                        "description": "Pending notifications, oldest first (possibly none).",
                        "content": openapi.json_content(_ref("ChatResponse"), {"replies": []}),
                    },
                    "500": _error_response("They could not be read now; try again later."),
                },
            }
        },
    },
    schemas=_SCHEMAS,
    tags=[{"name": "web chat", "description": "The residents' web chat (the page at `/`)."}],
)
