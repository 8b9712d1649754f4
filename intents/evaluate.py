"""`citizenbot eval FILE...`: how well the matcher understands labelled messages.

FILE is a TSV with a header: text, intent (or an FAQ id faq.<organ>.<seq>),
category (optional), district (optional). The matcher is built from the built-in
intents plus the FAQ entries in the database named by DATABASE_URL (if it has any),
and optionally the city's FAQ JSON (`--faq-json`).

Honest figures: every row belongs to a split. Rows of files the matcher was tuned
on (TUNED_FILES) are all "tune"; the rows of any other file are split 50/50 by a
fixed hash of the folded text into "tune" (look at its mistakes, change the
matcher) and "heldout" (only ever report it). Figures are printed per split, for
the matcher and for the baseline (intents/baseline.py) side by side; `--ablation`
switches off one part of the matcher at a time, `--calibrate` prints the
threshold/margin curve on the tune split.

FAQ rows count retrieval: "first" is the entry answered (or asked about first);
"top-3" is the entry among the first three the resident is shown (answer, clarify
buttons, or the did-you-mean suggestions of a fallback). Entries with the same
question or the same answer as the expected one count as it (the city's FAQ holds
19 duplicated questions).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .catalog import Intent, faq_intent, load_builtin_intents
from .matcher import DEFAULT_OPTIONS, Matcher, Options
from .normalize import Steps, fold

# Dev sets the matcher was tuned on in full: none of their rows is held out.
TUNED_FILES = frozenset({"devset.tsv"})
SPLITS = ("tune", "heldout")

FALLBACK = "fallback"


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    category: str = ""
    district: str = ""
    split: str = "tune"


def split_of(text: str) -> str:
    """A fixed 50/50 split by a hash of the folded text (stable across runs and machines)."""
    return "heldout" if zlib.crc32(fold(text).encode("utf-8")) % 2 else "tune"


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
            split = "tune" if Path(path).name in TUNED_FILES else split_of(cells[0])
            rows.append(Row(cells[0], cells[1], cells[2], cells[3], split))
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


def equivalents(intents: Iterable[Intent]) -> dict[str, frozenset[str]]:
    """FAQ id → the FAQ ids with the same question or the same answer (itself included)."""
    groups: dict[str, set[str]] = defaultdict(set)
    faq = [i for i in intents if i.kind == "faq"]
    for intent in faq:
        groups["q:" + fold(intent.examples[0])].add(intent.id)
        if intent.answer and fold(intent.answer):
            groups["a:" + fold(intent.answer)[:300]].add(intent.id)
    out: dict[str, set[str]] = {i.id: {i.id} for i in faq}
    for ids in groups.values():
        for i in ids:
            out[i] |= ids
    return {k: frozenset(v) for k, v in out.items()}


def evaluate(
    matcher, rows: Sequence[Row], confusions: int = 25, same: dict[str, frozenset[str]] | None = None
) -> dict:
    """Figures for one matcher (or baseline) on labelled rows. FAQ rows (faq.*) also count
    first/top-3 retrieval; `same` maps an FAQ id to the ids that count as it."""
    same = same or {}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    support: Counter[str] = Counter()
    mistakes: list[dict] = []
    in_scope = in_ok = oos = oos_ok = svc = svc_ok = 0
    cat_n = cat_ok = dist_n = dist_ok = 0
    faq_n = faq_first = faq_top3 = 0
    clarify = 0
    latencies: list[float] = []
    cpu: list[float] = []
    for row in rows:
        start, cpu_start = time.perf_counter(), time.thread_time()
        verdict = matcher.match(row.text)
        latencies.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - cpu_start)
        pred = verdict.intent
        if verdict.decision == "clarify":
            clarify += 1
        support[row.intent] += 1
        if pred != row.intent and pred in same.get(row.intent, ()):
            pred = row.intent  # a duplicate entry: the resident gets the same answer
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
            if not row.intent.startswith("faq."):
                svc += 1
                svc_ok += pred == row.intent
        if row.intent.startswith("faq."):
            faq_n += 1
            # What the resident is shown: the answer (or clarify buttons), else suggestions.
            shown = [pred] if pred != FALLBACK else []
            shown += [i for i, _ in verdict.alternatives]
            ok = same.get(row.intent, frozenset({row.intent}))
            faq_first += pred in ok
            faq_top3 += any(i in ok for i in shown[:3])
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
    cpu.sort()
    n = len(rows)
    return {
        "rows": n,
        "intents": len(matcher.intents),
        "accuracy": _ratio(sum(tp.values()), n),
        "in_scope_accuracy": _ratio(in_ok, in_scope),
        "service_accuracy": _ratio(svc_ok, svc),  # in-scope rows of the built-in intents
        "oos_rejection": _ratio(oos_ok, oos),
        "category_accuracy": _ratio(cat_ok, cat_n),
        "district_accuracy": _ratio(dist_ok, dist_n),
        "faq_first": _ratio(faq_first, faq_n),
        "faq_top3": _ratio(faq_top3, faq_n),
        "clarify_rate": _ratio(clarify, n),
        "p50_ms": round(latencies[n // 2] * 1000, 3) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 3) if n else None,
        "cpu_p99_ms": round(cpu[min(n - 1, int(n * 0.99))] * 1000, 3) if n else None,
        "per_intent": per_intent,
        "confusions": mistakes[:confusions] if confusions else [],
        "mistakes": len(mistakes),
    }


def build_intents(faq_json: Iterable[str] = (), use_database: bool = True) -> list[Intent]:
    intents = load_builtin_intents()
    if use_database:
        intents += database_faq_intents()
    seen = {i.id for i in intents}
    for path in faq_json:
        intents += [i for i in load_faq_json(path) if i.id not in seen]
    return intents


def build_matcher(faq_json: Iterable[str] = (), use_database: bool = True, **kwargs) -> Matcher:
    return Matcher(build_intents(faq_json, use_database), **kwargs)


def by_split(rows: Sequence[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {s: [] for s in SPLITS}
    for row in rows:
        out[row.split].append(row)
    return {s: r for s, r in out.items() if r}


def evaluate_splits(matcher, rows: Sequence[Row], confusions: int = 25, same=None) -> dict:
    """Figures on all rows, with a `splits` entry per split (tune, heldout)."""
    result = evaluate(matcher, rows, confusions, same)
    result["splits"] = {s: evaluate(matcher, r, confusions, same) for s, r in by_split(rows).items()}
    return result


# --- baseline -------------------------------------------------------------------------
def calibrate_baseline(baseline, rows: Sequence[Row]) -> float:
    """The fallback threshold of the linear baseline that scores best on the tune split's
    intent rows (mean of in-scope accuracy and out-of-scope rejection)."""
    from .baseline import FALLBACK as FB

    tune = [r for r in rows if r.split == "tune" and not r.intent.startswith("faq.")]
    if not tune:
        return baseline.threshold
    baseline.threshold = float("-inf")
    raw = [(r, baseline.match(r.text)) for r in tune]
    best = (-1.0, baseline.threshold)
    for step in range(-20, 21):
        t = step / 20
        ins = [v.intent == r.intent and v.score >= t for r, v in raw if r.intent != FB]
        oos = [v.intent == FB or v.score < t for r, v in raw if r.intent == FB]
        score = (sum(ins) / max(len(ins), 1) + sum(oos) / max(len(oos), 1)) / 2
        if score > best[0]:
            best = (score, t)
    baseline.threshold = best[1]
    return best[1]


# --- ablation -------------------------------------------------------------------------
def ablation_variants() -> list[tuple[str, Options]]:
    d = DEFAULT_OPTIONS
    return [
        ("full matcher", d),
        ("- synonyms", replace(d, steps=Steps(synonyms=False))),
        ("- template stripping", replace(d, steps=Steps(templates=False))),
        ("- pinyin homophones", replace(d, steps=Steps(pinyin=False))),
        ("- colloquial vocabulary", replace(d, vocabulary=False)),
        ("- topic-word coverage", replace(d, topic_words=False)),
        ("- topics per entry", replace(d, entry_topics=False)),
        ("- word vectors", replace(d, word_vectors=False)),
        ("- question types", replace(d, question_types=False)),
        ("- shipped FAQ phrasings", replace(d, phrasings=False)),
        ("- service classifier", replace(d, classifier=False)),
        ("- FAQ scope classifier", replace(d, faq_scope=False)),
        ("- category classifier", replace(d, categories=False)),
        ("- answer weighting", replace(d, answer_weight=0.0)),
        ("- BM25 (FAQ as examples)", replace(d, faq_bm25=False)),
        ("- n-gram index narrowing", replace(d, index=False)),
        ("- cues", replace(d, cues=False)),
        ("- out-of-scope examples", replace(d, out_of_scope=False)),
    ]


ABLATION_COLUMNS = ("service_accuracy", "oos_rejection", "category_accuracy", "faq_first", "faq_top3")


def ablation(intents: list[Intent], rows: Sequence[Row], split: str = "heldout", out=None) -> list[dict]:
    """Each part switched off in turn, measured on one split."""
    out = out or sys.stdout
    chosen = [r for r in rows if r.split == split] or list(rows)
    same = equivalents(intents)
    print(f"ablation on the {split} split ({len(chosen)} rows)", file=out)
    print(
        f"{'variant':<28}{'services':>9}{'oos':>8}{'category':>9}{'FAQ 1st':>9}{'FAQ top3':>9}"
        f"{'p50 ms':>8}{'build s':>8}",
        file=out,
    )
    table = []
    for name, options in ablation_variants():
        start = time.perf_counter()
        matcher = Matcher(intents, options=options)
        build = time.perf_counter() - start
        r = evaluate(matcher, chosen, 0, same)
        cells = "".join(f"{_fmt(r[c]):>9}" for c in ABLATION_COLUMNS)
        print(f"{name:<28}{cells}{r['p50_ms']:>8.2f}{build:>8.2f}", file=out, flush=True)
        table.append(
            {"variant": name, "build_s": round(build, 3), **{c: r[c] for c in (*ABLATION_COLUMNS, "p50_ms")}}
        )
    return table


# --- calibration ----------------------------------------------------------------------
def calibrate(matcher: Matcher, rows: Sequence[Row], out=None) -> None:
    """The threshold / margin curve on the tune split."""
    out = out or sys.stdout
    tune = [r for r in rows if r.split == "tune"]
    same = equivalents(matcher.intents.values())
    saved = matcher.threshold, matcher.margin, matcher.faq_threshold
    print(f"calibration on the tune split ({len(tune)} rows)", file=out)
    print(
        f"{'threshold':>9}{'margin':>7}{'faq':>7}{'services':>9}{'oos':>8}{'FAQ 1st':>9}{'FAQ top3':>9}{'clarify':>8}",
        file=out,
    )
    try:
        for threshold in (45, 50, 55, 60, 62, 65, 70):
            for margin in (0, 2, 4, 6):
                matcher.threshold, matcher.margin = threshold, margin
                _curve_line(matcher, tune, same, f"{threshold:>9}{margin:>7}{saved[2]:>7}", out)
        matcher.threshold, matcher.margin = saved[0], saved[1]
        for faq_threshold in (22, 26, 28, 30, 32, 34, 38, 42, 46):
            matcher.faq_threshold = faq_threshold
            _curve_line(matcher, tune, same, f"{saved[0]:>9}{saved[1]:>7}{faq_threshold:>7}", out)
    finally:
        matcher.threshold, matcher.margin, matcher.faq_threshold = saved


def _curve_line(matcher: Matcher, rows: Sequence[Row], same, head: str, out) -> None:
    r = evaluate(matcher, rows, 0, same)
    print(
        f"{head}{_fmt(r['service_accuracy']):>9}{_fmt(r['oos_rejection']):>8}"
        f"{_fmt(r['faq_first']):>9}{_fmt(r['faq_top3']):>9}{_fmt(r['clarify_rate']):>8}",
        file=out,
        flush=True,
    )


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x * 100:5.1f}%"


SUMMARY = (
    ("in-scope (services)", "service_accuracy"),
    ("in-scope (all)", "in_scope_accuracy"),
    ("out-of-scope reject", "oos_rejection"),
    ("category accuracy", "category_accuracy"),
    ("district accuracy", "district_accuracy"),
    ("FAQ first", "faq_first"),
    ("FAQ top-3", "faq_top3"),
    ("clarify rate", "clarify_rate"),
    ("accuracy (all rows)", "accuracy"),
    ("rows", "rows"),
)


def render_side_by_side(columns: dict[str, dict], out=None) -> None:
    """One column per (system, split): the figures that matter, side by side."""
    out = out or sys.stdout
    names = list(columns)
    width = max(12, *(len(n) + 2 for n in names))
    print(f"{'':<22}" + "".join(f"{n:>{width}}" for n in names), file=out)
    for label, key in SUMMARY:
        cells = []
        for n in names:
            v = columns[n].get(key)
            cells.append(f"{v:>{width}}" if key == "rows" else f"{_fmt(v):>{width}}")
        print(f"{label:<22}" + "".join(cells), file=out)


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
    p(f"latency p50 {result['p50_ms']} ms   p99 {result['p99_ms']} ms   cpu p99 {result['cpu_p99_ms']} ms")
    p("")
    p(f"{'intent':<24}{'n':>5}{'precision':>11}{'recall':>9}")
    for label, m in result["per_intent"].items():
        p(f"{label:<24}{m['support']:>5}{_fmt(m['precision']):>11}{_fmt(m['recall']):>9}")
    if result["confusions"]:
        p("")
        p("confusions on the tune split (expected → got):")
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
    parser.add_argument("--confusions", type=int, default=25, help="how many tune-split mistakes to list")
    parser.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + linear SVM baseline")
    parser.add_argument(
        "--ablation", action="store_true", help="switch off each part in turn (held-out split)"
    )
    parser.add_argument("--calibrate", action="store_true", help="threshold/margin curve on the tune split")


def main(args: argparse.Namespace) -> int:
    try:
        rows = [row for path in args.file for row in load_rows(path)]
    except (OSError, ValueError) as exc:
        print(f"citizenbot eval: {exc}", file=sys.stderr)
        return 2
    intents = build_intents(args.faq_json, use_database=not args.no_db)
    same = equivalents(intents)
    start = time.perf_counter()
    matcher = Matcher(intents)
    build_s = time.perf_counter() - start
    result = evaluate_splits(matcher, rows, 0, same)
    # Mistakes are listed for the tune split only: the held-out split stays unseen.
    tune_rows = [r for r in rows if r.split == "tune"]
    result["confusions"] = evaluate(matcher, tune_rows, args.confusions, same)["confusions"]
    result["build_s"] = round(build_s, 3)
    columns = {f"matcher {s}": r for s, r in result["splits"].items()}
    try:
        from .baseline import LinearBaseline, NearestQuestion
    except ImportError:  # scikit-learn comes with the dev extra, not with the bot itself
        if not args.no_baseline:
            print("(baseline skipped: it needs scikit-learn — pip install -e '.[dev]')", file=sys.stderr)
        args.no_baseline = True
    if not args.no_baseline:
        baseline = LinearBaseline(intents)
        threshold = calibrate_baseline(baseline, rows)
        base = {"threshold": threshold}
        for s, r in by_split(rows).items():
            base[s] = evaluate(baseline, r, 0, same)
            columns[f"baseline {s}"] = base[s]
        faq_rows = [r for r in rows if r.intent.startswith("faq.")]
        if faq_rows and any(i.kind == "faq" for i in intents):
            nearest = NearestQuestion(intents)
            for s, r in by_split(faq_rows).items():
                base[f"nearest_question_{s}"] = evaluate(nearest, r, 0, same)
                columns[f"tfidf-NN {s}"] = base[f"nearest_question_{s}"]
        result["baseline"] = base
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        render(result)
        print()
        print(f"matcher build {build_s:.2f} s with {len(matcher.intents)} intents")
        render_side_by_side(columns)
        if "baseline" in result:
            print(f"(baseline fallback threshold {result['baseline']['threshold']:+.2f}, calibrated on tune)")
    if args.calibrate:
        print()
        calibrate(matcher, rows)
    if args.ablation:
        print()
        ablation(intents, rows)
    return 0
