"""Buttons outlive flows and their data can be tampered with: every postback gets an answer.

A seeded random walk through the real buttons collects the postback data the services
emit; each is then replayed with one field replaced by junk, out of order, by several users.
"""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode

from bot.messages import Location, Message

TEXTS = ["路燈壞了", "鳳山法律諮詢", "我要預約法律諮詢", "手語", "查詢案件", "我要提議", "我要附議", "轉真人",
         "選單", "明天", "週三", "12/5", "14:15", "王小明", "0912345678", "離婚", "確認", "1", "略過"]  # fmt: skip
JUNK = ["", "abc", "-1", "99999999", "2026-13-45", "2020-01-01", "25:99", "%", "x" * 40, "0", "1e9", "None"]


def _collect(replies, seen):
    assert replies, "every message gets an answer"
    for r in replies:
        for c in [*getattr(r, "choices", ()), *(b for card in getattr(r, "cards", ()) for b in card.buttons)]:
            if c.data:
                assert len(c.data) <= 300  # LINE's postback limit
                seen.add(c.data)


def test_tampered_and_stale_postbacks_always_get_an_answer(engine):
    rng = random.Random(7)
    seen: set[str] = set()
    for walk in range(15):
        user = f"web:walk{walk}"
        _collect(engine.handle(Message(user, "web", "text", text=rng.choice(TEXTS))), seen)
        for _ in range(10):
            roll = rng.random()
            if seen and roll < 0.7:
                msg = Message(user, "web", "postback", data=rng.choice(sorted(seen)))
            elif roll < 0.85:
                msg = Message(user, "web", "location", location=Location(22.62, 120.31, "高雄市苓雅區"))
            else:
                msg = Message(user, "web", "text", text=rng.choice(TEXTS))
            _collect(engine.handle(msg), seen)
    assert len(seen) > 50, "the walk reached the services' buttons"
    # Every field any button uses, set to junk on every kind of button (kept apart by its keys):
    # a field a button has is spoiled, one it lacks is added (paging on a first page, say).
    kinds = {tuple(sorted(dict(parse_qsl(d)))): d for d in sorted(seen)}
    every_key = sorted({k for d in seen for k in dict(parse_qsl(d))} - {"intent", "flow", "cmd"})
    n = 0
    for data in kinds.values():
        original = dict(parse_qsl(data, keep_blank_values=True))
        for key in sorted(set(original) | set(every_key)):
            fields = {**original, key: rng.choice(JUNK[1:])}
            _collect(engine.handle(Message(f"web:z{n % 5}", "web", "postback", data=urlencode(fields))), set())
            n += 1
    assert n > 40
