"""The conversation engine: one message in, replies out, state in the database.

Order of precedence for a message:
1. follow / sticker / unsupported media;
2. global commands at any step (取消, 選單, 轉真人) and menu postbacks;
3. the active flow, if any (it may decline the input, see `Handler.handle`);
4. the matcher: answer, ask which of two close intents, or the staged fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import Database
from bot.messages import Message, Reply, Text
from bot.models import Conversation, MessageLog
from handlers import Context, Registry, parse_postback
from handlers import menu as menu_replies
from handlers.base import ContentFetcher, Notifier
from intents import MatcherProvider, Verdict
from intents.normalize import fold

log = logging.getLogger(__name__)

CANCEL_WORDS = {"取消", "算了", "不要了", "結束", "離開", "cancel", "quit", "exit", "stop"}
MENU_WORDS = {"選單", "主選單", "功能表", "服務選單", "menu", "help", "幫助", "開始", "start"}
HUMAN_WORDS = {"轉真人", "真人", "找真人", "真人客服", "人工客服", "客服人員", "轉接專人", "專人", "agent", "human"}

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        db: Database,
        registry: Registry,
        matchers: MatcherProvider,
        settings: Settings,
        notify: Notifier,
        clock: Clock = _utcnow,
        fetch_content: ContentFetcher | None = None,
    ):
        self.db = db
        self.registry = registry
        self.matchers = matchers
        self.settings = settings
        self.notify = notify
        self.clock = clock
        self.fetch_content = fetch_content

    # --- public --------------------------------------------------------------
    def handle(self, msg: Message) -> list[Reply]:
        """One message as one unit of work (web chat, terminal)."""
        with self.db.session() as session:
            return self.handle_in(session, msg)

    def handle_in(self, session: Session, msg: Message) -> list[Reply]:
        """One message inside a transaction the caller commits (the LINE webhook
        adds its event id and the reply to the same transaction)."""
        now = self.clock()
        conversation = self._conversation(session, msg.user_key)
        prefix: list[Reply] = []
        if conversation.flow and conversation.expires_at and conversation.expires_at <= now:
            prefix.append(menu_replies.expired_note())
            conversation.flow = conversation.step = None
            conversation.data = {}
            conversation.expires_at = None
        ctx = Context(
            session=session,
            conversation=conversation,
            settings=self.settings,
            now=now,
            matcher=self.matchers.get(session),
            notify_fn=self.notify,
            fetch_content=self.fetch_content,
        )
        replies = self._dispatch(msg, ctx)
        conversation.updated_at = now
        return prefix + replies

    # --- dispatch ------------------------------------------------------------
    def _dispatch(self, msg: Message, ctx: Context) -> list[Reply]:
        if msg.kind == "follow":
            ctx.end()
            return menu_replies.welcome()
        if msg.kind == "sticker":
            return menu_replies.sticker_nudge()

        if msg.kind == "postback":
            data = parse_postback(msg.data)
            if "cmd" in data:
                return self._command(data["cmd"], msg, ctx)
            target = data.get("intent") or data.get("pick")
            if target:
                if data.get("pick"):
                    self._resolve_log(ctx, data.get("q"), picked=target)
                return self._start(target, msg, ctx, verdict=None)
            # A button addressed to one service (a card's 附議, a booking's 取消…) reaches it
            # even when another flow, or none, is active: buttons outlive flows.
            addressed = self.registry.for_flow(data.get("flow", ""))
            if addressed is not None:
                ctx.conversation.misses = 0
                replies = addressed.handle(msg, ctx)
                return replies if replies is not None else addressed.reprompt(msg, ctx)

        if msg.kind == "text":
            word = fold(msg.text or "")
            if word in CANCEL_WORDS:
                return self._command("cancel", msg, ctx)
            if word in MENU_WORDS:
                return self._command("menu", msg, ctx)
            if word in HUMAN_WORDS:
                return self._start("human_agent", msg, ctx, verdict=None)

        if ctx.flow:
            handler = self.registry.for_flow(ctx.flow)
            if handler is None:  # a flow from an older release: start over
                ctx.end()
            else:
                replies = handler.handle(msg, ctx)
                if replies is not None:
                    ctx.conversation.misses = 0
                    # Answers inside a flow are names, phone numbers, addresses: the flow's own
                    # tables keep what the service needs, the log keeps no copy.
                    self._log(ctx, msg, None, keep_text=False)
                    return replies
                # The flow declined the input: a clear request for another service wins.
                if msg.kind == "text":
                    verdict = ctx.matcher.match(msg.text or "")
                    other = self.registry.for_intent(verdict.intent)
                    elsewhere = other is not None and other is not handler
                    switch = verdict.decision == "answer" and elsewhere
                    ask = verdict.decision == "clarify" and elsewhere
                    entry = self._log(ctx, msg, verdict, keep_text=switch or ask)
                    if switch:
                        ctx.end()
                        return self._run(other, verdict.intent, msg, ctx, verdict)
                    if ask:
                        # Another service, asked about: its buttons start it; anything else
                        # typed goes on with this flow, which stays where it was.
                        return self._clarify(ctx, verdict, entry)
                return handler.reprompt(msg, ctx)

        if msg.kind == "location" and msg.location is not None:
            return menu_replies.location_without_flow(msg.location)
        if msg.kind == "image":
            return menu_replies.image_without_flow()
        if msg.kind != "text" or not (msg.text or "").strip():
            return menu_replies.unsupported_media()

        verdict = ctx.matcher.match(msg.text or "")
        entry = self._log(ctx, msg, verdict)
        if verdict.decision == "answer":
            return self._start(verdict.intent, msg, ctx, verdict)
        if verdict.decision == "clarify":
            return self._clarify(ctx, verdict, entry)
        if verdict.elsewhere and (local := self.registry.for_intent(verdict.elsewhere)) is not None:
            if (replies := local.elsewhere(ctx)) is not None:
                return replies
        return self._miss(ctx, verdict, entry)

    def _clarify(self, ctx: Context, verdict: Verdict, entry: MessageLog) -> list[Reply]:
        """Which one was meant: the verdict's intent and its two runners-up as buttons."""
        options = [verdict.intent, *(i for i, _ in verdict.alternatives[:2])]
        return menu_replies.clarify(self._titled(ctx, options), entry.id)

    def _command(self, cmd: str, msg: Message, ctx: Context) -> list[Reply]:
        if cmd == "cancel":
            had_flow = ctx.flow is not None
            ctx.end()
            ctx.conversation.misses = 0
            return menu_replies.cancelled(had_flow)
        if cmd == "none":  # 都不是: the question stays unanswered; ask to rephrase
            self._resolve_log(ctx, parse_postback(msg.data).get("q"), picked=None)
            ctx.conversation.misses = max(ctx.conversation.misses or 0, 1)
            return self._miss(ctx)
        ctx.end()
        ctx.conversation.misses = 0
        return menu_replies.menu()

    def _start(self, intent_id: str, msg: Message, ctx: Context, verdict: Verdict | None) -> list[Reply]:
        handler = self.registry.for_intent(intent_id)
        if handler is None or (intent_id.startswith("faq.") and intent_id not in ctx.matcher.intents):
            return self._miss(ctx)
        if verdict is None or verdict.intent != intent_id:
            # Started from a button (a verdict of certainty) or a typed command. A button's
            # label is ours, not the resident's words: slots come only from typed text.
            slots = ctx.matcher.match(msg.text).slots if msg.text and msg.kind == "text" else {}
            verdict = Verdict(msg.text or "", "", intent_id, 100.0, "answer", slots)
        # A bare `intent=X` button (the menu) starts X afresh. One that carries arguments
        # (`intent=X&a=dates&s=…`) is a step inside X: the flow X keeps its state.
        fields = parse_postback(msg.data) if msg.kind == "postback" else {}
        inside = handler.flow is not None and ctx.flow == handler.flow and len(fields) > 1 and "intent" in fields
        if not inside:
            ctx.end()
        return self._run(handler, intent_id, msg, ctx, verdict)

    def _run(self, handler, intent_id: str, msg: Message, ctx: Context, verdict: Verdict) -> list[Reply]:
        ctx.verdict = verdict
        ctx.conversation.misses = 0
        replies = handler.handle(msg, ctx)
        return replies if replies is not None else handler.reprompt(msg, ctx)

    def _miss(self, ctx: Context, verdict: Verdict | None = None, entry: MessageLog | None = None) -> list[Reply]:
        """Staged fallback: first the closest services to pick from (or the menu), then a
        request to rephrase, then the offer of a person and 1999."""
        ctx.conversation.misses = (ctx.conversation.misses or 0) + 1
        if ctx.conversation.misses == 1 and verdict is not None and verdict.alternatives:
            options = [i for i, _ in verdict.alternatives[:3]]
            return menu_replies.suggest(self._titled(ctx, options), entry.id if entry else None)
        return menu_replies.fallback(ctx.conversation.misses)

    @staticmethod
    def _titled(ctx: Context, intent_ids: list[str]) -> list[tuple[str, str]]:
        return [(ctx.matcher.intents[i].title, i) for i in intent_ids if i in ctx.matcher.intents]

    # --- state and log ---------------------------------------------------------
    def _conversation(self, session: Session, user_key: str) -> Conversation:
        stmt = select(Conversation).where(Conversation.user_key == user_key)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # Two messages of one user in two workers: the second waits for the first.
            stmt = stmt.with_for_update()
        conversation = session.scalar(stmt)
        if conversation is not None:
            return conversation
        conversation = Conversation(user_key=user_key, data={}, misses=0)
        try:
            with session.begin_nested():
                session.add(conversation)
        except IntegrityError:  # created concurrently by another worker
            conversation = session.scalar(stmt)
            assert conversation is not None
        return conversation

    def _resolve_log(self, ctx: Context, log_id: str | None, picked: str | None) -> None:
        """Record on the original message what the resident chose: an intent, or 都不是."""
        try:
            entry = ctx.session.get(MessageLog, int(log_id or ""))
        except ValueError:
            return
        if entry is None or entry.user_key != ctx.user_key:
            return
        if picked is None:
            entry.decision = "none_of_these"
        else:
            entry.decision = "picked"
            entry.intent = picked

    def _log(self, ctx: Context, msg: Message, verdict: Verdict | None, keep_text: bool = True) -> MessageLog:
        entry = MessageLog(
            user_key=msg.user_key,
            channel=msg.channel,
            kind=msg.kind,
            text=((msg.text or "")[:2000] or None) if keep_text else None,
            created_at=ctx.now,
        )
        if verdict is not None:
            entry.normalized = verdict.normalized[:2000] if keep_text else None
            entry.intent = verdict.intent
            entry.score = verdict.score
            entry.decision = verdict.decision
            entry.candidates = [{"intent": i, "score": round(s, 1)} for i, s in verdict.alternatives]
        ctx.session.add(entry)
        ctx.session.flush()  # the id goes into the 都不是 button
        return entry


def text_of(replies: list[Reply]) -> str:
    """All reply texts joined; handy for logs and the terminal channel."""
    return "\n".join(r.text for r in replies if isinstance(r, Text))
