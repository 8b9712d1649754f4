"""Ablation: the measured effect of each part of the matcher, one switched off at a time.

    .venv/bin/python bench/bench_ablation.py [--split heldout|tune]

Builds the matcher from the built-in intents plus the city's 1,424 FAQ entries
(../shared/data/kcg_faq.json) once per variant and scores it on
tests/data/devset_heldout.tsv and tests/data/faq_paraphrases.tsv (held-out split by
default). Same table as `citizenbot eval --ablation`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intents.evaluate import ablation, build_intents, load_rows  # noqa: E402

KCG = ROOT.parent / "shared" / "data" / "kcg_faq.json"
DATA = ROOT / "tests" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("heldout", "tune"), default="heldout")
    args = parser.parse_args(argv)
    rows = load_rows(DATA / "devset_heldout.tsv") + load_rows(DATA / "faq_paraphrases.tsv")
    intents = build_intents([str(KCG)] if KCG.exists() else [], use_database=False)
    ablation(intents, rows, split=args.split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
