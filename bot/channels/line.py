"""The LINE webhook: verify, parse, one transaction per event, replies into the outbox.

`POST /callback` answers within LINE's two seconds because it only does
database work: each event is deduplicated on `webhookEventId`, handed to the
engine and its replies written to the outbox in the same transaction. The
outbox thread sends them afterwards (reply token first, push as fallback).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, jsonify, request
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import Event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from bot import outbox
from bot.channels.line_render import to_line_messages
from bot.messages import Location, Message, Text
from bot.models import ProcessedEvent
from handlers.base import ContentError

log = logging.getLogger(__name__)

bp = Blueprint("line", __name__)

# Event types the SDK knows (it validates them); anything else LINE adds later is
# accepted and ignored, as LINE asks of bots.
KNOWN_EVENTS = {
    "accountLink", "activated", "beacon", "botResumed", "botSuspended", "deactivated", "delivery",
    "follow", "join", "leave", "memberJoined", "memberLeft", "membership", "message",
    "messageEdited", "module", "postback", "unfollow", "unsend", "videoPlayComplete",
}  # fmt: skip
KNOWN_MESSAGES = {"text", "image", "video", "audio", "file", "location", "sticker"}

SORRY = Text("抱歉，系統暫時無法處理您的訊息，請稍後再試一次，或撥打 1999 市民服務專線。")


class BadRequest(ValueError):
    """The body is not a webhook payload LINE would send."""


def _error(status: int, message: str):
    return jsonify(error=message), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    return _error(413, "request body too large")


@bp.before_app_request
def _start_delivery():
    # Pending rows from before a restart go out even before the next webhook arrives.
    from bot.app import services

    delivery = services().get("delivery")
    if delivery is not None:
        delivery.start()


@bp.post("/callback")
def callback():
    from bot.app import services

    svc = services()
    settings = svc["settings"]
    if not settings.line_channel_secret:
        return _error(503, "LINE channel secret is not configured")
    signature = request.headers.get("X-Line-Signature")
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    if not signature:
        return _error(400, "missing X-Line-Signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "body is not UTF-8")
    if not SignatureValidator(settings.line_channel_secret).validate(text, signature):
        log.warning("webhook with an invalid signature rejected (%d bytes)", len(body))
        return _error(400, "invalid signature")
    try:
        events = parse_events(text)
    except BadRequest as exc:
        log.warning("webhook body rejected: %s", exc)
        return _error(400, str(exc))

    handled = failed = lost = 0
    for raw in events:
        try:
            if handle_event(svc, raw):
                handled += 1
        except Exception:
            failed += 1
            log.exception("webhook event %s (%s) failed", raw.get("webhookEventId"), raw.get("type"))
            if not _apologize(svc, raw):
                lost += 1
    log.info("webhook: %d events, %d handled, %d failed", len(events), handled, failed)
    if lost:
        # Not even the failure could be recorded (the database is down): ask LINE to
        # redeliver; the events that did go through are recognised by their ids.
        return _error(500, "events could not be recorded; please redeliver")
    # 200 when a failed event's apology is queued: redelivering it would fail the same way.
    return jsonify(status="ok")


# --- parsing ----------------------------------------------------------------------------


def parse_events(text: str) -> list[dict[str, Any]]:
    """The events of a signed body, each validated against the SDK's models."""
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise BadRequest("malformed JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise BadRequest("no events list")
    events = payload["events"]
    for index, raw in enumerate(events):
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise BadRequest(f"event {index} has no type")
        if raw["type"] not in KNOWN_EVENTS:
            continue
        message = raw.get("message")
        if (
            raw["type"] == "message"
            and isinstance(message, dict)
            and message.get("type") not in KNOWN_MESSAGES
        ):
            # A message type newer than the SDK: check the envelope, treat it as "other".
            raw = {
                **raw,
                "message": {"type": "text", "id": str(message.get("id", "0")), "text": "", "quoteToken": ""},
            }
        try:
            Event.from_dict(raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BadRequest(f"event {index} ({raw['type']}) is not valid") from exc
    return events


def _source_ids(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """(whose conversation, where a push goes): the user, else the group or room."""
    source = raw.get("source") or {}
    chat = source.get("groupId") or source.get("roomId") or source.get("userId")
    person = source.get("userId") or chat
    return person, chat


def _addressed_text(message: dict[str, Any]) -> str | None:
    """The text of a group message that @mentions the bot, without the mention; else None."""
    text = str(message.get("text") or "")
    mentionees = ((message.get("mention") or {}).get("mentionees")) or []
    own = [m for m in mentionees if isinstance(m, dict) and m.get("isSelf")]
    if not own:
        return None
    for m in sorted(own, key=lambda m: -int(m.get("index", 0))):
        start, length = int(m.get("index", 0)), int(m.get("length", 0))
        text = text[:start] + text[start + length :]
    return text.strip() or "選單"


def to_message(raw: dict[str, Any], user_key: str) -> Message | None:
    """The channel-neutral message of an event, or None when nothing should answer."""
    kind = raw.get("type")
    in_group = (raw.get("source") or {}).get("type") in ("group", "room")
    if kind == "follow" or (kind == "join" and in_group):
        return Message(user_key, "line", "follow")
    if kind == "postback":
        postback = raw.get("postback") or {}
        return Message(user_key, "line", "postback", data=str(postback.get("data") or ""))
    if kind != "message":
        return None
    message = raw.get("message") or {}
    mtype = message.get("type")
    if in_group:
        # In a group the bot speaks when spoken to: a text that @mentions it (or a tap on
        # one of its buttons, above); everything else is the members' own conversation.
        text = _addressed_text(message) if mtype == "text" else None
        return Message(user_key, "line", "text", text=text) if text else None
    if mtype == "text":
        return Message(user_key, "line", "text", text=str(message.get("text") or ""))
    if mtype == "location":
        location = Location(
            latitude=float(message["latitude"]),
            longitude=float(message["longitude"]),
            address=message.get("address"),
            title=message.get("title"),
        )
        return Message(user_key, "line", "location", location=location)
    if mtype == "image":
        return Message(user_key, "line", "image", image_id=str(message.get("id")))
    if mtype == "sticker":
        return Message(user_key, "line", "sticker")
    return Message(user_key, "line", "other")  # video, audio, file and anything newer


# --- one event, one transaction --------------------------------------------------------------


def _claim_event(session: Session, event_id: str | None) -> bool:
    """Record the event id; False when it was handled before (a redelivery)."""
    if not event_id:
        return True  # nothing to deduplicate on
    if session.get(ProcessedEvent, event_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(webhook_event_id=event_id))
    except IntegrityError:
        # Another worker got the same delivery at the same moment and recorded it first.
        return False
    return True


def handle_event(svc: dict[str, Any], raw: dict[str, Any]) -> bool:
    """Handle one event in its own transaction; False when it was a duplicate."""
    event_id = raw.get("webhookEventId")
    event_id = str(event_id)[:64] if event_id else None
    redelivery = bool((raw.get("deliveryContext") or {}).get("isRedelivery"))
    db, engine = svc["db"], svc["engine"]
    person, chat = _source_ids(raw)
    msg = to_message(raw, f"line:{person}") if person is not None else None
    if msg is not None and msg.kind == "image" and msg.image_id:
        # Download before the transaction: a slow content API must not hold database locks
        # (SQLite's single writer, the conversation row) while other residents wait.
        msg = _with_content(svc, msg)
    with db.session() as session:
        if not _claim_event(session, event_id):
            log.info("webhook event %s already handled (redelivery=%s)", event_id, redelivery)
            return False
        if person is None:
            return True
        if msg is None:
            log.info("webhook event %s of type %s needs no answer", event_id, raw.get("type"))
            return True
        replies = engine.handle_in(session, msg)
        token = raw.get("replyToken")
        if replies and token and chat:
            messages = to_line_messages(replies)
            if messages:
                outbox.enqueue_reply(session, chat, str(token), messages)
    return True


# LINE keeps images up to 10 MB; the services that take photos accept no more.
IMAGE_MAX_BYTES = 10 * 1024 * 1024


def _with_content(svc: dict[str, Any], msg: Message) -> Message:
    try:
        blob, _content_type = svc["line_api"].get_content(msg.image_id, IMAGE_MAX_BYTES)
    except ContentError as exc:
        return replace(msg, content_error=str(exc) or "unavailable")
    return replace(msg, image_bytes=blob)


def _apologize(svc: dict[str, Any], raw: dict[str, Any]) -> bool:
    """A failed event still gets an answer, and is marked handled so it is not redone.
    False when even that could not be written."""
    token = raw.get("replyToken")
    _, chat = _source_ids(raw)
    event_id = raw.get("webhookEventId")
    try:
        with svc["db"].session() as session:
            if not _claim_event(session, str(event_id)[:64] if event_id else None):
                return True
            if token and chat and raw.get("type") in ("message", "postback", "follow"):
                outbox.enqueue_reply(session, chat, str(token), to_line_messages([SORRY]))
        return True
    except Exception:
        log.exception("could not record the failure of webhook event %s", event_id)
        return False
