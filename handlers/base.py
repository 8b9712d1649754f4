"""What every handler gets and returns, and the registry that maps intents to handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.messages import Choice, Message, Reply
from bot.models import Conversation
from intents import Matcher, Verdict

Notifier = Callable[[Session, str, list[Reply]], None]
# Downloads a LINE message's content: (message id, max bytes) -> (bytes, content type).
# Raises ContentError when the content is unavailable, too large or the API fails.
ContentFetcher = Callable[[str, int], tuple[bytes, str]]


class ContentError(Exception):
    """A message's content could not be fetched (too large, gone, API down)."""


def postback(**fields: Any) -> str:
    """Postback data as a query string (LINE allows 300 characters).

    Reserved keys the engine reads: cmd (cancel/menu/none), intent and pick (start an
    intent), flow (deliver to that flow's handler even when no flow is active)."""
    data = urlencode({k: v for k, v in fields.items() if v is not None})
    if len(data) > 300:
        raise ValueError(f"postback data over 300 characters: {data[:40]}…")
    return data


def parse_postback(data: str | None) -> dict[str, str]:
    return dict(parse_qsl(data or "", keep_blank_values=True))


def button(label: str, **fields: Any) -> Choice:
    """A quick reply or card button sending `fields` as postback data, its label shown in the
    chat. Labels are cut to LINE's 20 characters."""
    return Choice(label=label[:20], text=label[:20], data=postback(**fields), action="postback")


def intent_choice(label: str, intent: str) -> Choice:
    """A quick reply that starts an intent directly, showing its label in the chat."""
    return button(label, intent=intent)


@dataclass
class Context:
    session: Session
    conversation: Conversation
    settings: Settings
    now: datetime
    matcher: Matcher
    notify_fn: Notifier
    # The verdict that started this handler; None when a flow resumes.
    verdict: Verdict | None = None
    fetch_content: ContentFetcher | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # --- flow state --------------------------------------------------------
    @property
    def flow(self) -> str | None:
        return self.conversation.flow

    @property
    def step(self) -> str | None:
        return self.conversation.step

    @property
    def data(self) -> dict[str, Any]:
        return self.conversation.data or {}

    def begin(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.conversation.flow = flow
        self.conversation.step = step
        self.conversation.data = dict(data or {})
        self._touch()

    def goto(self, step: str, **updates: Any) -> None:
        self.conversation.step = step
        # Assign a new dict: in-place mutation of a JSON column is not tracked.
        self.conversation.data = {**self.data, **updates}
        self._touch()

    def end(self) -> None:
        self.conversation.flow = None
        self.conversation.step = None
        self.conversation.data = {}
        self.conversation.expires_at = None

    def _touch(self) -> None:
        self.conversation.expires_at = self.now + timedelta(seconds=self.settings.conversation_ttl)

    # --- side effects --------------------------------------------------------
    @property
    def user_key(self) -> str:
        return self.conversation.user_key

    def image_bytes(self, msg: Message, max_bytes: int) -> tuple[bytes, str]:
        """The image a message carries: uploaded bytes (web) or LINE content (fetched)."""
        if msg.content_error is not None:
            raise ContentError(msg.content_error)
        if msg.image_bytes is not None:
            if len(msg.image_bytes) > max_bytes:
                raise ContentError("too large")
            return msg.image_bytes, "application/octet-stream"
        if msg.image_id and self.fetch_content is not None:
            return self.fetch_content(msg.image_id, max_bytes)
        raise ContentError("no image content available")

    def notify(self, user_key: str, replies: list[Reply]) -> None:
        """Push to a user (not the sender) through the outbox, in this transaction."""
        self.notify_fn(self.session, user_key, replies)


class Handler:
    """One service. `handle` answers a message; flows keep state through `ctx`.

    intents: the intent ids this handler starts on; intent_prefix: a family such as "faq.".
    flow: the name under which its multi-turn state is stored, if it has one.
    """

    intents: ClassVar[tuple[str, ...]] = ()
    intent_prefix: ClassVar[str | None] = None
    flow: ClassVar[str | None] = None

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        """Answer. Inside a flow, None means "this input is not for me": the engine
        then tries the matcher and, failing that, calls `reprompt`."""
        raise NotImplementedError

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        """Ask again for what the current step needs."""
        raise NotImplementedError

    def elsewhere(self, ctx: Context) -> list[Reply] | None:
        """The answer to a request for this service about another city (Verdict.elsewhere);
        None: the ordinary fallback."""
        return None


class Registry:
    """Ordered, explicit intent → handler map; refuses duplicates."""

    def __init__(self) -> None:
        self._by_intent: dict[str, Handler] = {}
        self._by_prefix: dict[str, Handler] = {}
        self._by_flow: dict[str, Handler] = {}

    def register(self, handler: Handler) -> Handler:
        for intent_id in handler.intents:
            if intent_id in self._by_intent:
                raise ValueError(f"intent {intent_id!r} already has a handler")
            self._by_intent[intent_id] = handler
        if handler.intent_prefix:
            if handler.intent_prefix in self._by_prefix:
                raise ValueError(f"prefix {handler.intent_prefix!r} already has a handler")
            self._by_prefix[handler.intent_prefix] = handler
        if handler.flow:
            if handler.flow in self._by_flow:
                raise ValueError(f"flow {handler.flow!r} already has a handler")
            self._by_flow[handler.flow] = handler
        return handler

    def for_intent(self, intent_id: str) -> Handler | None:
        if intent_id in self._by_intent:
            return self._by_intent[intent_id]
        for prefix, handler in self._by_prefix.items():
            if intent_id.startswith(prefix):
                return handler
        return None

    def for_flow(self, flow: str) -> Handler | None:
        return self._by_flow.get(flow)

    @property
    def intent_ids(self) -> list[str]:
        return list(self._by_intent)
