"""想提議: browse and co-sign proposals (proposal_cosign); submit one (proposal_submit)."""

from __future__ import annotations

from bot import proposals as service
from bot.messages import Card, Cards, Choice, Message, Reply, Text

from .base import Context, Handler, button, intent_choice, parse_postback
from .menu import service_choices

COSIGN = "proposal_cosign"
SUBMIT = "proposal_submit"


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProposalCosignHandler(Handler):
    intents = (COSIGN,)
    flow = COSIGN

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        data = parse_postback(msg.data) if msg.kind == "postback" else {}
        action = data.get("p")
        if action == "view":
            return self._view(ctx, data.get("id"))
        if action == "cosign":
            return self._confirm(ctx, data.get("id"))
        if action == "confirm":
            return self._cosign(ctx, data.get("id"))
        if ctx.flow == self.flow and msg.kind == "text":
            return None  # free text while browsing: let the engine place it
        return self._list(ctx)

    def _list(self, ctx: Context) -> list[Reply]:
        items = service.open_proposals(ctx.session, ctx.now, limit=10)
        if not items:
            return [
                Text(
                    "目前沒有開放附議中的提議。您也可以提出自己的想法：經審查後公開附議，"
                    f"{service.COSIGN_DAYS} 天內達 {service.COSIGN_GOAL:,} 人附議即成案。",
                    (intent_choice("我要提議", SUBMIT), *service_choices()[:3]),
                )
            ]
        cards = tuple(
            Card(
                title=_excerpt(p.title, 40),
                body=f"{_excerpt(p.body)}\n{service.progress_text(p, ctx.now)}",
                buttons=(
                    button("看全文", flow=COSIGN, p="view", id=p.id),
                    button("我要附議", flow=COSIGN, p="cosign", id=p.id),
                ),
            )
            for p in items
        )
        return [
            Text(f"以下是附議中的提議（{len(items)} 項），點「我要附議」支持您認同的提議："),
            Cards(alt_text="附議中的提議", cards=cards, choices=(intent_choice("我要提議", SUBMIT),)),
        ]

    def _view(self, ctx: Context, proposal_id: str | None) -> list[Reply]:
        proposal = service.get(ctx.session, proposal_id)
        if proposal is None or proposal.status in ("pending_review", "rejected"):
            return [Text("找不到這項提議，可能已被移除。", (intent_choice("看其他提議", COSIGN),))]
        text = f"【{proposal.title}】\n{proposal.body}\n\n{service.progress_text(proposal, ctx.now)}"
        if proposal.response:
            text += f"\n\n機關回應：{proposal.response}"
        choices: tuple[Choice, ...] = (intent_choice("看其他提議", COSIGN),)
        if proposal.status == "open":
            choices = (
                button("我要附議", flow=COSIGN, p="cosign", id=proposal.id),
                *choices,
            )
        return [Text(text, choices)]

    def _confirm(self, ctx: Context, proposal_id: str | None) -> list[Reply]:
        proposal = service.get(ctx.session, proposal_id)
        if proposal is None or proposal.status != "open":
            return [Text("這項提議目前無法附議。", (intent_choice("看其他提議", COSIGN),))]
        if service.has_cosigned(ctx.session, proposal.id, ctx.user_key):
            return [
                Text(
                    f"您已附議過「{proposal.title}」，謝謝您的支持！", (intent_choice("看其他提議", COSIGN),)
                )
            ]
        return [
            Text(
                f"確定要附議「{proposal.title}」嗎？每人每項提議限附議一次，送出後無法撤回。",
                (
                    button("確定附議", flow=COSIGN, p="confirm", id=proposal.id),
                    button("先不要", cmd="cancel"),
                ),
            )
        ]

    def _cosign(self, ctx: Context, proposal_id: str | None) -> list[Reply]:
        proposal = service.get(ctx.session, proposal_id)
        if proposal is None:
            return [Text("找不到這項提議，可能已被移除。")]
        try:
            result = service.cosign(ctx.session, proposal.id, ctx.user_key, ctx.now)
        except service.ProposalError as e:
            return [Text(e.message, (intent_choice("看其他提議", COSIGN),))]
        more = (intent_choice("看其他提議", COSIGN),)
        if result.already:
            return [Text(f"您已附議過「{proposal.title}」，謝謝您的支持！", more)]
        text = f"已完成附議「{proposal.title}」，目前 {result.proposal.cosign_count:,} 人附議。"
        if result.just_passed:
            text += f"\n這項提議已達 {service.COSIGN_GOAL:,} 人而成案，將由主管機關回應。"
        return [Text(text, more)]

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        ctx.end()
        return self._list(ctx)


