"""轉真人: the request is recorded, staff see it, answer it in the resident's chat, close it."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.cli import main as cli
from bot.messages import Message
from bot.models import HumanAgentRequest, OutboxMessage


def test_staff_answer_a_request_in_the_residents_chat(engine, db, monkeypatch, database_url, capsys):
    user = "line:Uhuman000000000000000000000000001"
    engine.handle(Message(user, "line", "text", text="轉真人"))
    engine.handle(Message(user, "line", "text", text="我的低收入戶補助申請一直沒下來"))
    monkeypatch.setenv("DATABASE_URL", database_url)

    assert cli(["human", "list", "--json"]) == 0
    [request] = json.loads(capsys.readouterr().out)
    assert request["status"] == "open" and "低收入戶補助" in request["text"]

    assert cli(["human", "reply", "999", "--text", "您好", "--by", "王小明"]) == 1
    assert cli(["human", "reply", str(request["id"]), "--text", "   ", "--by", "王小明"]) == 2
    assert (
        cli(
            [
                "human",
                "reply",
                str(request["id"]),
                "--text",
                "您好，已請社會局承辦人今天回電。",
                "--by",
                "王小明",
            ]
        )
        == 0
    )
    with db.session() as s:
        [push] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "push")).all()
        assert push.to == user.split(":", 1)[1]
        assert "社會局承辦人今天回電" in push.messages[0]["text"]
        row = s.get(HumanAgentRequest, request["id"])
        assert (row.status, row.handled_by) == ("answered", "王小明")

    capsys.readouterr()
    assert cli(["human", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # answered: no longer waiting
    assert cli(["human", "done", str(request["id"]), "--by", "王小明"]) == 0
    with db.session() as s:
        assert s.get(HumanAgentRequest, request["id"]).status == "done"
