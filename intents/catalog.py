"""What the matcher learns from: built-in intents (YAML in the repo) and FAQ entries (database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import yaml


@dataclass(frozen=True)
class Intent:
    id: str
    kind: Literal["builtin", "faq"]
    title: str  # short label for quick replies (LINE: at most 20 characters)
    examples: tuple[str, ...]
    answer: str | None = None  # FAQ only
    url: str | None = None  # FAQ only: where the official text lives
    organ: str | None = None  # FAQ only: the agency that answers
    # Built-in intents may name words that, alone, strongly point at them.
    keywords: tuple[str, ...] = field(default=())


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
            intents.append(
                Intent(
                    id=intent_id,
                    kind="builtin",
                    title=item.get("title", intent_id),
                    examples=tuple(item.get("examples", [])),
                    keywords=tuple(item.get("keywords", [])),
                )
            )
    return intents


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
    )
