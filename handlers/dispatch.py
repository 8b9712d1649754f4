"""路面通報 (`dispatch_report`): category → location → photo → description → confirm →
a routed case with a number and a verification code.

Steps are asked only when the first message did not already say (category,
district). Flow data stays JSON: the photo is stored at the photo step as a
pending row and only its id is kept.
"""

from __future__ import annotations

import re

from bot import cases
from bot.messages import Choice, Message, Reply, Text, sniff_image
from data import district_centroid, names_other_city
from intents.normalize import fold
from intents.slots import extract_district

from .base import ContentError, Context, Handler, button, parse_postback

FLOW = "dispatch_report"

CATEGORY_CHOICES = (
    ("路面坑洞", "pothole"),
    ("路燈故障", "streetlight"),
    ("交通號誌故障", "traffic_signal"),
    ("路樹傾倒", "fallen_tree"),
)
SKIP_WORDS = {"略過", "跳過", "不用", "沒有", "無", "skip", "不需要", "先不用"}
CONFIRM_WORDS = {"確認", "確認送出", "送出", "確定", "是", "好", "ok"}
EDIT_WORDS = {"修改", "更改", "改"}
FOLLOW_WORDS = {"追蹤該案件", "追蹤", "追蹤案件"}
FORCE_WORDS = {"仍要通報", "還是要通報", "繼續通報"}
EDIT_STEPS = (("類別", "category"), ("位置", "location"), ("照片", "photo"), ("說明", "description"))
# What a typed place description holds: a number, a road or a landmark word, a Latin word (an
# English address). Lenient on purpose, since refusing a real address costs more than asking
# again; it only keeps 好 or 今天天氣很好 from becoming the report's address.
PLACE_WORDS = re.compile(
    r"\d|[a-z]{2,}|[路街巷弄號段橋站旁邊前後口側角里村鄰港堤家店樓廟宮寺館院所局處場廳]|對面|附近|公園|學校|國小|"
    r"國中|高中|大學|醫院|診所|市場|教會|大樓|社區|中心|商圈|超商|便利商店|全家|萊爾富|全聯|家樂福|好市多|大潤發|"
    r"麥當勞|肯德基|星巴克|加油站|停車場|公所|派出所|銀行|郵局|捷運|輕軌|出口|圓環|地下道|天橋|高架|交流道|廣場|"
    r"夜市|百貨|賣場|工業區|碼頭|這裡|那裡"
)
LATLNG = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def _word(msg: Message) -> str:
    return fold(msg.text or "").strip() if msg.kind == "text" else ""


def _is(msg: Message, pb: dict[str, str], action: str, words: set[str]) -> bool:
    return pb.get("dr") == action or (msg.kind == "text" and _word(msg) in {fold(w) for w in words})


