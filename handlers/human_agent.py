"""轉真人: record the request and tell the resident how and when a person will reach them."""

from __future__ import annotations

from bot.messages import Message, Reply, Text
from bot.models import HumanAgentRequest

from .base import Context, Handler
from .menu import HOTLINE_TEXT, service_choices


class HumanAgentHandler(Handler):
    intents = ("human_agent",)
    flow = "human_agent"

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if ctx.flow == self.flow and ctx.step == "details":
            return self._details(msg, ctx)
        request = HumanAgentRequest(
            user_key=ctx.user_key,
            channel=msg.channel,
            last_text=msg.text if msg.kind == "text" else None,
            created_at=ctx.now,
        )
        ctx.session.add(request)
        ctx.session.flush()
        ctx.begin(self.flow, "details", {"request_id": request.id})
        how = (
            "服務人員會在這個 LINE 對話中回覆您"
            if msg.channel == "line"
            else "服務人員會在這個對話視窗回覆您（請保持頁面開啟）"
        )
        return [
            Text(
                f"好的，已為您通知服務人員（編號 H{request.id}）。\n"
                f"{how}，上班時間（週一至週五 08:00–17:30）通常 30 分鐘內回覆。\n"
                f"急事或下班時間，請直接撥 {HOTLINE_TEXT}。\n\n"
                "您可以先簡單說明問題，服務人員會更快幫上忙；不需要的話請輸入「取消」。"
            )
        ]

    def _details(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if msg.kind != "text" or not (msg.text or "").strip():
            return None
        request = ctx.session.get(HumanAgentRequest, ctx.data.get("request_id"))
        if request is not None:
            details = msg.text.strip()[:2000]
            request.last_text = f"{request.last_text}\n{details}" if request.last_text else details
        ctx.end()
        return [Text("已記下您的說明，服務人員會盡快與您聯繫。還有其他需要嗎？", service_choices())]

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        return [Text("請用文字簡單說明您的問題，或輸入「取消」。")]
