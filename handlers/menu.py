"""Welcome, menu, staged fallback and the small talk every channel needs."""

from __future__ import annotations

from bot.messages import Choice, Location, Reply, Text

from .base import button, intent_choice, postback

HOTLINE = "1999"
HOTLINE_TEXT = "高雄市民服務專線 1999（24 小時，市話及手機免付費；外縣市請撥 07-3352999）"

# (label, intent id) in the order residents see them.
SERVICES: tuple[tuple[str, str], ...] = (
    ("路面通報", "dispatch_report"),
    ("案件查詢", "petition_status"),
    ("法律諮詢", "legal_consultation"),
    ("手語視訊", "sign_language_video"),
    ("連署提議", "proposal_cosign"),
    ("我要提議", "proposal_submit"),
    ("轉真人", "human_agent"),
)


def service_choices() -> tuple[Choice, ...]:
    return tuple(intent_choice(label, intent) for label, intent in SERVICES)


def welcome() -> list[Reply]:
    return [
        Text(
            "您好，這裡是高雄市政府市民服務小幫手 citizenbot 👋\n"
            "您可以直接用自己的話問我，例如：\n"
            "・「中正路有坑洞」\n・「查詢案件進度」\n・「鳳山哪裡有免費法律諮詢」\n"
            f"也可以點選下方的服務。緊急或需要真人協助，請撥 {HOTLINE_TEXT}。",
            service_choices(),
        )
    ]


def menu() -> list[Reply]:
    return [Text("請選擇您需要的服務，或直接輸入您的問題：", service_choices())]


def cancelled(had_flow: bool) -> list[Reply]:
    text = "好的，已取消。" if had_flow else "目前沒有進行中的服務。"
    return [Text(text + "還需要什麼協助嗎？", service_choices())]


def expired_note() -> Text:
    return Text("上次的對話已逾時，我們重新開始吧。")


def sticker_nudge() -> list[Reply]:
    return [Text("謝謝您的貼圖 😊 請用文字告訴我您需要什麼服務，或點選下方選項。", service_choices())]


def unsupported_media() -> list[Reply]:
    return [Text("抱歉，我目前看不懂這類訊息。請用文字描述您的需求，或點選下方服務。", service_choices())]


def location_without_flow(location: Location) -> list[Reply]:
    # The buttons carry the point, so the service they start need not ask for it again.
    at = {
        "lat": f"{location.latitude:.6f}",
        "lng": f"{location.longitude:.6f}",
        # Short enough that the postback stays within LINE's 300 characters once URL-encoded.
        "address": (location.address or "")[:20] or None,
    }
    return [
        Text(
            "收到您的位置。請問您想要：",
            (
                button("通報這裡的路面問題", intent="dispatch_report", **at),
                button("找最近的法律諮詢", intent="legal_consultation", **at),
                button("都不是", cmd="menu"),
            ),
        )
    ]


def image_without_flow() -> list[Reply]:
    return [
        Text(
            "收到您的照片。若要通報路面問題（坑洞、路燈、號誌、路樹），請點「路面通報」，我會一步步協助您。",
            (intent_choice("路面通報", "dispatch_report"), *service_choices()[1:3]),
        )
    ]


NONE_OF_THESE = "都不是"


def _pick_choices(options: list[tuple[str, str]], log_id: int | None) -> tuple[Choice, ...]:
    """The options as buttons, plus 都不是; `q` ties the answer to the logged question."""
    choices = [button(label, pick=intent, q=log_id) for label, intent in options]
    choices.append(button(NONE_OF_THESE, cmd="none", q=log_id))
    return tuple(choices)


def clarify(options: list[tuple[str, str]], log_id: int | None = None) -> list[Reply]:
    """Two or three close intents: ask which one was meant."""
    return [Text("想確認一下，您是指以下哪一項呢？", _pick_choices(options, log_id))]


def suggest(options: list[tuple[str, str]], log_id: int | None = None) -> list[Reply]:
    """Nothing matched well: offer the nearest few, plus 都不是 (the first fallback stage)."""
    return [
        Text(
            f"抱歉，我不太確定您的意思 🙏 是以下其中一項嗎？\n都不是的話請點「{NONE_OF_THESE}」，或直接撥 {HOTLINE_TEXT}。",
            _pick_choices(options, log_id),
        )
    ]


def fallback(misses: int) -> list[Reply]:
    """The answer when nothing in scope matched, firmer each time in a row."""
    if misses <= 1:
        return [
            Text(
                "抱歉，我不太明白您的意思 🙏 您可以換個說法，或點選下方服務。\n"
                f"需要立即協助請撥 {HOTLINE_TEXT}。",
                service_choices(),
            )
        ]
    if misses == 2:
        return [
            Text(
                "抱歉，我還是沒有聽懂。可以試著用一句話說明，例如：\n"
                "「民族路的路燈不亮」、「查詢案件 D2026-000123」、「岡山法律諮詢的時間」。",
                service_choices(),
            )
        ]
    return [
        Text(
            f"很抱歉一直沒能幫上忙。要為您轉接專人嗎？也可以直接撥 {HOTLINE_TEXT}。",
            (
                intent_choice("轉真人", "human_agent"),
                Choice(label="撥打 1999", action="uri", uri="tel:1999"),
                Choice(label="回主選單", text="選單", data=postback(cmd="menu"), action="postback"),
            ),
        )
    ]
