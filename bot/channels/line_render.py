"""Channel-neutral replies -> LINE message JSON, inside LINE's limits.

The output is plain dicts as the Messaging API takes them (the outbox stores
them; `bot.line_api` turns them into SDK objects). Limits enforced here:
5 messages a reply, 13 quick-reply items, 20-character labels, 5,000-character
texts, 12 bubbles a carousel, 300-character postback data and action texts,
400-character altText, 100-character location title and address.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.messages import Card, Cards, Choice, Place, Reply, Text

log = logging.getLogger(__name__)

MAX_MESSAGES = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_TEXT = 5000
MAX_BUBBLES = 12
MAX_DATA = 300
MAX_ALT_TEXT = 400
MAX_LOCATION_FIELD = 100
# Flex bubbles are capped at 30 KB of JSON; a card is a short summary anyway.
MAX_CARD_BODY = 1000
MAX_CARD_TITLE = 100
MAX_CARD_BUTTONS = 4
# LINE accepts these URI schemes in actions.
URI_SCHEMES = ("http://", "https://", "line://", "tel:", "mailto:")

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Long text in pieces of at most `limit`, cut at line ends where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut == -1:
            cut = limit
            pieces.append(rest[:cut])
            rest = rest[cut:]
        else:
            pieces.append(rest[:cut])
            rest = rest[cut + 1 :]
    if rest:
        pieces.append(rest)
    return pieces


# --- actions --------------------------------------------------------------------------


def action(choice: Choice, *, in_flex: bool = False) -> dict[str, Any] | None:
    """A LINE action for a choice, or None when it cannot be expressed within limits."""
    label = clip(choice.label.strip() or (choice.text or "").strip() or "選擇", MAX_LABEL)
    kind = choice.action
    if in_flex and kind in ("location", "camera", "camera_roll"):
        # Pickers exist only in quick replies; in a card the button says it in words.
        kind = "message"
    if kind == "message":
        return {"type": "message", "label": label, "text": clip(choice.text or choice.label, MAX_DATA)}
    if kind == "postback":
        data = choice.data or ""
        if not data or len(data) > MAX_DATA:
            log.warning("choice %r dropped: postback data of %d characters", label, len(data))
            return None
        out: dict[str, Any] = {"type": "postback", "label": label, "data": data}
        if choice.text:
            out["displayText"] = clip(choice.text, MAX_DATA)
        return out
    if kind == "location":
        return {"type": "location", "label": label}
    if kind == "camera":
        return {"type": "camera", "label": label}
    if kind == "camera_roll":
        return {"type": "cameraRoll", "label": label}
    if kind == "uri":
        uri = choice.uri or ""
        if not uri.startswith(URI_SCHEMES) or len(uri) > 1000:
            log.warning("choice %r dropped: unusable uri", label)
            return None
        return {"type": "uri", "label": label, "uri": uri}
    log.warning("choice %r dropped: unknown action %r", label, kind)
    return None


def quick_reply(choices: tuple[Choice, ...] | list[Choice]) -> dict[str, Any] | None:
    items = []
    for choice in choices:
        act = action(choice)
        if act is not None:
            items.append({"type": "action", "action": act})
    if len(items) > MAX_QUICK_REPLIES:
        log.warning("quick replies trimmed from %d to %d", len(items), MAX_QUICK_REPLIES)
        items = items[:MAX_QUICK_REPLIES]
    return {"items": items} if items else None


# --- messages -------------------------------------------------------------------------


def _text_messages(reply: Text) -> list[dict[str, Any]]:
    text = reply.text.strip("\n")
    if not text.strip():
        # LINE refuses empty text; a bare set of choices still needs words.
        return [{"type": "text", "text": "請選擇："}] if reply.choices else []
    return [{"type": "text", "text": piece} for piece in split_text(text)]


def _bubble(card: Card) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if card.title.strip():
        body.append(
            {
                "type": "text",
                "text": clip(card.title.strip(), MAX_CARD_TITLE),
                "weight": "bold",
                "size": "lg",
                "wrap": True,
            }
        )
    if card.body.strip():
        body.append(
            {
                "type": "text",
                "text": clip(card.body.strip(), MAX_CARD_BODY),
                "size": "sm",
                "wrap": True,
                "color": "#555555",
            }
        )
    if not body:
        body.append({"type": "text", "text": "（無內容）", "size": "sm"})
    bubble: dict[str, Any] = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }
    if card.image_url and card.image_url.startswith("https://") and len(card.image_url) <= 2000:
        bubble["hero"] = {
            "type": "image",
            "url": card.image_url,
            "size": "full",
            "aspectRatio": "20:13",
            "aspectMode": "cover",
        }
    buttons = []
    for choice in card.buttons[:MAX_CARD_BUTTONS]:
        act = action(choice, in_flex=True)
        if act is not None:
            buttons.append({"type": "button", "style": "link", "height": "sm", "action": act})
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}
    return bubble


def _cards_messages(reply: Cards) -> list[dict[str, Any]]:
    if not reply.cards:
        return []
    alt = reply.alt_text.strip() or reply.cards[0].title.strip() or "資訊卡片"
    messages = []
    for start in range(0, len(reply.cards), MAX_BUBBLES):
        chunk = reply.cards[start : start + MAX_BUBBLES]
        messages.append(
            {
                "type": "flex",
                "altText": clip(alt, MAX_ALT_TEXT),
                "contents": {"type": "carousel", "contents": [_bubble(c) for c in chunk]},
            }
        )
    return messages


def _place_messages(reply: Place) -> list[dict[str, Any]]:
    return [
        {
            "type": "location",
            "title": clip(reply.title.strip() or "位置", MAX_LOCATION_FIELD),
            "address": clip(reply.address.strip() or reply.title.strip() or "位置", MAX_LOCATION_FIELD),
            "latitude": float(reply.latitude),
            "longitude": float(reply.longitude),
        }
    ]


def _render_one(reply: Reply) -> list[dict[str, Any]]:
    if isinstance(reply, Text):
        return _text_messages(reply)
    if isinstance(reply, Cards):
        return _cards_messages(reply)
    if isinstance(reply, Place):
        return _place_messages(reply)
    raise TypeError(f"cannot render {type(reply).__name__} for LINE")


def _merge_texts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join neighbouring text messages while each stays within the text limit."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev["type"] == "text"
            and message["type"] == "text"
            and len(prev["text"]) + 2 + len(message["text"]) <= MAX_TEXT
        ):
            merged[-1] = {**prev, "text": prev["text"] + "\n\n" + message["text"]}
        else:
            merged.append(message)
    return merged


def to_line_messages(replies: list[Reply]) -> list[dict[str, Any]]:
    """LINE message objects for one reply (or push): at most five, quick replies on the last."""
    messages: list[dict[str, Any]] = []
    for reply in replies:
        messages.extend(_render_one(reply))
    if len(messages) > MAX_MESSAGES:
        messages = _merge_texts(messages)
    if len(messages) > MAX_MESSAGES:
        log.warning("reply trimmed from %d to %d messages", len(messages), MAX_MESSAGES)
        messages = messages[:MAX_MESSAGES]
        last = messages[-1]
        if last["type"] == "text":
            note = "\n（內容較多，其餘部分已省略，請點選選單或撥打 1999 查詢。）"
            messages[-1] = {**last, "text": clip(last["text"], MAX_TEXT - len(note)) + note}
    # LINE shows only the last message's quick replies: use the last choices offered.
    choices = next((r.choices for r in reversed(replies) if r.choices), ())
    if messages and choices:
        qr = quick_reply(choices)
        if qr is not None:
            messages[-1] = {**messages[-1], "quickReply": qr}
    return messages
