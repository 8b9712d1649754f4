"""Services whose chat flow is not open yet: say so politely and point to 1999."""

from __future__ import annotations

from bot.messages import Message, Reply, Text

from .base import Context, Handler
from .menu import HOTLINE_TEXT, service_choices

PENDING = {
}


class UpcomingHandler(Handler):
    intents = tuple(PENDING)

    def handle(self, msg: Message, ctx: Context) -> list[Reply]:
        intent = ctx.verdict.intent if ctx.verdict else ""
        name, meanwhile = PENDING.get(intent, ("這項服務", ""))
        return [
            Text(
                f"「{name}」的聊天服務即將開放，造成不便敬請見諒。\n{meanwhile}\n需要協助請撥 {HOTLINE_TEXT}。",
                service_choices(),
            )
        ]
