"""What the matcher learns from: built-in intents (YAML in the repo) and FAQ entries (database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml

from data import shipped_phrasings


@dataclass(frozen=True)
class Intent:
    id: str
    kind: Literal["builtin", "faq"]
    title: str  # short label for quick replies (LINE: at most 20 characters)
    examples: tuple[str, ...]
    answer: str | None = None  # FAQ only
    url: str | None = None  # FAQ only: where the official text lives
    organ: str | None = None  # FAQ only: the agency that answers
    # Cues: each is a tuple of word groups; a message with a word of every group is a
    # clear request for this intent (路燈 + 不亮), scored `score` at least.
    cues: tuple[Cue, ...] = field(default=())
    # Slots whose mere presence points here (case_number → petition_status), with a score.
    slot_cues: tuple[tuple[str, float], ...] = field(default=())
    # Only about a place in Kaohsiung: a message naming another city is not this intent.
    kaohsiung_only: bool = False
    # FAQ only: residents' phrasings shipped with citizenbot (data/city_faq_phrasings.yaml),
    # kept apart from `examples` (the question and what staff taught) so the evaluation can
    # weigh them and switch them off.
    phrasings: tuple[str, ...] = ()
    # Built-in only: (example, slot value) for examples whose dispatch category no keyword
    # names (數倒了 擋到路); they are in `examples` too, and teach the category model.
    categorised: tuple[tuple[str, str], ...] = ()
    # Built-in only: words that mean a message is never this intent, whoever picks it (its cues
    # or the service model): 路由器 or 聖誕樹 in a message about blinking lights or a fallen tree.
    never: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cue:
    groups: tuple[tuple[str, ...], ...]
    score: float = 85.0
    # Words that veto the cue: 罷免 in 罷免連署 is not a city proposal, 新聞 in 手語新聞
    # is not a request for an interpreter.
    unless: tuple[str, ...] = ()


def _cue(item) -> Cue:
    if isinstance(item, dict):
        return Cue(
            tuple(tuple(str(w) for w in g) for g in item["groups"]),
            float(item.get("score", 85.0)),
            # A word list shared between cues through a YAML anchor arrives as one nested item.
            tuple(str(w) for u in item.get("unless", ()) for w in (u if isinstance(u, list) else (u,))),
        )
    return Cue(tuple(tuple(str(w) for w in g) for g in item))


def load_builtin_intents() -> list[Intent]:
    """Every `intents/builtin/*.yaml`, sorted by file name. Duplicate ids are refused."""
    intents: list[Intent] = []
    seen: set[str] = set()
    folder = resources.files("intents") / "builtin"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        doc = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for item in doc.get("intents", []):
            intent_id = item["id"]
            if intent_id in seen:
                raise ValueError(f"intent {intent_id!r} defined twice ({entry.name})")
            seen.add(intent_id)
            categorised = tuple(
                (str(example), str(category))
                for category, examples in (item.get("categorised") or {}).items()
                for example in examples
            )
            intents.append(
                Intent(
                    id=intent_id,
                    kind="builtin",
                    title=item.get("title", intent_id),
                    examples=(*item.get("examples", []), *(e for e, _ in categorised)),
                    categorised=categorised,
                    cues=tuple(_cue(c) for c in item.get("cues", [])),
                    slot_cues=tuple((str(k), float(v)) for k, v in (item.get("slot_cues") or {}).items()),
                    kaohsiung_only=bool(item.get("kaohsiung_only", False)),
                    never=tuple(str(w) for w in item.get("never", ())),
                )
            )
    return intents


@lru_cache(maxsize=1)
def load_out_of_scope() -> tuple[str, ...]:
    """Examples of messages no service answers (`out_of_scope:` lists in builtin/*.yaml)."""
    examples: list[str] = []
    folder = resources.files("intents") / "builtin"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            doc = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            examples.extend(str(e) for e in doc.get("out_of_scope", []))
    return tuple(examples)


def faq_intent(
    id: str,
    question: str,
    answer: str,
    examples: list[str] | tuple[str, ...] = (),
    url: str | None = None,
    organ: str | None = None,
) -> Intent:
    title = question if len(question) <= 20 else question[:19] + "…"
    return Intent(
        id=id,
        kind="faq",
        title=title,
        examples=(question, *examples),
        answer=answer,
        url=url,
        organ=organ,
        phrasings=shipped_phrasings(id, question),
    )
