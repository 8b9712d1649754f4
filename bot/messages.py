"""Channel-neutral messages in and replies out.

Channels translate a LINE event, a web request or a terminal line into a
`Message`; handlers answer with `Reply` objects that each channel renders its
own way. No handler imports the LINE SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MessageKind = Literal["text", "postback", "location", "image", "follow", "sticker", "other"]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    address: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Message:
    user_key: str  # "<channel>:<id>", stable per person and channel
    channel: str  # line | web | console
    kind: MessageKind
    text: str | None = None
    # postback data (LINE postback / web quick reply that carries data)
    data: str | None = None
    location: Location | None = None
    # LINE message id of an image, fetched with the content API when a flow wants it
    image_id: str | None = None
    # the image's bytes: uploaded (web chat) or fetched from LINE before the transaction
    image_bytes: bytes | None = None
    # why a LINE image could not be fetched (the handler says so to the resident)
    content_error: str | None = None

    @property
    def line_user_id(self) -> str | None:
        """The LINE user id when the message came from LINE (for push notifications)."""
        if self.channel == "line":
            return self.user_key.split(":", 1)[1]
        return None


# --- replies -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A quick-reply button.

    action 'message' sends `text` as if typed; 'postback' sends `data` silently
    (showing `text` in the chat when given); 'location', 'camera' and
    'camera_roll' open LINE's pickers (on the web: a location field or a file input).
    """

    label: str
    text: str | None = None
    data: str | None = None
    action: Literal["message", "postback", "location", "camera", "camera_roll", "uri"] = "message"
    uri: str | None = None


@dataclass(frozen=True)
class Text:
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Card:
    """A titled card with a few buttons; a list of them becomes a LINE Flex carousel."""

    title: str
    body: str
    buttons: tuple[Choice, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True)
class Cards:
    alt_text: str
    cards: tuple[Card, ...]
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Place:
    """A point on the map (LINE location message; a map link elsewhere)."""

    title: str
    address: str
    latitude: float
    longitude: float
    choices: tuple[Choice, ...] = ()


Reply = Text | Cards | Place


def with_choices(replies: list[Reply], choices: list[Choice] | tuple[Choice, ...]) -> list[Reply]:
    """Attach quick replies to the last reply (LINE shows only the last message's)."""
    if not replies or not choices:
        return replies
    last = replies[-1]
    from dataclasses import replace

    return [*replies[:-1], replace(last, choices=tuple(choices))]


@dataclass
class Outgoing:
    """Messages for someone other than the sender (notifications), pushed via the outbox."""

    to_user_key: str
    replies: list[Reply] = field(default_factory=list)


# --- media --------------------------------------------------------------------------


def sniff_image(blob: bytes) -> str | None:
    """The image type from its first bytes (JPEG, PNG, WebP, HEIC/HEIF: what phones send), else None.

    One list for every channel and service, so what the web chat accepts a service takes."""
    if blob.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if blob.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(blob) >= 12 and blob[:4] == b"RIFF" and blob[8:12] == b"WEBP":
        return "image/webp"
    if len(blob) >= 12 and blob[4:8] == b"ftyp" and blob[8:12] in (
        b"heic", b"heix", b"hevc", b"hevx", b"heif", b"mif1", b"msf1", b"heim", b"heis",
    ):  # fmt: skip
        return "image/heic"
    return None


# --- serialization (outbox rows, web JSON) ------------------------------------------


def reply_to_dict(reply: Reply) -> dict:
    """A JSON-safe dict of a reply, tagged with its type; `reply_from_dict` reverses it."""
    from dataclasses import asdict

    kind = {Text: "text", Cards: "cards", Place: "place"}[type(reply)]
    return {"type": kind, **asdict(reply)}


def reply_from_dict(d: dict) -> Reply:
    d = dict(d)
    kind = d.pop("type")
    choices = tuple(Choice(**c) for c in d.pop("choices", ()))
    if kind == "text":
        return Text(choices=choices, **d)
    if kind == "cards":
        cards = tuple(
            Card(**{**c, "buttons": tuple(Choice(**b) for b in c.get("buttons", ()))}) for c in d.pop("cards")
        )
        return Cards(cards=cards, choices=choices, **d)
    if kind == "place":
        return Place(choices=choices, **d)
    raise ValueError(f"unknown reply type {kind!r}")
