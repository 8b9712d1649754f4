"""The unanswered-questions log: fallbacks and 都不是 answers, grouped for staff.

Every message the bot could not place is already in `message_log` (decision
`fallback`, or `none_of_these` when the resident rejected the suggestions).
`groups()` clusters the open ones by similarity so staff see "the same question
asked 14 ways" once, and `resolve()` turns a group into examples of an intent or
into a new FAQ entry in one step; the matcher picks the change up in every worker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import IntentExample, MessageLog

UNANSWERED = ("fallback", "none_of_these")
# Two questions belong together at this rapidfuzz ratio of their normalized text.
GROUP_SIMILARITY = 55.0
MAX_ROWS = 5000


@dataclass
class Group:
    id: int  # the smallest log id in the group: stable while the group lives
    texts: Counter = field(default_factory=Counter)  # normalized text -> times asked
    examples: dict[str, str] = field(default_factory=dict)  # normalized -> one original wording
    log_ids: list[int] = field(default_factory=list)
    candidates: Counter = field(default_factory=Counter)  # intent id -> times it was a candidate
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def size(self) -> int:
        return sum(self.texts.values())

    def as_json(self) -> dict:
        return {
            "group": self.id,
            "count": self.size,
            "texts": [{"text": self.examples[k], "count": n} for k, n in self.texts.most_common()],
            "candidates": [i for i, _ in self.candidates.most_common(3)],
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


def open_rows(session: Session, limit: int = MAX_ROWS) -> list[MessageLog]:
    stmt = (
        select(MessageLog)
        .where(MessageLog.decision.in_(UNANSWERED), MessageLog.resolved_at.is_(None))
        .order_by(MessageLog.id.desc())
        .limit(limit)
    )
    return [r for r in session.scalars(stmt) if (r.normalized or "").strip()]


def groups(session: Session, similarity: float = GROUP_SIMILARITY) -> list[Group]:
    """Open unanswered messages clustered by similarity, largest group first."""
    rows = open_rows(session)
    by_text: dict[str, list[MessageLog]] = {}
    for row in rows:
        by_text.setdefault(row.normalized, []).append(row)
    keys = sorted(by_text, key=lambda k: (-len(by_text[k]), min(r.id for r in by_text[k])))
    if not keys:
        return []
    # One C-level pass over all pairs; fine for the few thousand open rows staff face.
    matrix = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=similarity, workers=1)
    assigned = [-1] * len(keys)
    result: list[Group] = []
    for i in range(len(keys)):
        if assigned[i] >= 0:
            continue
        members = [j for j in range(len(keys)) if assigned[j] < 0 and matrix[i][j] >= similarity]
        group = Group(id=0)
        for j in members:
            assigned[j] = len(result)
            for row in by_text[keys[j]]:
                group.texts[keys[j]] += 1
                group.examples.setdefault(keys[j], row.text or keys[j])
                group.log_ids.append(row.id)
                for cand in row.candidates or ():
                    group.candidates[cand.get("intent")] += 1
                seen = row.created_at
                group.first_seen = min(group.first_seen or seen, seen)
                group.last_seen = max(group.last_seen or seen, seen)
        group.id = min(group.log_ids)
        result.append(group)
    result.sort(key=lambda g: (-g.size, g.id))
    return result


class ResolveError(Exception):
    pass


def resolve(
    session: Session,
    group_id: int,
    now: datetime,
    by: str,
    intent_id: str | None = None,
    new_faq: dict | None = None,
    ignore: bool = False,
    known_intents: set[str] | None = None,
) -> Group:
    """Turn a group into examples of `intent_id`, into a new FAQ entry, or dismiss it."""
    if sum(x is not None and x is not False for x in (intent_id, new_faq, ignore or None)) != 1:
        raise ResolveError("choose exactly one of: an intent, a new FAQ entry, or ignore")
    group = next((g for g in groups(session) if g.id == group_id), None)
    if group is None:
        raise ResolveError(f"no open group {group_id} (run `citizenbot unanswered` for the current list)")
    wordings = [group.examples[k] for k, _ in group.texts.most_common()]

    from bot import faq_store
    from intents.provider import bump_catalog_version

    try:
        if new_faq is not None:
            entry = faq_store.add_entry(
                session,
                question=new_faq["question"],
                answer=new_faq["answer"],
                entry_id=new_faq.get("id"),
                examples=wordings,
                url=new_faq.get("url"),
                by=by,
            )
            resolved_as = entry.id
        elif intent_id is not None and intent_id.startswith("faq."):
            # Through the FAQ store: examples on an imported entry must not mark its text as
            # staff-edited, or later imports from the city would stop updating it.
            entry, _changed = faq_store.edit_entry(session, intent_id, add_examples=wordings, by=by)
            resolved_as = entry.id
        elif intent_id is not None:
            if known_intents is not None and intent_id not in known_intents:
                raise ResolveError(f"unknown intent {intent_id}")
            for text in wordings:
                session.add(IntentExample(intent_id=intent_id, text=text, added_by=by, created_at=now))
            bump_catalog_version(session)
            resolved_as = intent_id
        else:
            resolved_as = "ignored"
    except faq_store.FaqError as e:
        raise ResolveError(str(e)) from e
    session.execute(
        update(MessageLog)
        .where(MessageLog.id.in_(group.log_ids))
        .values(resolved_at=now, resolved_as=resolved_as)
    )
    return group