class ProposalSubmitHandler(Handler):
    intents = (SUBMIT,)
    flow = SUBMIT

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        data = parse_postback(msg.data) if msg.kind == "postback" else {}
        if data.get("p") == "mine":
            return self._mine(ctx)
        if ctx.flow != self.flow:
            ctx.begin(self.flow, "title")
            return [
                Text(
                    "歡迎提出您對市政的建議！流程：寫下標題與內容 → 市府審查 → 公開附議 "
                    f"{service.COSIGN_DAYS} 天，達 {service.COSIGN_GOAL:,} 人附議即成案，由主管機關回應是否採納。\n\n"
                    f"請先輸入提議的標題（{service.TITLE_LIMITS[0]}–{service.TITLE_LIMITS[1]} 字），"
                    "例如：「增設鳳山區公共自行車站」。",
                    (
                        button("我的提議", flow=SUBMIT, p="mine"),
                        button("取消", cmd="cancel"),
                    ),
                )
            ]
        if ctx.step == "confirm":
            return self._confirm(msg, data, ctx)
        if msg.kind != "text":
            return None
        try:
            if ctx.step == "title":
                title = service.check_title(msg.text or "")
                ctx.goto("body", title=title)
                return [
                    Text(
                        f"標題：「{title}」\n接著請說明內容（{service.BODY_LIMITS[0]}–{service.BODY_LIMITS[1]} 字）："
                        "現況與問題、建議的做法、預期效益。"
                    )
                ]
            if ctx.step == "body":
                body = service.check_body(msg.text or "")
                ctx.goto("confirm", body=body)
                return self._summary(ctx)
        except service.ProposalError as e:
            return [Text(e.message + "\n（輸入「取消」可離開）")]
        return None

    def _summary(self, ctx: Context) -> list[Reply]:
        return [
            Text(
                f"請確認您的提議：\n【{ctx.data['title']}】\n{ctx.data['body']}",
                (
                    button("確認送出", flow=SUBMIT, p="send"),
                    button("重寫", flow=SUBMIT, p="redo"),
                    button("取消", cmd="cancel"),
                ),
            )
        ]

    def _confirm(self, msg: Message, data: dict, ctx: Context) -> list[Reply] | None:
        answer = data.get("p") or {"確認送出": "send", "確認": "send", "送出": "send", "重寫": "redo"}.get(
            (msg.text or "").strip()
        )
        if answer == "redo":
            ctx.goto("title")
            return [Text("好的，請重新輸入提議的標題：")]
        if answer != "send":
            return None
        proposal = service.submit(ctx.session, ctx.user_key, ctx.data["title"], ctx.data["body"], ctx.now)
        ctx.end()
        return [
            Text(
                f"已收到您的提議（編號 {proposal.id}）！市府將於 7 個工作天內完成審查，結果會通知您；"
                "通過後即開放附議。",
                (
                    button("我的提議", flow=SUBMIT, p="mine"),
                    *service_choices()[:2],
                ),
            )
        ]

    def _mine(self, ctx: Context) -> list[Reply]:
        items = service.mine(ctx.session, ctx.user_key)
        if not items:
            return [Text("您還沒有提出過提議。", (intent_choice("我要提議", SUBMIT),))]
        lines = [f"・{p.id}「{_excerpt(p.title, 30)}」{service.progress_text(p, ctx.now)}" for p in items]
        return [Text("您的提議：\n" + "\n".join(lines), (intent_choice("看附議中的提議", COSIGN),))]

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        if ctx.step == "confirm":
            return self._summary(ctx)
        if ctx.step == "body":
            return [Text("請用文字說明提議的內容，或輸入「取消」。")]
        return [Text("請用文字輸入提議的標題，或輸入「取消」。")]
