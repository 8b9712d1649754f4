"""The terminal channel: `citizenbot chat [--user ID]`, through the same engine as LINE.

Replies print as text; buttons print as a numbered list and typing a number
picks one. "lat,lng" is sent as a location, anything else as text (an address
typed when a flow asks for a place is text, as on LINE). Works on a pipe too:
without a terminal the typed lines are echoed, so the output reads as a transcript.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.messages import Cards, Choice, Location, Message, Place, Reply, Text, reply_from_dict

if TYPE_CHECKING:
    from flask import Flask

COORDS_RE = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,，]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
BOT = "小幫手> "
YOU = "您> "
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """(lat, lng) when the text is just coordinates within range, else None."""
    m = COORDS_RE.match(text)
    if not m:
        return None
    lat, lng = float(m.group(1)), float(m.group(2))
    if abs(lat) > 90 or abs(lng) > 180:
        return None
    return lat, lng


@dataclass
class _Session:
    user_key: str
    engine: object
    out: TextIO
    inp: TextIO
    echo: bool
    options: tuple[Choice, ...] = ()

    # --- output --------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def render(self, replies: list[Reply]) -> None:
        numbered: list[Choice] = []
        for reply in replies:
            if isinstance(reply, Text):
                lines = reply.text.split("\n")
                self.say("\n".join([BOT + lines[0], *(f"    {x}" if x else "" for x in lines[1:])]))
            elif isinstance(reply, Cards):
                self.say(BOT + reply.alt_text)
                for card in reply.cards:
                    self.say(f"  ■ {card.title}")
                    for line in card.body.splitlines():
                        self.say(f"    {line}")
                    for button in card.buttons:
                        numbered.append(button)
                        self.say(f"    {self._option_line(len(numbered), button)}")
            elif isinstance(reply, Place):
                self.say(f"{BOT}📍 {reply.title}\n    {reply.address}")
                self.say(f"    地圖：https://www.google.com/maps?q={reply.latitude},{reply.longitude}")
        # Only the last reply's quick replies count (as on LINE).
        quick = replies[-1].choices if replies else ()
        for choice in quick:
            numbered.append(choice)
            self.say(f"  {self._option_line(len(numbered), choice)}")
        if numbered:
            self.say("  （輸入編號選擇，或直接輸入文字）")
        self.options = tuple(numbered)

    @staticmethod
    def _option_line(number: int, choice: Choice) -> str:
        if choice.action == "uri":
            return f"{number}. {choice.label}（{choice.uri}）"
        return f"{number}. {choice.label}"

    # --- input ---------------------------------------------------------------
    def read(self, prompt: str = YOU) -> str | None:
        """One line, or None at end of input."""
        if self.echo:
            line = self.inp.readline()
            if not line:
                return None
            line = line.rstrip("\r\n")
            self.say(prompt + line)
            return line
        try:
            return input(prompt)
        except EOFError:
            return None

    def send(self, msg: Message) -> None:
        self.render(self.engine.handle(msg))

    def message(self, kind: str, **fields) -> Message:
        return Message(self.user_key, "console", kind, **fields)

    def typed(self, line: str) -> Message:
        coords = parse_coordinates(line)
        if coords is not None:
            return self.message("location", location=Location(*coords))
        return self.message("text", text=line)

    def choose(self, choice: Choice) -> Message | None:
        """The message a picked button sends (None when nothing is sent)."""
        if choice.action == "postback":
            if choice.text:
                self.say(f"    （{choice.text}）")
            return self.message("postback", data=choice.data)
        if choice.action == "uri":
            self.say(f"    請開啟：{choice.uri}")
            return None
        if choice.action == "location":
            line = self.read("請輸入地址，或「緯度,經度」（例如 22.627,120.301）> ")
            return self.typed(line.strip()) if line and line.strip() else None
        if choice.action in ("camera", "camera_roll"):
            line = self.read("請輸入照片檔案的路徑> ")
            if not line or not line.strip():
                return None
            return self.image(line.strip())
        return self.message("text", text=choice.text or choice.label)

    def image(self, path_text: str) -> Message | None:
        path = Path(path_text).expanduser()
        try:
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                self.say("照片太大了，請選擇 5 MB 以下的照片。")
                return None
            return self.message("image", image_bytes=path.read_bytes())
        except OSError:
            self.say(f"讀不到這個檔案：{path}")
            return None

    # --- pending notifications ---------------------------------------------------------
    def deliver_pending(self) -> None:
        """Notifications for this terminal user (outbox rows for the console), once."""
        from datetime import UTC, datetime

        from sqlalchemy import select

        from bot.models import OutboxMessage

        db = self.engine.db
        with db.session() as s:
            rows = s.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == "console",
                    OutboxMessage.to == self.user_key,
                    OutboxMessage.status == "pending",
                )
                .order_by(OutboxMessage.id)
            ).all()
            replies: list[Reply] = []
            for row in rows:
                try:
                    replies.extend(reply_from_dict(m) for m in row.messages)
                except (TypeError, ValueError, KeyError):
                    row.status = "failed"
                    continue
                row.status = "sent"
                row.sent_at = datetime.now(UTC)
        if replies:
            self.say("（新通知）")
            self.render(replies)


def _app_from_env() -> Flask:
    """The app as `citizenbot serve` would build it, on an up-to-date schema."""
    from bot.app import create_app
    from bot.config import Settings
    from bot.db import upgrade
    from bot.faq_store import seed_builtin_faq

    settings = Settings.from_env()
    upgrade(settings.database_url)
    seed_builtin_faq(settings.database_url)
    # No delivery thread in a terminal session: the server's worker or `citizenbot jobs run`
    # sends what this conversation queues for others.
    return create_app({"SETTINGS": settings.with_overrides(outbox_worker=False)})


def run_console(
    user: str = "local",
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    app: Flask | None = None,
) -> int:
    """Talk to the bot until end of input. Returns the exit status."""
    inp = stdin or sys.stdin
    out = stdout or sys.stdout
    user = (user or "local").strip()[:100] or "local"
    interactive = stdin is None and inp.isatty() and out.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:  # pragma: no cover - not on every platform
            pass
    if app is None:
        app = _app_from_env()
    from bot.app import services
    from handlers import menu

    engine = services(app)["engine"]
    chat = _Session(f"console:{user}", engine, out, inp, echo=not interactive)
    chat.say(
        f"citizenbot 終端機對話（使用者 {user}）。輸入「選單」看服務，「取消」結束目前服務；Ctrl-D 離開。"
    )
    try:
        with app.app_context():
            # The welcome without a follow event: a running flow survives a restart.
            chat.render(menu.welcome())
            while True:
                chat.deliver_pending()
                line = chat.read()
                if line is None:
                    break
                line = line.strip()
                if not line:
                    continue
                # A number picks a listed button; other numbers (a case number…) are text.
                if line.isdigit() and 1 <= int(line) <= len(chat.options):
                    msg = chat.choose(chat.options[int(line) - 1])
                    if msg is None:
                        continue
                else:
                    msg = chat.typed(line)
                chat.send(msg)
    except KeyboardInterrupt:
        chat.say()
        return 130
    chat.say("\n再見！需要協助請撥 1999。")
    return 0
