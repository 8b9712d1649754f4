"""Citizen proposals (想提議), the service layer.

A resident submits a proposal; staff review it; an approved proposal is open for
co-signing for 45 days; with 1,500 co-signs it becomes a formal case that the
responsible agency must answer. One co-sign per person (per chat account) and
proposal, enforced by a unique constraint; the count is updated atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import outbox
from bot.jobs import periodic
from bot.messages import Text
from bot.models import Proposal, ProposalCosign

COSIGN_GOAL = 1500
COSIGN_DAYS = 45
TITLE_LIMITS = (5, 40)
BODY_LIMITS = (20, 2000)

STATUS_LABELS = {
    "pending_review": "審查中",
    "open": "附議中",
    "rejected": "未通過審查",
    "passed": "已成案，待機關回應",
    "expired": "附議期滿未成案",
    "answered": "機關已回應",
}

_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"[ \t\u3000]+")


class ProposalError(Exception):
    """A request that cannot be done; `message` is shown to the resident or staff as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def clean_text(text: str) -> str:
    """Plain text only: tags dropped (proposals are shown to others), spaces folded."""
    text = _TAGS.sub("", text or "")
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line).strip()


def check_title(title: str) -> str:
    title = clean_text(title).replace("\n", " ")
    low, high = TITLE_LIMITS
    if not low <= len(title) <= high:
        raise ProposalError(f"標題請寫 {low} 到 {high} 個字（目前 {len(title)} 字）。")
    return title


def check_body(body: str) -> str:
    body = clean_text(body)
    low, high = BODY_LIMITS
    if not low <= len(body) <= high:
        raise ProposalError(
            f"內容請寫 {low} 到 {high} 個字，說明現況、建議做法與理由（目前 {len(body)} 字）。"
        )
    return body


