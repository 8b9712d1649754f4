"""The web chat page in a real headless Chromium against a real server on loopback."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.messages import Card, Cards, Choice, Place, Text, reply_to_dict
from bot.models import Conversation, OutboxMessage

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/citizenbot-chat.png")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="/usr/bin/chromium is not installed (required in CI)",
    ),
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test app served by werkzeug in a thread on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _web_user(db) -> str:
    with db.session() as s:
        keys = s.scalars(select(Conversation.user_key).where(Conversation.user_key.like("web:%"))).all()
    assert len(keys) == 1, keys
    return keys[0]


def _queue(db, to: str, replies) -> None:
    with db.session() as s:
        s.add(
            OutboxMessage(
                channel="web",
                kind="push",
                to=to,
                messages=[reply_to_dict(r) for r in replies],
                retry_key=str(uuid.uuid4()),
            )
        )


def test_resident_chats_with_keyboard_and_quick_replies(live_server, browser, db):
    from playwright.sync_api import expect

    context = browser.new_context(
        locale="zh-TW", viewport={"width": 1000, "height": 800}, reduced_motion="reduce"
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server) else outside.append(r.url))

    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-Hant-TW"
    bot = page.locator(".msg.bot")
    expect(bot.first).to_contain_text("citizenbot")  # the welcome on load

    # The message box has an accessible name and has the focus: type, press Enter.
    box = page.get_by_role("textbox", name="輸入訊息")
    expect(box).to_be_focused()
    page.keyboard.type("轉真人")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.user").last).to_have_text("您：轉真人")
    expect(bot.last).to_contain_text("服務人員")
    expect(box).to_have_value("")

    page.keyboard.type("選單")
    page.keyboard.press("Enter")
    expect(bot.last).to_contain_text("請選擇您需要的服務")
    quick = page.get_by_role("group", name="快速回覆選項")
    expect(quick.get_by_role("button", name="路面通報")).to_be_visible()

    # Keyboard only: Shift+Tab from the box reaches the last quick reply (轉真人); Enter picks it.
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "轉真人"
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert ring[0] != "none" and ring[1] >= 2, ring  # a visible focus ring
    before = bot.count()
    page.keyboard.press("Enter")
    expect(bot).to_have_count(before + 1)
    expect(bot.last).to_contain_text("服務人員")
    expect(box).to_be_focused()  # focus returns to the message box

    # A quick reply chosen with the mouse.
    page.keyboard.type("取消")
    page.keyboard.press("Enter")
    expect(bot.last).to_contain_text("已取消")
    before = bot.count()
    quick.get_by_role("button", name="法律諮詢").click()
    expect(page.locator(".msg.user").last).to_have_text("您：法律諮詢")
    expect(bot).to_have_count(before + 1)

    # A staff notification with rich replies.
    me = _web_user(db)
    _queue(
        db,
        me,
        [
            Text("詳情請見 https://example.org/case?id=1。\n第二行 <img src=x onerror=alert(1)>"),
            Cards(
                "法律諮詢地點",
                (
                    Card(
                        "苓雅區聯合服務中心",
                        "週一至週五 14:00–17:00",
                        (
                            Choice(label="預約", text="預約法律諮詢"),
                            Choice(label="官網", action="uri", uri="https://example.org/"),
                        ),
                    ),
                    Card(
                        "危險按鈕",
                        "不應出現 javascript 連結",
                        (Choice(label="壞", action="uri", uri="javascript:alert(1)"),),
                    ),
                ),
            ),
            Place(
                "高雄市政府四維行政中心",
                "高雄市苓雅區四維三路2號",
                22.6227,
                120.3128,
                (Choice(label="傳送位置", action="location"),),
            ),
        ],
    )
    page.reload()  # the page polls at once after a reload (and every ~15 s)
    note = page.locator(".msg.bot", has_text="詳情請見")
    expect(note).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never as HTML
    assert note.locator("img").count() == 0
    expect(note.get_by_role("link", name="https://example.org/case?id=1")).to_have_attribute(
        "href", "https://example.org/case?id=1"
    )
    assert "\n第二行" in note.inner_text()  # line breaks kept
    expect(page.get_by_role("heading", name="苓雅區聯合服務中心")).to_be_visible()
    expect(page.get_by_role("link", name="官網")).to_have_attribute("href", "https://example.org/")
    assert page.locator("a[href^='javascript']").count() == 0
    expect(page.get_by_role("link", name=re.compile("Google 地圖"))).to_have_attribute(
        "href", "https://www.google.com/maps?q=22.6227,120.3128"
    )

    # The place's 'location' quick reply opens a small form; coordinates go as a location.
    quick.get_by_role("button", name="傳送位置").click()
    where = page.get_by_label(re.compile("請輸入地址"))
    expect(where).to_be_focused()
    page.keyboard.type("22.62,120.31")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.user").last).to_contain_text("22.62, 120.31")
    # 法律諮詢 was the last service chosen, and it offered 「離我最近」: the point goes there.
    expect(bot.last).to_contain_text("最近的免費法律諮詢地點")

    page.screenshot(path=str(SCREENSHOT), full_page=False)

    # A phone: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A reload shows the same conversation without a second welcome.
    count = bot.count()
    page.reload()
    expect(bot).to_have_count(count)
    assert problems == [], problems
    assert outside == [], outside  # nothing loaded from another origin
    context.close()


def test_notifications_arrive_by_polling(live_server, browser, db):
    """The page asks /api/chat/updates when it becomes visible and every ~15 s."""
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-TW")
    page = context.new_page()
    page.goto(live_server + "/")
    expect(page.locator(".msg.bot").first).to_contain_text("citizenbot")
    _queue(db, _web_user(db), [Text("服務人員回覆：您好，請問路燈的位置？")])
    # A reload polls at once (the transcript is kept, so no new welcome).
    page.reload()
    expect(page.locator(".msg.bot").last).to_contain_text("服務人員回覆")
    with db.session() as s:
        assert s.scalars(select(OutboxMessage.status)).all() == ["sent"]
    context.close()
