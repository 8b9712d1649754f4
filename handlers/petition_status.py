"""案件查詢 (`petition_status`): a resident's own cases without a code; anyone else's
with the case number and its verification code. Unknown numbers and wrong codes get
the same answer; 5 failures in 15 minutes and the user is asked to wait."""

from __future__ import annotations

import math

from bot import cases
from bot.messages import Message, Reply, Text
from bot.models import CaseFollower
from intents.normalize import fold
from intents.slots import CASE_NUMBER, extract_case_number

from .base import Context, Handler

FLOW = "petition_status"
NOT_FOUND = "查無此案件，或驗證碼不正確。請確認案號與驗證碼後再試一次。"
FOREIGN = (
    "這看起來是 1999 或市長信箱的案號，請至 https://soweb.kcg.gov.tw/#/query 以案號及 email 查詢，"
    "或撥 1999 詢問。本服務的案號格式如 D2026-000123。"
)


def _ask_number() -> Text:
    return Text(
        "請輸入案號（例如 D2026-000123）。查詢他人通報的案件，請一併輸入驗證碼，例如「D2026-000123 K7P2QX」。"
    )


class PetitionStatusHandler(Handler):
    intents = ("petition_status",)
    flow = FLOW

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if ctx.flow != FLOW:
            number = (ctx.verdict.slots.get("case_number") if ctx.verdict else None) or self._number(msg)
            ctx.begin(FLOW, "ask")
            if number:
                return self._lookup(ctx, number, cases.extract_code(msg.text or "", number))
            return self._own(ctx)
        if msg.kind != "text":
            return None
        text = msg.text or ""
        number = self._number(msg)
        if ctx.step == "code" and not number:
            code = cases.extract_code(text)
            if code is None:
                return [Text(f"驗證碼是 {cases.CODE_LENGTH} 碼英文與數字，請再輸入一次（或輸入「取消」）。")]
            return self._lookup(ctx, ctx.data.get("number", ""), code)
        if number is None:
            return None
        return self._lookup(ctx, number, cases.extract_code(text, number))

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        if ctx.step == "code":
            return [Text(f"請輸入案件 {ctx.data.get('number')} 的驗證碼（{cases.CODE_LENGTH} 碼）。")]
        return [_ask_number()]

    def elsewhere(self, ctx: Context) -> list[Reply]:
        # 新北市的陳情案件進度要怎麼查: another city's case is that city's to look up.
        return [
            Text(
                "這裡只能查詢高雄市政府受理的陳情與通報案件。其他縣市的案件，請向該縣市政府查詢"
                "（各地 1999 專線或首長信箱）。\n"
                "若要查高雄市的案件，請輸入案號與驗證碼（例如「D2026-000123 K7P2QX」）。"
            )
        ]

    @staticmethod
    def _number(msg: Message) -> str | None:
        return extract_case_number(fold(msg.text or "")) if msg.kind == "text" and msg.text else None

    def _own(self, ctx: Context) -> list[Reply]:
        own = cases.cases_of(ctx.session, ctx.user_key, limit=5)
        if not own:
            return [Text("目前沒有您通報的案件紀錄。"), _ask_number()]
        blocks = [cases.case_summary(ctx.session, c, ctx.now) for c in own]
        return [
            Text("您的案件（最新在前）：\n\n" + "\n\n".join(blocks)),
            Text(
                "查詢其他案件，請輸入案號與驗證碼（例如「D2026-000123 K7P2QX」），或輸入「選單」回到服務選單。"
            ),
        ]

    def _lookup(self, ctx: Context, number: str, code: str | None) -> list[Reply]:
        if not CASE_NUMBER.fullmatch(number.lower()):
            ctx.end()
            return [Text(FOREIGN)]
        number = number.upper()
        # Failures count per person and per case number: a new web session (a new
        # person to us) gets no fresh tries at the same case's code.
        guard = (ctx.user_key, f"case:{number}")
        wait = max(
            (w for w in (cases.lookup_locked(ctx.session, key, ctx.now) for key in guard) if w is not None),
            default=None,
        )
        case = cases.get_case(ctx.session, number)
        if case is not None and self._mine(ctx, case):
            ctx.end()
            return [Text(cases.case_summary(ctx.session, case, ctx.now))]
        if wait is not None:
            ctx.end()
            return [Text(f"查詢失敗次數過多，請 {max(1, math.ceil(wait.total_seconds() / 60))} 分鐘後再試。")]
        if code is None:
            # Same question whether or not the number exists.
            ctx.goto("code", number=number)
            return [
                Text(
                    f"查詢他人通報的案件需要驗證碼。請輸入案件 {number} 的驗證碼（{cases.CODE_LENGTH} 碼）。"
                )
            ]
        if cases.code_matches(case, code):
            ctx.end()
            assert case is not None
            return [Text(cases.case_summary(ctx.session, case, ctx.now))]
        for key in guard:
            cases.record_lookup_failure(ctx.session, key, ctx.now)
        ctx.goto("ask", number=None)
        if any(cases.lookup_locked(ctx.session, key, ctx.now) is not None for key in guard):
            ctx.end()
            return [
                Text(NOT_FOUND + f"\n查詢失敗次數過多，請 {cases.LOCKOUT_WINDOW.seconds // 60} 分鐘後再試。")
            ]
        return [Text(NOT_FOUND)]

    @staticmethod
    def _mine(ctx: Context, case) -> bool:
        if case.reporter_key == ctx.user_key:
            return True
        return ctx.session.get(CaseFollower, (case.id, ctx.user_key)) is not None