class DispatchHandler(Handler):
    intents = ("dispatch_report",)
    flow = FLOW

    # --- entry and step routing ------------------------------------------------------
    def handle(self, msg: Message, ctx: Context) -> list[Reply] | None:
        if ctx.flow != FLOW:
            slots = ctx.verdict.slots if ctx.verdict else {}
            category = slots.get("category") if slots.get("category") in cases.CATEGORIES else None
            ctx.begin(FLOW, "category", {"category": category, "district": slots.get("district")})
            # Started from a button under a location the resident already sent
            # (postback intent=dispatch_report&lat=…&lng=…): that is the location.
            pb = parse_postback(msg.data) if msg.kind == "postback" else {}
            if pb.get("lat") and pb.get("lng"):
                try:
                    lat, lng = float(pb["lat"]), float(pb["lng"])
                except ValueError:
                    return self._advance(ctx)
                return self._set_point(ctx, lat, lng, (pb.get("address") or "")[:255] or None)
            return self._advance(ctx)
        pb = parse_postback(msg.data) if msg.kind == "postback" else {}
        step = ctx.step or "category"
        return getattr(self, f"_on_{step}")(msg, ctx, pb)

    def reprompt(self, msg: Message, ctx: Context) -> list[Reply]:
        if ctx.flow != FLOW:
            return self.handle(msg, ctx) or []
        return self._prompt(ctx, ctx.step or "category")

    def _advance(self, ctx: Context, prefix: list[Reply] | None = None) -> list[Reply]:
        """Go to the first step still missing (or back to the summary when editing)."""
        d = ctx.data
        if not d.get("category"):
            step = "category"
        elif d.get("latitude") is None:
            step = "location"
        elif d.get("editing"):
            step = "confirm"
        elif not d.get("photo_done"):
            step = "photo"
        elif not d.get("description_done"):
            step = "description"
        else:
            step = "confirm"
        ctx.goto(step, editing=False if step == "confirm" else d.get("editing", False))
        return (prefix or []) + self._prompt(ctx, step)

    def _prompt(self, ctx: Context, step: str) -> list[Reply]:
        d = ctx.data
        if step == "category":
            return [
                Text(
                    "請問要通報哪一類問題？",
                    tuple(button(label, dr="cat", v=code) for label, code in CATEGORY_CHOICES),
                )
            ]
        if step == "location":
            choices = [Choice(label="傳送位置", action="location")]
            hint = "請傳送問題的位置：點下方「傳送位置」，或輸入地址、路口或地標（例如「苓雅區四維三路與中正路口」），也可以輸入座標「22.62,120.31」。"
            if d.get("district"):
                hint = f"地點在{d['district']}。" + hint
                choices.append(button(f"只知道在{d['district']}", dr="district"))
            return [Text(hint, tuple(choices))]
        if step == "photo":
            return [
                Text(
                    "可以拍一張現場照片或從相簿上傳（選填，JPEG/PNG/WebP/HEIC，10 MB 以內）。",
                    (
                        Choice(label="拍照", action="camera"),
                        Choice(label="從相簿選", action="camera_roll"),
                        button("略過", dr="skip"),
                    ),
                )
            ]
        if step == "description":
            return [
                Text(
                    f"請簡短描述狀況（選填，{cases.DESCRIPTION_MAX} 字以內），例如「約 30 公分的坑洞，機車容易摔」。",
                    (button("略過", dr="skip"),),
                )
            ]
        if step == "edit":
            return [
                Text(
                    "要修改哪一項？",
                    tuple(button(label, dr="edit_step", v=code) for label, code in EDIT_STEPS),
                )
            ]
        if step == "duplicate":
            return self._duplicate_prompt(ctx, d.get("duplicates") or [])
        return [
            Text(
                self._summary(ctx) + "\n\n確認無誤請按「確認送出」。",
                (
                    button("確認送出", dr="confirm"),
                    button("修改", dr="edit"),
                    Choice(label="取消", text="取消"),
                ),
            )
        ]

    def _summary(self, ctx: Context) -> str:
        d = ctx.data
        place = d.get("address") or f"{d.get('latitude'):.5f}, {d.get('longitude'):.5f}"
        if d.get("approximate"):
            place += "（位置約略）"
        lines = [
            "請確認通報內容：",
            f"類別：{cases.category_name(d.get('category'))}",
            f"行政區：{d.get('district') or '—'}",
            f"位置：{place}",
            f"照片：{'1 張' if d.get('photo_id') else '無'}",
            f"說明：{d.get('description') or '無'}",
        ]
        return "\n".join(lines)

    # --- steps ----------------------------------------------------------------------
    def _on_category(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        category = pb.get("v") if pb.get("dr") == "cat" else None
        if category is None and msg.kind == "text":
            word = _word(msg)
            category = next((code for label, code in CATEGORY_CHOICES if fold(label) == word), None)
            if category is None:
                verdict = ctx.matcher.match(msg.text or "")
                category = verdict.slots.get("category")
                if not ctx.data.get("district") and verdict.slots.get("district"):
                    ctx.goto("category", district=verdict.slots["district"])
        if category not in cases.CATEGORIES:
            return None
        ctx.goto("category", category=category)
        return self._advance(ctx)

    def _on_location(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        if pb.get("dr") == "district" and ctx.data.get("district"):
            return self._set_centroid(ctx, ctx.data["district"], None)
        if msg.kind == "location" and msg.location is not None:
            loc = msg.location
            address = (loc.address or loc.title or "")[:255] or None
            return self._set_point(ctx, loc.latitude, loc.longitude, address)
        if msg.kind != "text" or not (msg.text or "").strip():
            return None
        text = (msg.text or "").strip()
        if m := LATLNG.match(text):
            return self._set_point(ctx, float(m.group(1)), float(m.group(2)), None)
        if names_other_city(text):
            return self._outside(ctx)
        district = extract_district(fold(text))
        if district is None:
            verdict = ctx.matcher.match(text)
            # A request for another service (answered, or asked about with it first): let the
            # engine switch or ask, rather than take the sentence for an address.
            if verdict.decision in ("answer", "clarify") and verdict.intent not in (FLOW, "fallback"):
                return None
            district = ctx.data.get("district")
            if district is not None and PLACE_WORDS.search(fold(text)) is None:
                return [
                    Text(
                        f"「{text[:20]}」看起來不像地點。請輸入路名、路口或附近地標（例如「光遠路與五甲路口」），"
                        f"或直接傳送位置；若只知道在{district}，請點「只知道在{district}」。",
                        self._prompt(ctx, "location")[0].choices,
                    )
                ]
        if district is None:
            return [
                Text(
                    "抱歉，找不到這個地點所在的行政區。請加上行政區（例如「鳳山區光遠路 100 號」），或直接傳送位置。",
                    (Choice(label="傳送位置", action="location"),),
                )
            ]
        return self._set_centroid(ctx, district, text[:255])

    def _set_point(self, ctx: Context, lat: float, lng: float, address: str | None) -> list[Reply]:
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return [Text("座標格式不正確，請輸入「緯度,經度」，例如「22.62,120.31」，或直接傳送位置。")]
        district = cases.district_for_point(lat, lng, address)
        if district is None:
            return self._outside(ctx)
        ctx.goto(
            "location", latitude=lat, longitude=lng, address=address, district=district, approximate=False
        )
        return self._advance(ctx)

    def _set_centroid(self, ctx: Context, district: str, address: str | None) -> list[Reply]:
        centroid = district_centroid(district)
        if centroid is None:
            return self._outside(ctx)
        ctx.goto(
            "location",
            latitude=centroid[0],
            longitude=centroid[1],
            address=address or district,
            district=district,
            approximate=True,
        )
        return self._advance(ctx)

    def elsewhere(self, ctx: Context) -> list[Reply]:
        return self._outside(ctx)

    def _outside(self, ctx: Context) -> list[Reply]:
        return [
            Text(
                "這個位置不在高雄市轄區內，我們無法受理。其他縣市的路面問題請洽當地縣市政府（各地 1999 專線）。\n"
                "若位置有誤，請重新傳送高雄市內的位置或地址。",
                (Choice(label="傳送位置", action="location"), Choice(label="取消", text="取消")),
            )
        ]

    def _on_photo(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        if _is(msg, pb, "skip", SKIP_WORDS):
            ctx.goto("photo", photo_done=True)
            return self._advance(ctx)
        if msg.kind != "image":
            return None
        retry = (
            Choice(label="拍照", action="camera"),
            Choice(label="從相簿選", action="camera_roll"),
            button("略過", dr="skip"),
        )
        try:
            blob, _ = ctx.image_bytes(msg, cases.PHOTO_MAX_BYTES)
        except ContentError as exc:
            if "large" in str(exc):
                return [Text("照片太大了（上限 10 MB），請換一張較小的照片，或略過。", retry)]
            return [Text("抱歉，照片暫時無法下載。請再傳一次，或先略過照片繼續通報。", retry)]
        if len(blob) > cases.PHOTO_MAX_BYTES:
            return [Text("照片太大了（上限 10 MB），請換一張較小的照片，或略過。", retry)]
        content_type = sniff_image(blob)
        if content_type is None:
            return [Text("這個檔案不是照片（只接受 JPEG、PNG、WebP、HEIC），請重新上傳，或略過。", retry)]
        photo_id = cases.store_pending_photo(ctx.session, ctx.user_key, blob, content_type, ctx.now)
        ctx.goto("photo", photo_id=photo_id, photo_done=True)
        return self._advance(ctx, [Text("已收到照片。")])

    def _on_description(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        if _is(msg, pb, "skip", SKIP_WORDS):
            ctx.goto("description", description=None, description_done=True)
            return self._advance(ctx)
        if msg.kind != "text" or not (msg.text or "").strip():
            return None
        text, cut = cases.clean_description(msg.text)
        prefix: list[Reply] = []
        if cut:
            prefix.append(Text(f"說明超過 {cases.DESCRIPTION_MAX} 字，已保留前 {cases.DESCRIPTION_MAX} 字。"))
        ctx.goto("description", description=text, description_done=True)
        return self._advance(ctx, prefix)

    def _on_confirm(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        if _is(msg, pb, "edit", EDIT_WORDS):
            ctx.goto("edit")
            return self._prompt(ctx, "edit")
        if _is(msg, pb, "confirm", CONFIRM_WORDS):
            return self._create(ctx, check_duplicates=True)
        return None

    def _on_edit(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        target = pb.get("v") if pb.get("dr") == "edit_step" else None
        if target is None and msg.kind == "text":
            target = next((code for label, code in EDIT_STEPS if fold(label) == _word(msg)), None)
        if target is None:
            return None
        clear = {
            "category": {"category": None},
            "location": {"latitude": None, "longitude": None, "address": None, "approximate": False},
            "photo": {"photo_done": False},
            "description": {"description_done": False},
        }[target]
        ctx.goto(target, editing=True, **clear)
        return self._prompt(ctx, target)

    def _on_duplicate(self, msg: Message, ctx: Context, pb: dict[str, str]) -> list[Reply] | None:
        if _is(msg, pb, "follow", FOLLOW_WORDS):
            number = pb.get("n") or (ctx.data.get("duplicates") or [None])[0]
            case = cases.get_case(ctx.session, number or "")
            if case is None:
                return self._create(ctx, check_duplicates=False)
            cases.follow(ctx.session, case, ctx.user_key, ctx.now)
            ctx.end()
            return [
                Text(
                    f"已為您追蹤案件 {case.number}（目前「{cases.status_label(case.status)}」），"
                    "處理進度更新時會通知您。謝謝您的通報！"
                )
            ]
        if _is(msg, pb, "force", FORCE_WORDS):
            return self._create(ctx, check_duplicates=False)
        return None

    def _duplicate_prompt(self, ctx: Context, numbers: list[str]) -> list[Reply]:
        lines = ["附近 50 公尺內，7 天內已有相同問題的通報，正在處理中："]
        choices: list[Choice] = []
        for number in numbers:
            case = cases.get_case(ctx.session, number)
            if case is None:
                continue
            lines.append(
                f"・{case.number} {cases.category_name(case.category)}（{cases.status_label(case.status)}，"
                f"受理 {cases.format_local(case.created_at)}）"
            )
            if not choices:
                choices.append(button("追蹤該案件", dr="follow", n=case.number))
        lines.append("您可以追蹤該案件（處理進度會通知您），或仍要另外通報。")
        choices.append(button("仍要通報", dr="force"))
        choices.append(Choice(label="取消", text="取消"))
        return [Text("\n".join(lines), tuple(choices))]

    # --- creation -------------------------------------------------------------------
    def _create(self, ctx: Context, check_duplicates: bool) -> list[Reply]:
        d = ctx.data
        new = cases.NewCase(
            kind="D",
            source=ctx.user_key.split(":", 1)[0] if ":" in ctx.user_key else "web",
            category=d["category"],
            description=d.get("description"),
            latitude=d.get("latitude"),
            longitude=d.get("longitude"),
            location_approximate=bool(d.get("approximate")),
            address=d.get("address"),
            district=d.get("district"),
            reporter_key=ctx.user_key,
            photo_ids=(d["photo_id"],) if d.get("photo_id") else (),
        )
        case, code, duplicates = cases.create_case(
            ctx.session, new, ctx.now, check_duplicates=check_duplicates
        )
        if case is None:
            numbers = [c.number for c in duplicates]
            ctx.goto("duplicate", duplicates=numbers)
            return self._duplicate_prompt(ctx, numbers)
        ctx.end()
        agency = f"{case.agency}{case.unit or ''}" + (f"（{case.agency_phone}）" if case.agency_phone else "")
        return [
            Text(
                f"已受理您的通報，謝謝！\n案號：{case.number}\n驗證碼：{code}\n"
                f"承辦：{agency}\n處理期限：{cases.format_due(case.due_at, ctx.now)}\n"
                "處理進度會在這裡通知您，也可以輸入「查詢案件」查看。"
                "驗證碼請妥善保存，他人代查時需要案號與驗證碼。"
            )
        ]
