"""法律諮詢: sites, opening days, nearest site, and booking a 15-minute slot.

Buttons carry their whole state in the postback (site, date, slot) and start
this handler by intent, so an old button still works after the flow expired.
Typed steps (name, phone, topic, confirm) keep their state in the flow.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot import legal
from bot.legal import BookingError, day_label
from bot.messages import Card, Cards, Choice, Location, Message, Place, Reply, Text, with_choices
from data import district_centroid, in_kaohsiung

from .base import Context, Handler, button, parse_postback
from .menu import HOTLINE_TEXT

INTENT = "legal_consultation"
PAGE_DATES = 12  # + 更多日期 = 13 quick replies
PAGE_SLOTS = 11  # + 更多時段 + 換日期 = 13
YES = {"確認", "確定", "是", "好", "對", "ok", "OK", "Ok", "確認預約", "沒問題", "正確"}
NO = {"否", "不是", "不對", "重來", "重新", "修改"}
# Steps that take buttons (not free text): a new question there starts over.
RESTARTABLE = {"near", "site", "date", "slot", "confirm"}
RESTART_WORDS = r"預約|法律|諮詢|律師|哪裡|地點|今天|明天"
SKIP = {"略過", "跳過", "不用", "沒有", "無", "不想說", "先不說"}


def _pb(label: str, **fields: str) -> Choice:
    return button(label, intent=INTENT, **fields)


def _main_choices() -> tuple[Choice, ...]:
    return (
        _pb("今天哪裡有", a="day", d="today"),
        _pb("明天哪裡有", a="day", d="tomorrow"),
        Choice(label="離我最近", action="location"),
        _pb("預約諮詢", a="book"),
        _pb("我的預約", a="mine"),
        _pb("所有地點", a="all"),
    )


class LegalConsultationHandler(Handler):
    intents = (INTENT,)
    flow = "legal"

    # --- entry ------------------------------------------------------------------
    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        replies = self._handle(msg, ctx)
        if (
            replies
            and ctx.flow is None
            and any(c.action == "location" for c in getattr(replies[-1], "choices", ()))
        ):
            # A 「離我最近」 button is showing: the location it sends must come back here.
            ctx.begin(self.flow, "near", {"soft": True})
        return replies

    def _handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if msg.kind == "postback":
            data = parse_postback(msg.data)
            if data.get("intent") == INTENT and data.get("a"):
                return self._action(data, ctx)
            if data.get("intent") == INTENT and data.get("lat") and data.get("lng"):
                # Started from the button under a location the resident already shared.
                try:
                    point = Location(float(data["lat"]), float(data["lng"]), data.get("address"))
                except ValueError:
                    point = None
                if point is not None:
                    return self._nearest_to(point, ctx)
        if ctx.flow == self.flow:
            replies = self._step(msg, ctx)
            if replies is None and ctx.step in RESTARTABLE and re.search(RESTART_WORDS, msg.text or ""):
                # A new question about this service mid-flow: answer it afresh.
                ctx.end()
                return self._from_text(msg.text or "", ctx)
            return replies
        if msg.kind == "location" and msg.location is not None:
            return self._nearest_to(msg.location, ctx)
        return self._from_text(msg.text or "", ctx)

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        step = ctx.step
        if step == "near" and ctx.data.get("soft"):
            # Only a button was showing; the resident moved on to something we did not get.
            ctx.end()
            return [
                Text(
                    "抱歉，我不太明白。要找最近的法律諮詢地點請按「傳送位置」，其他服務請點選單或撥 1999。",
                    (Choice(label="傳送位置", action="location"), _pb("法律諮詢", a="all")),
                )
            ]
        if step == "near":
            return [
                Text(
                    "請按「傳送位置」分享您的位置，或輸入行政區（例如：鳳山、三民區）。",
                    (Choice(label="傳送位置", action="location"),),
                )
            ]
        if step == "site":
            return self._book_start(ctx, None)
        if step == "date":
            return self._dates(ctx, ctx.data.get("site"), note="請從按鈕選擇日期，或輸入日期（例如 12/5）。")
        if step == "slot":
            return self._slots(
                ctx,
                ctx.data.get("site"),
                ctx.data.get("date"),
                note="請從按鈕選擇時段，或輸入時間（例如 14:15）。",
            )
        if step == "name":
            return [Text("請輸入預約人的姓名（例如：王小明）。輸入「取消」可結束。")]
        if step == "phone":
            return [Text("請輸入聯絡電話，例如 0912-345-678 或 07-3373686。")]
        if step == "topic":
            return [
                Text(
                    "請簡單說明想諮詢的法律問題（例如：離婚、車禍、租屋），或按「略過」。", (Choice("略過"),)
                )
            ]
        if step == "confirm":
            return self._confirm_prompt(ctx)
        return self._overview(ctx)

    # --- free text (first message) -------------------------------------------------
    def _from_text(self, text: str, ctx: Context) -> list[Reply]:
        verdict = ctx.verdict if ctx.verdict is not None else (ctx.matcher.match(text) if text else None)
        district = (verdict.slots.get("district") if verdict else None) or None
        if re.search(r"(我的|查詢|取消).*預約|預約.*(查詢|紀錄|記錄)", text):
            return self._mine(ctx)
        named = legal.find_sites(text, None)
        if "預約" in text or "登記" in text:
            # The topic said up front (「預約法律諮詢，離婚的問題」) is kept, not asked again.
            topic = legal.topic_of(text)
            replies = self._book_start(
                ctx, named[0].id if len(named) == 1 else None, topic_hint=topic.label if topic else None
            )
            if topic is not None and topic.elsewhere:
                replies = [Text(f"關於「{topic.label}」：{topic.elsewhere}"), *replies]
            return replies
        if re.search(r"最近|附近|離我|近一點|附近", text) and not named and not district:
            ctx.begin(self.flow, "near")
            return [
                Text(
                    "請按下方「傳送位置」分享您的位置，或輸入您所在的行政區（例如：鳳山、三民區），我幫您找最近的諮詢地點。",
                    (Choice(label="傳送位置", action="location"),),
                )
            ]
        day = legal.parse_day(text, ctx.now)
        if day is not None:
            evening = bool(re.search(r"晚上|夜間|晚間|下班後", text))
            return self._open_on(ctx, day, only=named or None, evening=evening)
        if named:
            return self._site_cards(ctx, named)
        if district:
            here = legal.find_sites("", district)
            if here:
                return self._site_cards(ctx, here)
            point = district_centroid(district)
            if point:
                return self._nearest_list(ctx, *point, origin=f"{district}")
        topic = legal.topic_of(text)
        if topic is not None:
            note = f"關於「{topic.label}」，律師可以在免費法律諮詢中為您解答。"
            if topic.elsewhere:
                note += f"\n另外，{topic.elsewhere}"
            return [Text(note), *self._overview(ctx)]
        return self._overview(ctx)

    # --- postback actions ---------------------------------------------------------
    def _action(self, data: dict[str, str], ctx: Context) -> list[Reply]:
        a = data["a"]
        if a == "all":
            return self._all(ctx)
        if a == "day":
            word = data.get("d", "today")
            base = legal.today(ctx.now)
            day = {"today": base, "tomorrow": base + timedelta(days=1)}.get(word) or _iso(word) or base
            return self._open_on(ctx, day)
        if a == "site":
            site = legal.get_site(data.get("s"))
            return self._site_cards(ctx, [site]) if site else self._overview(ctx)
        if a == "map":
            site = legal.get_site(data.get("s"))
            return [_place(site)] if site else self._overview(ctx)
        if a == "mine":
            return self._mine(ctx)
        if a == "near":
            return self._from_text("離我最近", ctx)
        if a == "cancel":
            return self._cancel(ctx, data.get("b"))
        if a == "book":
            return self._book_start(ctx, data.get("s"))
        if a == "dates":
            return self._dates(ctx, data.get("s"), page=_int(data.get("p")))
        if a == "slots":
            return self._slots(ctx, data.get("s"), data.get("d"), page=_int(data.get("p")))
        if a == "slot":
            return self._pick_slot(ctx, data.get("s"), data.get("d"), data.get("t"))
        return self._overview(ctx)

    # --- flow steps (typed input) -----------------------------------------------------
    def _step(self, msg: Message, ctx: Context) -> list[Reply] | None:
        step = ctx.step
        text = (msg.text or "").strip() if msg.kind == "text" else ""
        if step == "near":
            if msg.kind == "location" and msg.location is not None:
                ctx.end()
                return self._nearest_to(msg.location, ctx)
            district = ctx.matcher.match(text).slots.get("district") if text else None
            if ctx.data.get("soft"):
                # Only the button was showing: typed text is a new question.
                if text and (district or re.search(RESTART_WORDS, text)):
                    ctx.end()
                    return self._from_text(text, ctx)
                return None
            if district:
                ctx.end()
                point = district_centroid(district)
                return self._nearest_list(ctx, *point, origin=district) if point else self._overview(ctx)
            return None
        if step == "site":
            if msg.kind == "location" and msg.location is not None:
                ctx.end()
                return self._nearest_to(msg.location, ctx)
            district = ctx.matcher.match(text).slots.get("district") if text else None
            found = [s for s in legal.find_sites(text, district) if s.bookable]
            if len(found) == 1:
                return self._dates(ctx, found[0].id)
            point = district_centroid(district)
            if point is not None:  # a district without a site: the nearest ones, to book there
                ctx.end()
                return self._nearest_list(ctx, *point, origin=district)
            return None
        if step == "date":
            day = legal.parse_day(text, ctx.now)
            if day is None:
                return None
            return self._slots(ctx, ctx.data.get("site"), day.isoformat())
        if step == "slot":
            m = re.search(r"(\d{1,2})\s*[:：點]\s*(\d{2})?", text)
            if not m:
                return None
            slot = f"{int(m.group(1)):02d}:{m.group(2) or '00'}"
            return self._pick_slot(ctx, ctx.data.get("site"), ctx.data.get("date"), slot)
        if step == "name":
            if not text:
                return None
            name = re.sub(r"\s+", " ", text)
            if len(name) > 30 or re.search(r"\d{4,}", name):
                return [Text("姓名請輸入 30 字以內的文字（例如：王小明）。")]
            ctx.goto("phone", name=name)
            return [Text(f"{name} 您好，請輸入聯絡電話（手機或市話，例如 0912-345-678、07-3373686#220）。")]
        if step == "phone":
            if not text:
                return None
            phone = legal.normalize_phone(text)
            if phone is None:
                return [
                    Text(
                        f"「{text[:20]}」不是有效的電話號碼。\n請輸入手機（例如 0912-345-678 或 +886 912 345 678）"
                        "或市話（例如 07-3373686、(07)742-2111#220）。"
                    )
                ]
            if ctx.data.get("topic_hint"):
                ctx.goto("confirm", phone=phone, topic=ctx.data["topic_hint"])
                return self._confirm_prompt(ctx)
            ctx.goto("topic", phone=phone)
            return [
                Text(
                    "想諮詢哪方面的法律問題？請簡單說明（例如：離婚、車禍、勞資、租屋、繼承），律師可先準備。\n不想說明請按「略過」。",
                    (
                        Choice("離婚"),
                        Choice("車禍"),
                        Choice("勞資"),
                        Choice("租屋"),
                        Choice("繼承"),
                        Choice("略過"),
                    ),
                )
            ]
        if step == "topic":
            if not text:
                return None
            topic = None if text in SKIP else text[:500]
            ctx.goto("confirm", topic=topic)
            return self._confirm_prompt(ctx)
        if step == "confirm":
            if text in YES:
                return self._book(ctx)
            if text in NO:
                return self._dates(ctx, ctx.data.get("site"), note="好的，請重新選擇日期。")
            return None
        ctx.end()
        return None

    def elsewhere(self, ctx: Context) -> list[Reply]:
        # 台中的免費法律諮詢在哪: say whose service that is, and offer ours.
        return [
            Text(
                "高雄市政府的免費法律諮詢只在高雄市的服務據點提供。其他縣市的法律諮詢，"
                "請洽當地縣市政府，或法律扶助基金會（412-8518，手機請加 02）。\n"
                "若您要在高雄諮詢，請點下方按鈕。",
                (_pb("所有地點", a="all"), _pb("今天哪裡有", a="day", d="today"), _pb("預約諮詢", a="book")),
            )
        ]

    # --- answers ----------------------------------------------------------------------
    def _overview(self, ctx: Context) -> list[Reply]:
        lines = [f"・{s.short}：{s.hours_text}" for s in legal.sites()]
        return [
            Text(
                "高雄市政府提供免費法律諮詢，由律師現場解答（每人約 15 分鐘）。\n"
                + "\n".join(lines)
                + "\n\n想查哪一天、哪個地點，或要預約，請點下方按鈕；也可以輸入「週三」「鳳山」等。",
                _main_choices(),
            )
        ]

    def _all(self, ctx: Context) -> list[Reply]:
        return [self._cards(ctx, list(legal.sites()), "免費法律諮詢地點")]

    def _site_cards(self, ctx: Context, found: list) -> list[Reply]:
        cards = self._cards(ctx, found, "法律諮詢地點")
        if len(found) == 1:
            return [cards, _place(found[0], _main_choices())]
        return with_choices([cards], _main_choices())

    def _cards(self, ctx: Context, found: list, alt: str, distances: dict[str, str] | None = None) -> Cards:
        cards = []
        for site in found[:10]:
            _, note = legal.site_status(ctx.session, site, ctx.now)
            body = [
                f"地址：{site.address}",
                f"時間：{site.hours_text}",
                f"電話：{site.phone}",
                f"狀態：{note}",
            ]
            if distances and site.id in distances:
                body.insert(0, f"距離：約 {distances[site.id]}")
            if not site.bookable:
                body.append(site.walk_in_note or "現場登記")
            buttons = [
                _pb("地圖", a="map", s=site.id),
                Choice(label="撥打電話", action="uri", uri=f"tel:{site.tel}"),
            ]
            if site.bookable:
                buttons.insert(0, _pb("預約", a="book", s=site.id))
            cards.append(Card(title=site.name, body="\n".join(body), buttons=tuple(buttons)))
        return Cards(alt_text=alt, cards=tuple(cards))

    def _open_on(
        self, ctx: Context, day: date, only: list | None = None, evening: bool = False
    ) -> list[Reply]:
        base = legal.today(ctx.now)
        when = {0: "今天", 1: "明天", 2: "後天"}.get((day - base).days, "")
        label = f"{when} {day_label(day)}".strip()
        if day < base:
            return [Text(f"{day_label(day)} 已經過了。要查今天或之後的日期嗎？", _main_choices())]
        open_sites, closed = legal.open_on(ctx.session, day)
        if only:
            ids = {s.id for s in only}
            open_sites = [o for o in open_sites if o.site.id in ids]
            closed = [c for c in closed if c[0].id in ids]
        if evening:  # only sessions from 18:00 (the Wednesday evening session)
            open_sites = [
                legal.OpenSite(o.site, [x for x in o.sessions if x.start.hour >= 18])
                for o in open_sites
                if any(x.start.hour >= 18 for x in o.sessions)
            ]
            label += " 晚上"
            if not open_sites:
                return [
                    Text(
                        f"{label}沒有夜間法律諮詢。夜間場次只有週三 18:00-20:00 在四維行政中心。",
                        _main_choices(),
                    )
                ]
        lines = []
        for o in open_sites:
            lines.append(f"・{o.site.short}：{'、'.join(s.label for s in o.sessions)}（{o.site.phone}）")
        for site, reason in closed:
            lines.append(f"・{site.short}：暫停{f'（{reason}）' if reason else ''}")
        if not open_sites:
            head = f"{label} 沒有免費法律諮詢場次。" if not closed else f"{label} 的法律諮詢暫停："
            nxt = self._next_days_text(ctx, day, only)
            return [Text("\n".join([head, *lines, nxt]).strip(), _main_choices())]
        choices = [
            _pb(f"預約{o.site.short}"[:20], a="dates", s=o.site.id) for o in open_sites if o.site.bookable
        ][:10]
        return [
            Text(
                f"{label} 有免費法律諮詢的地點：\n" + "\n".join(lines),
                (*choices, Choice(label="離我最近", action="location")),
            )
        ]

    def _next_days_text(self, ctx: Context, after: date, only: list | None) -> str:
        for i in range(1, 15):
            day = after + timedelta(days=i)
            open_sites, _ = legal.open_on(ctx.session, day)
            if only:
                open_sites = [o for o in open_sites if o.site.id in {s.id for s in only}]
            if open_sites:
                return f"最近的場次：{day_label(day)} " + "、".join(o.site.short for o in open_sites)
        return ""

    def _nearest_to(self, loc: Location, ctx: Context) -> list[Reply]:
        if not in_kaohsiung(loc.latitude, loc.longitude, loc.address):
            return [
                Text(
                    "您分享的位置不在高雄市內，這裡只提供高雄市的免費法律諮詢地點。\n"
                    "其他縣市可洽當地市政府或法律扶助基金會（412-8518，手機請加 02）。\n"
                    "如果您想來高雄諮詢，請輸入行政區（例如：苓雅、鳳山）。",
                    (_pb("所有地點", a="all"),),
                )
            ]
        return self._nearest_list(ctx, loc.latitude, loc.longitude, origin="您的位置")

    def _nearest_list(self, ctx: Context, lat: float, lng: float, origin: str) -> list[Reply]:
        rows = legal.nearest(ctx.session, lat, lng, ctx.now)
        lines = []
        distances = {}
        for i, r in enumerate(rows, 1):
            km = f"{r.km:.1f} 公里"
            distances[r.site.id] = km
            lines.append(f"{i}. {r.site.short}（約 {km}）— {r.note}")
        text = f"離{origin}最近的免費法律諮詢地點（開放中的優先）：\n" + "\n".join(lines)
        if any(r.site.approximate for r in rows):
            text += "\n（距離為直線估算）"
        cards = self._cards(ctx, [r.site for r in rows], "最近的法律諮詢地點", distances)
        return with_choices([Text(text), cards], _main_choices())

    # --- booking --------------------------------------------------------------------
    def _kept(self, ctx: Context) -> dict[str, str]:
        """What a booking carries from step to step besides its choices: the topic said up front."""
        hint = ctx.data.get("topic_hint") if ctx.flow == self.flow else None
        return {"topic_hint": hint} if hint else {}

    def _book_start(self, ctx: Context, site_id: str | None, topic_hint: str | None = None) -> list[Reply]:
        topic_hint = topic_hint or (ctx.data.get("topic_hint") if ctx.flow == self.flow else None)
        site = legal.get_site(site_id)
        if site is not None:
            if not site.bookable:
                return [
                    Text(
                        f"{site.short}不需預約，{site.walk_in_note or '請現場登記'}（{site.hours_text}）。",
                        _main_choices(),
                    )
                ]
            return self._dates(ctx, site.id, topic_hint=topic_hint)
        ctx.begin(self.flow, "site", {"topic_hint": topic_hint} if topic_hint else None)
        bookable = [s for s in legal.sites() if s.bookable]
        return [
            Text(
                "要預約哪個地點？（每次 15 分鐘，每人每天限一個時段）",
                tuple(_pb(s.short, a="dates", s=s.id) for s in bookable[:13]),
            )
        ]

    def _dates(
        self, ctx: Context, site_id: str | None, page: int = 0, note: str = "", topic_hint: str | None = None
    ) -> list[Reply]:
        topic_hint = topic_hint or (ctx.data.get("topic_hint") if ctx.flow == self.flow else None)
        site = legal.get_site(site_id)
        if site is None or not site.bookable:
            return self._book_start(ctx, None, topic_hint=topic_hint)
        days = legal.booking_days(ctx.session, site, ctx.now)
        ctx.begin(self.flow, "date", {"site": site.id, **({"topic_hint": topic_hint} if topic_hint else {})})
        if not days:
            ctx.end()
            return [
                Text(
                    f"{site.short}未來 {legal.config().days_ahead} 天已經沒有可預約的時段了，請改選其他地點或電洽 {site.phone}。",
                    _main_choices(),
                )
            ]
        chunk = days[page * PAGE_DATES : (page + 1) * PAGE_DATES]
        choices = [_pb(day_label(d), a="slots", s=site.id, d=d.isoformat()) for d in chunk]
        if len(days) > (page + 1) * PAGE_DATES:
            choices.append(_pb("更多日期", a="dates", s=site.id, p=str(page + 1)))
        head = f"{note}\n" if note else ""
        return [Text(f"{head}{site.short}（{site.hours_text}）\n請選擇日期：", tuple(choices))]

    def _slots(
        self, ctx: Context, site_id: str | None, day_iso: str | None, page: int = 0, note: str = ""
    ) -> list[Reply]:
        site = legal.get_site(site_id)
        day = _iso(day_iso)
        if site is None or day is None:
            return self._book_start(ctx, None)
        try:
            legal.check_day(ctx.session, site, day, ctx.now)
        except BookingError as e:
            return self._dates(ctx, site.id, note=str(e))
        free = legal.free_slots(ctx.session, site, day, ctx.now)
        if not free:
            return self._dates(ctx, site.id, note=f"{day_label(day)} 的時段都已額滿，請改選其他日期。")
        ctx.begin(self.flow, "slot", {"site": site.id, "date": day.isoformat(), **self._kept(ctx)})
        chunk = free[page * PAGE_SLOTS : (page + 1) * PAGE_SLOTS]
        choices = [_pb(t, a="slot", s=site.id, d=day.isoformat(), t=t) for t in chunk]
        if len(free) > (page + 1) * PAGE_SLOTS:
            choices.append(_pb("更多時段", a="slots", s=site.id, d=day.isoformat(), p=str(page + 1)))
        choices.append(_pb("換日期", a="dates", s=site.id))
        head = f"{note}\n" if note else ""
        return [
            Text(
                f"{head}{site.short} {day_label(day)} 尚有 {len(free)} 個時段，每次 15 分鐘。請選擇時段：",
                tuple(choices),
            )
        ]

    def _pick_slot(
        self, ctx: Context, site_id: str | None, day_iso: str | None, slot: str | None
    ) -> list[Reply]:
        site = legal.get_site(site_id)
        day = _iso(day_iso)
        if site is None or day is None or not slot:
            return self._book_start(ctx, None)
        try:
            legal.check_slot(ctx.session, site, day, slot, ctx.now)
        except BookingError as e:
            return self._slots(ctx, site.id, day.isoformat(), note=str(e))
        if slot in legal.taken_slots(ctx.session, site, day):
            return self._slots(ctx, site.id, day.isoformat(), note=f"{slot} 已經有人預約了，請選擇其他時段。")
        ctx.begin(
            self.flow, "name", {"site": site.id, "date": day.isoformat(), "slot": slot, **self._kept(ctx)}
        )
        return [Text(f"已選 {site.short} {day_label(day)} {slot}。\n請輸入預約人的姓名：")]

    def _confirm_prompt(self, ctx: Context) -> list[Reply]:
        d = ctx.data
        site = legal.get_site(d.get("site"))
        day = _iso(d.get("date"))
        if site is None or day is None:
            ctx.end()
            return self._overview(ctx)
        topic = d.get("topic") or "（未填）"
        return [
            Text(
                "請確認預約資料：\n"
                f"地點：{site.name}{f' {site.place}' if site.place else ''}\n"
                f"地址：{site.address}\n"
                f"時間：{day_label(day)} {d.get('slot')}（15 分鐘）\n"
                f"姓名：{d.get('name')}\n電話：{d.get('phone')}\n諮詢事項：{topic}\n"
                "正確請按「確認預約」；要改請按「重新選擇」。",
                (Choice("確認預約"), Choice("重新選擇", text="重來"), Choice("取消")),
            )
        ]

    def _book(self, ctx: Context) -> list[Reply]:
        d = ctx.data
        try:
            booking = legal.book(
                ctx.session,
                user_key=ctx.user_key,
                site_id=d.get("site", ""),
                day=_iso(d.get("date")) or legal.today(ctx.now),
                slot=d.get("slot", ""),
                name=d.get("name", ""),
                phone=d.get("phone", ""),
                topic=d.get("topic"),
                now=ctx.now,
            )
        except BookingError as e:
            site_id, day_iso = d.get("site"), d.get("date")
            if "每人每天" in str(e) or "已預約" in str(e):
                ctx.end()
                return [Text(str(e), (_pb("我的預約", a="mine"),))]
            return self._slots(ctx, site_id, day_iso, note=str(e))
        ctx.end()
        site = legal.get_site(booking.site_id)
        lines = [
            f"預約完成（編號 L{booking.id}）！",
            legal.describe(booking),
            "請攜帶身分證件及相關資料，提早 10 分鐘報到；前一天會再提醒您。",
        ]
        topic = legal.topic_of(booking.topic)
        if topic and topic.elsewhere:
            lines.append(f"\n另外，{topic.elsewhere}")
        lines.append(
            f"\n無法前往請點「我的預約」取消，把時段留給其他人。諮詢地點電話：{site.phone if site else ''}"
        )
        return [Text("\n".join(lines), (_pb("我的預約", a="mine"), _pb("地圖", a="map", s=booking.site_id)))]

    def _mine(self, ctx: Context) -> list[Reply]:
        ctx.end()
        mine = legal.my_bookings(ctx.session, ctx.user_key, ctx.now)
        if not mine:
            return [Text("您目前沒有法律諮詢預約。", (_pb("預約諮詢", a="book"), _pb("所有地點", a="all")))]
        lines = [f"{i}. L{b.id} {legal.describe(b)}" for i, b in enumerate(mine, 1)]
        choices = tuple(_pb(f"取消 L{b.id}", a="cancel", b=str(b.id)) for b in mine[:12])
        return [Text("您的法律諮詢預約：\n" + "\n".join(lines) + "\n要取消請點下方按鈕。", choices)]

    def _cancel(self, ctx: Context, booking_id: str | None) -> list[Reply]:
        try:
            booking = legal.cancel(ctx.session, _int(booking_id, -1), ctx.user_key, ctx.now)
        except BookingError as e:
            return [Text(str(e), (_pb("我的預約", a="mine"),))]
        return [
            Text(
                f"已取消預約 L{booking.id}：{legal.describe(booking)}\n謝謝您把時段留給其他人。",
                (_pb("預約諮詢", a="book"),),
            )
        ]


def _place(site, choices: tuple[Choice, ...] = ()) -> Place:
    title = site.name if not site.approximate else f"{site.name}（位置約略）"
    return Place(
        title=title[:100], address=site.address, latitude=site.lat, longitude=site.lng, choices=choices
    )


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


__all__ = ["HOTLINE_TEXT", "LegalConsultationHandler"]
