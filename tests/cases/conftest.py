"""Helpers for the case tests: talk to the engine, create cases directly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import cases
from bot.messages import Location, Message, Text

# Minimal valid image headers; content beyond the magic bytes is not inspected.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# 高雄市政府四維行政中心 (苓雅區) and a point about 20 m from it.
CITY_HALL = (22.62069, 120.31201)
NEAR_CITY_HALL = (22.62085, 120.31205)
TAIPEI_101 = (25.0340, 121.5645)


def msg(user: str, kind: str = "text", **kw) -> Message:
    return Message(user, user.split(":")[0], kind, **kw)


def text_of(replies) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Text))


class Talker:
    def __init__(self, engine, user: str = "console:r1"):
        self.engine = engine
        self.user = user
        self.last = []

    def __call__(self, text: str | None = None, **kw) -> str:
        if text is not None:
            m = msg(self.user, "text", text=text)
        elif "postback" in kw:
            m = msg(self.user, "postback", data=kw["postback"])
        elif "location" in kw:
            lat, lng = kw["location"]
            m = msg(self.user, "location", location=Location(lat, lng, kw.get("address")))
        elif "image" in kw:
            m = msg(self.user, "image", image_bytes=kw["image"])
        else:
            raise TypeError(kw)
        self.last = self.engine.handle(m)
        return text_of(self.last)

    def choice_data(self, label: str) -> str:
        for reply in self.last:
            for c in getattr(reply, "choices", ()):
                if c.label == label:
                    return c.data or c.text
        raise AssertionError(
            f"no choice {label!r} in {[c.label for r in self.last for c in getattr(r, 'choices', ())]}"
        )

    def press(self, label: str) -> str:
        data = self.choice_data(label)
        if "=" in data:
            return self(postback=data)
        return self(data)


@pytest.fixture
def talk(engine):
    return lambda user="console:r1": Talker(engine, user)


def make_case(db, *, user="line:Uowner", category="pothole", at=None, latlng=CITY_HALL, district="苓雅區"):
    now = at or datetime.now(UTC)
    with db.session() as s:
        case, code, _ = cases.create_case(
            s,
            cases.NewCase(
                kind="D",
                source=user.split(":")[0],
                category=category,
                latitude=latlng[0],
                longitude=latlng[1],
                district=district,
                address="四維三路2號",
                reporter_key=user,
            ),
            now,
        )
        return case.number, code
