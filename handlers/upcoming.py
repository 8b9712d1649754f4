"""Services whose chat flow is not open yet: say so politely and point to 1999."""

from __future__ import annotations

from bot.messages import Message, Reply, Text

from .base import Context, Handler
from .menu import HOTLINE_TEXT, service_choices

PENDING = {
    "dispatch_report": ("路面通報", "路面坑洞、路燈、號誌或路樹問題，請撥 1999 通報，由專人立即派工。"),
    "petition_status": ("案件查詢", "市長信箱案件可至 https://soweb.kcg.gov.tw/#/query 以案號及 email 查詢。"),
    "legal_consultation": ("法律諮詢", "免費法律諮詢可洽聯合服務中心 07-3373686。"),
    "sign_language_video": ("手語視訊", "聽障朋友可使用 1999 手語視訊 LINE 服務，或以文字留言給我們。"),
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