def submit(session: Session, user_key: str, title: str, body: str, now: datetime) -> Proposal:
    proposal = Proposal(
        title=check_title(title),
        body=check_body(body),
        proposer_key=user_key,
        status="pending_review",
        cosign_count=0,
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    return proposal


def get(session: Session, proposal_id: int | str | None) -> Proposal | None:
    try:
        return session.get(Proposal, int(proposal_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def open_proposals(session: Session, now: datetime, limit: int = 10) -> list[Proposal]:
    stmt = (
        select(Proposal)
        .where(Proposal.status == "open", Proposal.deadline > now)
        .order_by(Proposal.cosign_count.desc(), Proposal.deadline.asc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def mine(session: Session, user_key: str, limit: int = 10) -> list[Proposal]:
    stmt = (
        select(Proposal)
        .where(Proposal.proposer_key == user_key)
        .order_by(Proposal.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def has_cosigned(session: Session, proposal_id: int, user_key: str) -> bool:
    stmt = select(ProposalCosign.id).where(
        ProposalCosign.proposal_id == proposal_id, ProposalCosign.user_key == user_key
    )
    return session.scalar(stmt) is not None


@dataclass(frozen=True)
class CosignResult:
    proposal: Proposal
    already: bool
    just_passed: bool


def cosign(session: Session, proposal_id: int, user_key: str, now: datetime) -> CosignResult:
    proposal = get(session, proposal_id)
    if proposal is None:
        raise ProposalError("找不到這項提議，可能已被移除。")
    if proposal.proposer_key == user_key:
        raise ProposalError("這是您提出的提議，不需要附議自己的提議喔。")
    if proposal.status != "open" or (proposal.deadline and proposal.deadline <= now):
        raise ProposalError(f"這項提議目前{STATUS_LABELS.get(proposal.status, '無法附議')}，無法附議。")
    try:
        with session.begin_nested():
            session.add(ProposalCosign(proposal_id=proposal.id, user_key=user_key, created_at=now))
    except IntegrityError:
        return CosignResult(proposal, already=True, just_passed=False)
    # Atomic increment: concurrent co-signs in several workers all count.
    session.execute(
        update(Proposal).where(Proposal.id == proposal.id).values(cosign_count=Proposal.cosign_count + 1)
    )
    session.refresh(proposal)
    just_passed = False
    if proposal.cosign_count >= COSIGN_GOAL:
        # Only one transaction moves it to passed, whoever crossed the line.
        moved = session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id, Proposal.status == "open")
            .values(status="passed", passed_at=now)
        ).rowcount
        if moved:
            session.refresh(proposal)
            just_passed = True
            outbox.notify(
                session,
                proposal.proposer_key,
                [
                    Text(
                        f"恭喜！您的提議「{proposal.title}」已達 {COSIGN_GOAL:,} 人附議而成案，將由主管機關回應是否採納。"
                    )
                ],
            )
    return CosignResult(proposal, already=False, just_passed=just_passed)


def review(
    session: Session,
    proposal_id: int,
    approve: bool,
    reviewer: str,
    now: datetime,
    note: str | None = None,
    agency: str | None = None,
) -> Proposal:
    proposal = session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise ProposalError(f"proposal {proposal_id} does not exist")
    if proposal.status != "pending_review":
        raise ProposalError(f"proposal {proposal_id} is {proposal.status}, not pending_review")
    proposal.reviewed_by = reviewer
    proposal.review_note = note
    proposal.agency = agency
    if approve:
        proposal.status = "open"
        proposal.opened_at = now
        proposal.deadline = now + timedelta(days=COSIGN_DAYS)
        text = (
            f"您的提議「{proposal.title}」已通過審查，開放附議 {COSIGN_DAYS} 天；"
            f"{COSIGN_GOAL:,} 人附議即成案。歡迎分享給親友，在「連署提議」中附議。"
        )
    else:
        if not note:
            raise ProposalError("a rejection needs a note for the resident (--note)")
        proposal.status = "rejected"
        text = f"您的提議「{proposal.title}」未通過審查。說明：{note}\n如有疑問請撥 1999。"
    outbox.notify(session, proposal.proposer_key, [Text(text)])
    return proposal


def respond(session: Session, proposal_id: int, response: str, by: str) -> Proposal:
    """The agency's answer to a passed proposal; the proposer and every co-signer are told."""
    proposal = session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise ProposalError(f"proposal {proposal_id} does not exist")
    if proposal.status != "passed":
        raise ProposalError(
            f"proposal {proposal_id} is {proposal.status}; only passed proposals are answered"
        )
    response = clean_text(response)
    if not response:
        raise ProposalError("the response is empty")
    proposal.status = "answered"
    proposal.response = response
    proposal.reviewed_by = by
    text = f"提議「{proposal.title}」已獲{proposal.agency or '主管機關'}回應：\n{response[:1500]}"
    recipients = {proposal.proposer_key}
    recipients.update(
        session.scalars(select(ProposalCosign.user_key).where(ProposalCosign.proposal_id == proposal.id))
    )
    for user_key in sorted(recipients):
        outbox.notify(session, user_key, [Text(text)])
    return proposal


@periodic
def expire_proposals(session: Session, now: datetime) -> None:
    """Open proposals past their 45 days without enough co-signs: expired, proposer told."""
    stmt = select(Proposal).where(Proposal.status == "open", Proposal.deadline <= now).with_for_update()
    for proposal in session.scalars(stmt):
        proposal.status = "expired"
        outbox.notify(
            session,
            proposal.proposer_key,
            [
                Text(
                    f"您的提議「{proposal.title}」附議期已滿，共 {proposal.cosign_count:,} 人附議，"
                    f"未達 {COSIGN_GOAL:,} 人，未能成案。謝謝您的參與！"
                )
            ],
        )


def progress_text(proposal: Proposal, now: datetime) -> str:
    label = STATUS_LABELS.get(proposal.status, proposal.status)
    if proposal.status == "open" and proposal.deadline:
        days = max(0, (proposal.deadline - now).days)
        return f"{label}・{proposal.cosign_count:,}/{COSIGN_GOAL:,} 人・剩 {days} 天"
    if proposal.status in ("passed", "answered", "expired"):
        return f"{label}・{proposal.cosign_count:,} 人附議"
    return label
