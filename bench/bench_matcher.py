"""Matcher speed: messages/second, p50/p99 latency and build time.

    .venv/bin/python bench/bench_matcher.py [--rounds N]

Runs the dev sets (tests/data/*.tsv: intents and FAQ paraphrases) through matchers built from the built-in
intents alone, with the city's 1,424 FAQ entries (../shared/data/kcg_faq.json,
loaded straight into Intent objects), and with 100 / 1,000 / 10,000 synthetic
FAQ entries (city questions recombined) to show how the cost grows with the
catalog. Every message is normalized afresh (the normalization cache is cleared
between rounds) so the figures include the whole path.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intents.catalog import Intent, faq_intent, load_builtin_intents  # noqa: E402
from intents.evaluate import load_faq_json, load_rows  # noqa: E402
from intents.matcher import Matcher  # noqa: E402
from intents.normalize import fold, normalize_pair  # noqa: E402

KCG = ROOT.parent / "shared" / "data" / "kcg_faq.json"
DATA = ROOT / "tests" / "data"
DEVSETS = [DATA / "devset.tsv", DATA / "devset_heldout.tsv", DATA / "faq_paraphrases.tsv"]


def synthetic_faq(base: list[Intent], n: int, seed: int = 7) -> list[Intent]:
    """n FAQ entries made by splicing halves of real city questions and answers."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        a, b = rng.choice(base), rng.choice(base)
        qa, qb = a.examples[0], b.examples[0]
        question = qa[: len(qa) // 2] + qb[len(qb) // 2 :]
        # Each carries the shipped phrasings of one of its sources (about five), so the
        # index grows as a real catalog with phrasings would.
        entry = faq_intent(f"faq.syn.{k}", question, (a.answer or "")[:200])
        out.append(dataclasses.replace(entry, phrasings=a.phrasings))
    return out


def run(label: str, intents: list[Intent], texts: list[str], rounds: int) -> dict:
    normalize_pair.cache_clear()  # build from cold caches, as a fresh worker would
    fold.cache_clear()
    start = time.process_time()
    matcher = Matcher(intents)
    build = time.process_time() - start
    latencies: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        normalize_pair.cache_clear()
        fold.cache_clear()
        for text in texts:
            c0 = time.thread_time()
            t0 = time.perf_counter()
            matcher.match(text)
            latencies.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    latencies.sort()
    cpu.sort()
    total = sum(latencies)
    n = len(latencies)
    figures = {
        "label": label,
        "intents": len(matcher.intents),
        "build_s": build,
        "msg_per_s": n / total,
        "p50_ms": latencies[n // 2] * 1000,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        # CPU time of this thread: what the matcher costs, without waiting for a busy core.
        "cpu_p50_ms": cpu[n // 2] * 1000,
        "cpu_p99_ms": cpu[min(n - 1, int(n * 0.99))] * 1000,
    }
    print(
        f"{label:<28}{figures['intents']:>7}{build:>9.2f}s{figures['msg_per_s']:>10.0f}"
        f"{figures['p50_ms']:>9.3f}{figures['p99_ms']:>9.3f}{figures['mean_ms']:>9.3f}"
        f"{figures['cpu_p50_ms']:>12.3f}{figures['cpu_p99_ms']:>12.3f}",
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    texts = [r.text for path in DEVSETS for r in load_rows(path)]
    builtin = load_builtin_intents()
    Matcher(builtin).match("暖身")  # load OpenCC, pypinyin and the lexicon once
    print(
        f"{len(texts)} dev set messages x {args.rounds} rounds (wall-clock latency; cpu = this thread's CPU time;"
        f" build = CPU seconds to build the matcher)"
    )
    print(
        f"{'catalog':<28}{'intents':>7}{'build':>10}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'cpu p50 ms':>12}{'cpu p99 ms':>12}"
    )
    run("builtin only", builtin, texts, args.rounds)
    if not KCG.exists():
        print(f"{KCG} not found: skipping the FAQ catalogs")
        return 0
    city = load_faq_json(KCG)
    run("builtin + city FAQ (1,424)", builtin + city, texts, args.rounds)
    for n in (100, 1_000, 10_000):
        run(f"builtin + {n:,} synthetic", builtin + synthetic_faq(city, n), texts, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
