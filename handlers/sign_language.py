"""手語視訊: ask for a sign-language video session in text; queue now or pick a time.

Short plain sentences and buttons only: the people using this cannot hear, so
nothing here says "call" or relies on sound. Buttons carry their full state.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import video
from bot.messages import Choice, Message, Reply, Text
from bot.video import TZ, VideoError

from .base import Context, Handler, button, parse_postback

INTENT = "sign_language_video"
TOPIC_WORDS = {
    "詢問": "inquiry",
    "問題": "inquiry",
    "陳情": "petition",
    "通報": "dispatch",
    "報修": "dispatch",
}
SKIP = {"略過", "跳過", "不用", "沒有"}
PAGE = 12


def _pb(label: str, **fields: str) -> Choice:
    return button(label, intent=INTENT, **fields)


class SignLanguageHandler(Handler):
    intents = (INTENT,)
    flow = "sign_language"

    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if msg.kind == "postback":
            data = parse_postback(msg.data)
            if data.get("intent") == INTENT and data.get("a"):
                return self._action(data, msg, ctx)
        if ctx.flow == self.flow:
            return self._typed(msg, ctx)
        return self._intro(ctx)

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        if ctx.step == "topic":
            return [self._topic_prompt(ctx.data.get("m", "now"), ctx.data.get("at"))]
        return self._intro(ctx)

    # --- screens -----------------------------------------------------------------
    def _intro(self, ctx: Context) -> list[Reply]:
        current = video.active_request(ctx.session, ctx.user_key)
        if current is not None:
            return [self._status(ctx, current)]
        ctx.begin(self.flow, "mode")
        cfg = video.config()
        open_now = video.in_hours(ctx.now)
        when = (
            "現在是服務時間。"
            if open_now
            else f"現在不是服務時間，可以先排隊，{video.fmt(video.next_opening(ctx.now))} 起依序聯絡您。"
        )
        return [
            Text(
                "您好，這是 1999 手語視訊服務。\n"
                "手語翻譯員用視訊幫您詢問、陳情或通報。\n"
                f"服務時間：{cfg.hours_text}\n{when}\n"
                "請選擇：",
                (_pb("現在排隊", a="now"), _pb("預約時段", a="sched"), _pb("取消", a="quit")),
            )
        ]

    def _status(self, ctx: Context, r) -> Text:
        if r.status == "waiting":
            if video.in_hours(ctx.now):
                body = video.queue_text(video.position(ctx.session, r))
            else:
                body = f"現在不是服務時間，{video.fmt(video.next_opening(ctx.now))} 起依序聯絡您。"
            return Text(f"您的手語視訊需求 V{r.id} 排隊中。\n{body}", (video.cancel_choice(r.id),))
        if r.status == "scheduled":
            return Text(
                f"您已預約手語視訊 V{r.id}：{video.fmt(r.scheduled_for)}。\n時間到時會傳視訊連結給您。",
                (video.cancel_choice(r.id),),
            )
        return Text(
            f"手語翻譯員 {r.interpreter} 正在等您（V{r.id}）。請點「開始視訊」：\n{r.meeting_url}",
            (Choice(label="開始視訊", action="uri", uri=r.meeting_url),),
        )

    def _topic_prompt(self, mode: str, at: str | None) -> Text:
        return Text(
            "想辦理什麼？（可略過）",
            (
                _pb("詢問", a="go", m=mode, at=at, t="inquiry"),
                _pb("陳情", a="go", m=mode, at=at, t="petition"),
                _pb("通報", a="go", m=mode, at=at, t="dispatch"),
                _pb("略過", a="go", m=mode, at=at),
            ),
        )

    # --- actions ---------------------------------------------------------------------
    def _action(self, data: dict[str, str], msg: Message, ctx: Context) -> list[Reply]:
        a = data["a"]
        if a == "quit":
            ctx.end()
            return [Text("好的，已結束。需要手語視訊時，再輸入「手語」。")]
        if a == "cancel":
            ctx.end()
            try:
                r = video.cancel(ctx.session, int(data.get("r") or 0), ctx.user_key, ctx.now)
            except (VideoError, ValueError) as e:
                return [Text(str(e) if isinstance(e, VideoError) else "找不到這個視訊需求。")]
            return [Text(f"已取消手語視訊需求 V{r.id}。需要時可以再輸入「手語」申請。")]
        current = video.active_request(ctx.session, ctx.user_key)
        if current is not None:
            ctx.end()
            return [self._status(ctx, current)]
        if a == "now":
            ctx.begin(self.flow, "topic", {"m": "now"})
            return [self._topic_prompt("now", None)]
        if a == "sched":
            return [self._days(ctx)]
        if a == "sday":
            page = data.get("p") or "0"
            return [self._times(ctx, data.get("d", ""), int(page) if page.isdigit() else 0)]
        if a == "stime":
            at = data.get("at")
            if self._parse_at(at, ctx) is None:
                return [Text("這個時段已經過了或不在服務時間，請重新選擇。"), self._days(ctx)]
            ctx.begin(self.flow, "topic", {"m": "scheduled", "at": at})
            return [self._topic_prompt("scheduled", at)]
        if a == "go":
            return self._create(msg, ctx, data.get("m", "now"), data.get("at"), data.get("t"))
        return self._intro(ctx)

    def _typed(self, msg: Message, ctx: Context) -> list[Reply] | None:
        text = (msg.text or "").strip() if msg.kind == "text" else ""
        if not text:
            return None
        if ctx.step == "mode":
            if "預約" in text:
                return [self._days(ctx)]
            if any(w in text for w in ("現在", "排隊", "馬上", "立刻")):
                ctx.begin(self.flow, "topic", {"m": "now"})
                return [self._topic_prompt("now", None)]
            return None
        if ctx.step == "topic":
            topic = next((v for k, v in TOPIC_WORDS.items() if k in text), None)
            if topic is None and text not in SKIP:
                return None
            return self._create(msg, ctx, ctx.data.get("m", "now"), ctx.data.get("at"), topic)
        return None

    def _days(self, ctx: Context) -> Text:
        ctx.begin(self.flow, "day")
        days = []
        for at in video.schedule_options(ctx.now):
            d = video.local(at).date()
            if d not in days:
                days.append(d)
        if not days:
            return Text("近期沒有可預約的時段，請選「現在排隊」。", (_pb("現在排隊", a="now"),))
        names = "一二三四五六日"
        return Text(
            "請選擇日期：",
            tuple(
                _pb(f"{d.month}/{d.day}（{names[d.weekday()]}）", a="sday", d=d.isoformat())
                for d in days[:13]
            ),
        )

    def _times(self, ctx: Context, day_iso: str, page: int) -> Text:
        options = [
            at for at in video.schedule_options(ctx.now) if video.local(at).date().isoformat() == day_iso
        ]
        if not options:
            return self._days(ctx)
        chunk = options[page * PAGE : (page + 1) * PAGE]
        choices = [
            _pb(f"{video.local(at):%H:%M}", a="stime", at=f"{video.local(at):%Y-%m-%dT%H:%M}") for at in chunk
        ]
        if len(options) > (page + 1) * PAGE:
            choices.append(_pb("更多時段", a="sday", d=day_iso, p=page + 1))
        return Text("請選擇時間：", tuple(choices))

    def _parse_at(self, at: str | None, ctx: Context) -> datetime | None:
        try:
            when = datetime.fromisoformat(at or "").replace(tzinfo=TZ)
        except ValueError:
            return None
        if when < ctx.now + timedelta(minutes=30) or not video.in_hours(when):
            return None
        return when

    def _create(
        self, msg: Message, ctx: Context, mode: str, at: str | None, topic: str | None
    ) -> list[Reply]:
        ctx.end()
        scheduled_for = None
        if mode == "scheduled":
            scheduled_for = self._parse_at(at, ctx)
            if scheduled_for is None:
                return [Text("這個時段已經過了或不在服務時間，請重新選擇。"), self._days(ctx)]
        try:
            _, replies = video.create(
                ctx.session,
                user_key=ctx.user_key,
                channel=msg.channel,
                mode="scheduled" if mode == "scheduled" else "now",
                topic=topic,
                now=ctx.now,
                scheduled_for=scheduled_for,
            )
        except VideoError as e:
            current = video.active_request(ctx.session, ctx.user_key)
            return [Text(str(e)), *([self._status(ctx, current)] if current else [])]
        return replies
