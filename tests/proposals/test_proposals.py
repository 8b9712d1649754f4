"""想提議: submit, review, co-sign (once each, also concurrently), pass at 1,500, expire, answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import proposals as service
from bot.cli import main as cli
from bot.jobs import run_all
from bot.messages import Cards, Message, Text
from bot.models import OutboxMessage, Proposal, ProposalCosign
from handlers import postback

PROPOSER = "line:Uproposer0000000000000000000000001"


def send(engine, user, text=None, data=None):
    kind = "postback" if data else "text"
    return engine.handle(Message(user, user.split(":")[0], kind, text=text, data=data))


def texts(replies):
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def pushes_to(db, user_key):
    to = user_key.split(":", 1)[1]
    with db.session() as s:
        return list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.to == to, OutboxMessage.kind == "push"))
        )


def open_proposal(db, title="增設鳳山區公共自行車站", count=0, deadline_days=45):
    now = datetime.now(UTC)
    with db.session() as s:
        p = Proposal(
            title=title,
            body="鳳山火車站周邊缺少公共自行車站，建議增設以方便通勤與轉乘。",
            proposer_key=PROPOSER,
            status="open",
            cosign_count=count,
            opened_at=now,
            deadline=now + timedelta(days=deadline_days),
            created_at=now,
        )
        s.add(p)
        s.flush()
        return p.id


def test_submit_flow_validates_and_stores_plain_text(engine, db):
    out = texts(send(engine, PROPOSER, data=postback(intent="proposal_submit")))
    assert "請先輸入提議的標題" in out
    assert "標題請寫" in texts(send(engine, PROPOSER, "公園"))  # 2 characters: too short
    out = texts(send(engine, PROPOSER, "<b>增設鳳山區公共自行車站</b>"))
    assert "標題：「增設鳳山區公共自行車站」" in out
    assert "內容請寫" in texts(send(engine, PROPOSER, "很需要"))
    body = "鳳山火車站周邊缺少公共自行車站<script>alert(1)</script>，建議增設以方便通勤與轉乘。"
    out = texts(send(engine, PROPOSER, body))
    assert "請確認您的提議" in out and "<script>" not in out
    out = texts(send(engine, PROPOSER, data=postback(flow="proposal_submit", p="send")))
    assert "已收到您的提議" in out
    with db.session() as s:
        p = s.scalars(select(Proposal)).one()
        assert p.status == "pending_review" and p.proposer_key == PROPOSER
        assert "<" not in p.title + p.body
    assert "審查中" in texts(send(engine, PROPOSER, data=postback(flow="proposal_submit", p="mine")))


def test_review_opens_for_45_days_and_tells_the_proposer(engine, db, monkeypatch, database_url):
    send(engine, PROPOSER, data=postback(intent="proposal_submit"))
    send(engine, PROPOSER, "增設鳳山區公共自行車站")
    send(engine, PROPOSER, "鳳山火車站周邊缺少公共自行車站，建議增設以方便通勤與轉乘。")
    send(engine, PROPOSER, "確認送出")
    with db.session() as s:
        pid = s.scalars(select(Proposal.id)).one()
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli(["proposal", "review", str(pid), "--reject", "--by", "staff"]) == 1  # a note is required
    assert cli(["proposal", "review", str(pid), "--approve", "--agency", "交通局", "--by", "staff"]) == 0
    assert cli(["proposal", "review", str(pid), "--approve", "--by", "staff"]) == 1  # not pending any more
    with db.session() as s:
        p = s.get(Proposal, pid)
        assert p.status == "open"
        assert p.deadline - p.opened_at == timedelta(days=45)
    [push] = pushes_to(db, PROPOSER)
    assert "已通過審查" in push.messages[0]["text"]


def test_cosign_once_per_person_through_buttons(engine, db):
    pid = open_proposal(db)
    replies = send(engine, "web:resident1", data=postback(intent="proposal_cosign"))
    cards = [r for r in replies if isinstance(r, Cards)]
    assert cards and cards[0].cards[0].title == "增設鳳山區公共自行車站"
    assert "確定要附議" in texts(
        send(engine, "web:resident1", data=postback(flow="proposal_cosign", p="cosign", id=pid))
    )
    out = texts(send(engine, "web:resident1", data=postback(flow="proposal_cosign", p="confirm", id=pid)))
    assert "目前 1 人附議" in out
    out = texts(send(engine, "web:resident1", data=postback(flow="proposal_cosign", p="confirm", id=pid)))
    assert "已附議過" in out
    assert "不需要附議自己" in texts(
        send(engine, PROPOSER, data=postback(flow="proposal_cosign", p="confirm", id=pid))
    )
    out = texts(send(engine, "web:resident2", data=postback(flow="proposal_cosign", p="confirm", id=999999)))
    assert "找不到這項提議" in out
    with db.session() as s:
        assert s.get(Proposal, pid).cosign_count == 1
        assert len(s.scalars(select(ProposalCosign)).all()) == 1


def test_concurrent_cosigns_all_count_once(db):
    pid = open_proposal(db)
    users = [f"line:U{i:032d}" for i in range(12)] * 2  # each person twice, all at once
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def worker(user):
        try:
            barrier.wait()
            with db.session() as s:
                service.cosign(s, pid, user, datetime.now(UTC))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.session() as s:
        assert s.get(Proposal, pid).cosign_count == 12
        assert len(s.scalars(select(ProposalCosign)).all()) == 12


def test_the_1500th_cosign_passes_it_once_and_answer_reaches_everyone(engine, db):
    pid = open_proposal(db, count=service.COSIGN_GOAL - 1)
    out = texts(send(engine, "line:Ulast", data=postback(flow="proposal_cosign", p="confirm", id=pid)))
    assert "已達 1,500 人而成案" in out
    assert "無法附議" in texts(
        send(engine, "line:Ulate", data=postback(flow="proposal_cosign", p="confirm", id=pid))
    )
    passed = [m for m in pushes_to(db, PROPOSER) if "成案" in m.messages[0]["text"]]
    assert len(passed) == 1
    with db.session() as s:
        service.respond(s, pid, "本局將於明年度預算增設 3 站。", by="交通局")
    assert any("增設 3 站" in m.messages[0]["text"] for m in pushes_to(db, "line:Ulast"))
    assert any("增設 3 站" in m.messages[0]["text"] for m in pushes_to(db, PROPOSER))


def test_expiry_job_closes_past_deadline_proposals(db):
    pid = open_proposal(db, count=10, deadline_days=-1)
    keep = open_proposal(db, title="延長圖書館開放時間到晚上十點", count=10)
    run_all(db)
    run_all(db)  # idempotent: the proposer is told once
    with db.session() as s:
        assert s.get(Proposal, pid).status == "expired"
        assert s.get(Proposal, keep).status == "open"
    assert len([m for m in pushes_to(db, PROPOSER) if "附議期已滿" in m.messages[0]["text"]]) == 1
