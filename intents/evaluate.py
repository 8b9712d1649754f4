"""`citizenbot eval FILE`: how well the matcher understands a labelled dev set.

FILE is a TSV with a header: text, intent, category (optional), district
(optional). The matcher is built from the built-in intents plus the FAQ entries in
the database named by DATABASE_URL (if it has any), and optionally the city's FAQ
JSON (`--faq-json`). Prints accuracy, per-intent precision and recall, the
out-of-scope rejection rate, slot accuracy and the worst confusions.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalog import Intent, faq_intent, load_builtin_intents
from .matcher import Matcher

FALLBACK = "fallback"


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    category: str = ""
    district: str = ""


def load_rows(path: str | Path) -> list[Row]:
    """Read a dev set TSV (text, intent, category, district); a faq_paraphrases TSV (text, faq id) too."""
    rows: list[Row] = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or header[0] != "text":
            raise ValueError(f"{path}: the first line must be a header starting with 'text'")
        for n, cells in enumerate(reader, start=2):
            if not cells or not cells[0].strip() or cells[0].startswith("#"):
                continue
            if len(cells) < 2 or not cells[1].strip():
                raise ValueError(f"{path}:{n}: expected text<TAB>intent")
            cells = [c.strip() for c in cells] + ["", ""]
            rows.append(Row(cells[0], cells[1], cells[2], cells[3]))
    return rows


def load_faq_json(path: str | Path) -> list[Intent]:
    """The city's FAQ export as FAQ intents faq.<organ_no>.<seq> (what `faq import` stores)."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        faq_intent(
            f"faq.{it['organ_no']}.{it['seq']}",
            it["question"],
            it.get("answer") or "",
            url=it.get("url"),
            organ=it.get("organ"),
        )
        for it in items
        if it.get("question")
    ]


def database_faq_intents() -> list[Intent]:
    """FAQ rows of the database in DATABASE_URL; none when the database has no FAQ table yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.config import Settings
    from bot.db import Database

    from .provider import faq_intents

    db = Database(Settings.from_env().database_url)
    try:
        with db.sessionmaker() as session:
            return faq_intents(session)
    except SQLAlchemyError:
        return []
    finally:
        db.dispose()


def predict(matcher: Matcher, text: str) -> tuple[str, dict[str, str], list[str]]:
    """(intent or fallback, slots, ranked intents) as the engine would act on them."""
    verdict = matcher.match(text)
    ranked = [verdict.intent, *(i for i, _ in verdict.alternatives)] if verdict.intent != FALLBACK else []
    return verdict.intent, verdict.slots, ranked


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate(matcher: Matcher, rows: Sequence[Row], confusions: int = 25) -> dict:
    """Figures for one matcher on labelled rows. FAQ rows (faq.*) also count first/top-3 retrieval."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    support: Counter[str] = Counter()
    mistakes: list[dict] = []
    in_scope = in_ok = oos = oos_ok = 0
    cat_n = cat_ok = dist_n = dist_ok = 0
    faq_n = faq_first = faq_top3 = 0
    clarify = 0
    latencies: list[float] = []
    for row in rows:
        start = time.perf_counter()
        verdict = matcher.match(row.text)
        latencies.append(time.perf_counter() - start)
        pred = verdict.intent
        if verdict.decision == "clarify":
            clarify += 1
        support[row.intent] += 1
        if pred == row.intent:
            tp[pred] += 1
        else:
            fp[pred] += 1
            fn[row.intent] += 1
            mistakes.append(
                {
                    "text": row.text,
                    "expected": row.intent,
                    "got": pred,
                    "score": round(verdict.score, 1),
                    "alternatives": [f"{i} {s:.0f}" for i, s in verdict.alternatives[:2]],
                }
            )
        if row.intent == FALLBACK:
            oos += 1
            oos_ok += pred == FALLBACK
        else:
            in_scope += 1
            in_ok += pred == row.intent
        if row.intent.startswith("faq."):
            faq_n += 1
            ranked = [pred, *(i for i, _ in verdict.alternatives)] if pred != FALLBACK else []
            faq_first += ranked[:1] == [row.intent]
            faq_top3 += row.intent in ranked[:3]
        if row.category:
            cat_n += 1
            cat_ok += verdict.slots.get("category") == row.category
        if row.intent in ("dispatch_report", "legal_consultation"):
            dist_n += 1
            dist_ok += verdict.slots.get("district", "") == row.district
    labels = sorted(set(support) | set(tp) | set(fp))
    per_intent = {}
    for label in labels:
        if label.startswith("faq.") and not support[label]:
            continue
        per_intent[label] = {
            "support": support[label],
            "precision": _ratio(tp[label], tp[label] + fp[label]),
            "recall": _ratio(tp[label], support[label]),
        }
    if faq_n:  # one line for all FAQ entries rather than hundreds
        faq_labels = [label for label in labels if label.startswith("faq.")]
        per_intent = {k: v for k, v in per_intent.items() if not k.startswith("faq.")}
        per_intent["faq.*"] = {
            "support": faq_n,
            "precision": _ratio(
                sum(tp[x] for x in faq_labels), sum(tp[x] + fp[x] for x in faq_labels if x.startswith("faq."))
            ),
            "recall": _ratio(faq_first, faq_n),
        }
    latencies.sort()
    n = len(rows)
    return {
        "rows": n,
        "intents": len(matcher.intents),
        "accuracy": _ratio(sum(tp.values()), n),
        "in_scope_accuracy": _ratio(in_ok, in_scope),
        "oos_rejection": _ratio(oos_ok, oos),
        "category_accuracy": _ratio(cat_ok, cat_n),
        "district_accuracy": _ratio(dist_ok, dist_n),
        "faq_first": _ratio(faq_first, faq_n),
        "faq_top3": _ratio(faq_top3, faq_n),
        "clarify_rate": _ratio(clarify, n),
        "p50_ms": round(latencies[n // 2] * 1000, 3) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 3) if n else None,
        "per_intent": per_intent,
        "confusions": mistakes[:confusions] if confusions else [],
        "mistakes": len(mistakes),
    }


def build_matcher(faq_json: Iterable[str] = (), use_database: bool = True, **kwargs) -> Matcher:
    intents = load_builtin_intents()
    if use_database:
        intents += database_faq_intents()
    seen = {i.id for i in intents}
    for path in faq_json:
        intents += [i for i in load_faq_json(path) if i.id not in seen]
    return Matcher(intents, **kwargs)


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x * 100:5.1f}%"


def render(result: dict, out=None) -> None:
    out = out or sys.stdout
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"rows {result['rows']}   intents known {result['intents']}   mistakes {result['mistakes']}")
    p(f"accuracy            {_fmt(result['accuracy'])}")
    p(f"in-scope accuracy   {_fmt(result['in_scope_accuracy'])}")
    p(f"out-of-scope reject {_fmt(result['oos_rejection'])}")
    p(f"category accuracy   {_fmt(result['category_accuracy'])}")
    p(f"district accuracy   {_fmt(result['district_accuracy'])}")
    if result["faq_first"] is not None:
        p(f"FAQ first           {_fmt(result['faq_first'])}")
        p(f"FAQ top-3           {_fmt(result['faq_top3'])}")
    p(f"clarify rate        {_fmt(result['clarify_rate'])}")
    p(f"latency p50 {result['p50_ms']} ms   p99 {result['p99_ms']} ms")
    p("")
    p(f"{'intent':<24}{'n':>5}{'precision':>11}{'recall':>9}")
    for label, m in result["per_intent"].items():
        p(f"{label:<24}{m['support']:>5}{_fmt(m['precision']):>11}{_fmt(m['recall']):>9}")
    if result["confusions"]:
        p("")
        p("confusions (expected → got):")
        for c in result["confusions"]:
            alts = ", ".join(c["alternatives"])
            p(f"  {c['expected']} → {c['got']} ({c['score']}) [{alts}]  {c['text']}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="+", help="dev set TSV(s): text, intent, category, district")
    parser.add_argument("--json", action="store_true", help="machine-readable figures")
    parser.add_argument(
        "--faq-json", action="append", default=[], metavar="PATH", help="also load the city's FAQ JSON export"
    )
    parser.add_argument("--no-db", action="store_true", help="ignore FAQ entries in DATABASE_URL")
    parser.add_argument("--confusions", type=int, default=25, help="how many mistakes to list")


def main(args: argparse.Namespace) -> int:
    try:
        rows = [row for path in args.file for row in load_rows(path)]
    except (OSError, ValueError) as exc:
        print(f"citizenbot eval: {exc}", file=sys.stderr)
        return 2
    matcher = build_matcher(args.faq_json, use_database=not args.no_db)
    result = evaluate(matcher, rows, confusions=args.confusions)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        render(result)
    return 0
