"""The matcher on blind data: utterances written by someone who saw neither the matcher's
examples nor its vocabulary, after the matcher was built.

- tests/data/blind_*.tsv (session 1). In session 2 its mistakes were read while choosing
  cue words (黑掉, 燒掉, 市長信箱), so it is no longer blind; it stays as a regression set.
- tests/data/blind2_*.tsv (session 2, 200 intent rows + 200 FAQ paraphrases of entries
  drawn at random). Its even rows were read to diagnose mistakes; its odd rows never were:
  they are the honest figures of issue 5 (services 98.5%, category 100%, FAQ first 70.0%,
  top-3 91.0%; without word vectors FAQ first was 52% and top-3 76%). Out of scope was
  78.1% before veto words were added for kinds of near miss the writer's summary named
  (聖誕樹倒了, another city's street, parcel numbers): 90.6% after, so somewhat optimistic.
  In session 3 a change of two of its odd rows was looked at (by label, then one text)
  to undo a cue word that broke a co-sign request.
- tests/data/blind3_*.tsv (session 3, same recipe, FAQ entries drawn with seed 3141; the
  writer was asked for harder near misses and situations described rather than named).
  Its even rows were read to choose cue words (傾倒, 1999, 樓上…附議, 路由器); its odd
  rows never were. Measured before any of that: services 93.5%, out of scope 75.8%, FAQ
  first 60.5%, top-3 79.0% on the whole set. After: the odd half did not move (services
  94.2%, out of scope 80.6%, FAQ 62% / 85%): the near misses that fool cue words are each
  their own. About 3,000 more colloquial → official vocabulary pairs (853 official terms, in
  two passes), written by helpers from the FAQ entries alone, then raised its FAQ figures to
  62% / 88% (blind2's odd half: 75% / 92%). 290 more out-of-scope examples (near misses of
  each service, chit-chat), written by a helper who saw none of these sets, then raised out of
  scope on the odd halves to 83.9% (blind3) and 96.9% (blind2); the two rows that changed
  resemble none of the new examples (rapidfuzz ratio 36 and 53); 7 examples that happened to
  equal rows of these sets were left out. 260 more service examples and 296 more out-of-scope
  ones from helpers under the same rules then gave blind3's odd half services 95.7%; a third
  vocabulary pass (situations described: 小孩在學校被欺負 → 霸凌) its FAQ 64% / 90%, and a fourth
  (the 110 entries whose question held no known term) 66% / 91%, and a fifth (situations, for
  the five biggest bureaus) 67% / 91%; a sixth (situations, the other bureaus) left it there
  and took blind2's odd half to 76% / 91%. Each of those data passes was kept after a look at the
  odd halves' figures (none was dropped), a slight selection on them. A contextual model (multilingual-e5-small) alone gets
  80.8% / 92.8% on its FAQ rows, at 9–19 ms a message on this CPU (README: what was tried).
- Session 4 shipped five residents' phrasings for every city FAQ entry
  (data/city_faq_phrasings.yaml), written by helpers from the entries alone. Their writers
  and the writers of the sets above came up with near-identical sentences: 91 phrasings
  were within a rapidfuzz ratio of 90 of a row here, 37 identical (those 37 were left
  out). So the figures of the sets above are now optimistic, and blind4 is the honest one.
  One figure fell: out of scope on blind, 100% → 94.3% (幫我寫作業 now finds a casual
  phrasing, 我想寫一本關於高雄的小說…); the FAQ threshold moved from 32 to 40 to hold the rest.
- tests/data/blind4_*.tsv (session 4, same recipe, FAQ entries drawn with seed 4242),
  written after the phrasings and the new out-of-scope examples by helpers who saw neither
  them nor the matcher. Measured on it before the phrasings (with the session-3 matcher):
  services 97.1%, out of scope 82.3%, FAQ first 61.0%, top-3 83.5%; a TF-IDF nearest
  question gets 44% / 67.5%. After, with nothing tuned on it: FAQ 89.0% / 97.0% (88.7% /
  96.9% without the 6 rows that happen to equal a phrasing), services 97.1%, out of scope
  85.5%. Its even intent rows were then read (7 misses: four near misses that fool cue words,
  such as another city's 陳情 or a game's 坑洞, and three long requests missed); its odd rows
  and all its FAQ rows never were. Then the service classifier (intents/classifier.py), chosen
  on the read sets and on cross-validation over helper-written examples, gave services 98.6%
  and out of scope 83.9% (one row lost); blind2's odd half lost one out-of-scope row too
  (96.9% → 93.8%). Then the classifier's doubt (a service offered, not answered, when the
  model puts out of scope well ahead), chosen the same way: blind4 out of scope 90.3% (its odd
  half 82.3% → 85.3%), blind3's odd half 83.9% → 90.3%; blind lost one service row
  (聾人要怎麼打1999 is now offered as a button instead of answered). Then the FAQ scope model
  (an FAQ answer offered, not given, when a model of FAQ questions against out-of-scope
  examples is sure): blind's out of scope 94.3% → 97.1%, blind2's whole 95.2% → 96.8%,
  blind2's odd half FAQ first 86% → 85% (one row); blind3 and blind4 did not move.
- tests/data/blind5_*.tsv (session 5, FAQ entries drawn with seed 5151; the intent writer was
  asked for situations described, near misses for two thirds of the out-of-scope rows, 10%
  simplified and 10% English), written by helpers who saw neither the matcher nor its data.
  Measured first, with the session-4 matcher: services 87.0%, out of scope 96.8%, category
  84.0%, FAQ first 84.5%, top-3 99.0%: much harder on services than blind4. Its even intent
  rows were then read (long requests and English falling back, a category no keyword names,
  a status request going to dispatch); its odd rows and all FAQ rows never were. Then 300
  service and 591 out-of-scope examples from helpers who saw none of it, the category model
  and the service model's claim over an FAQ entry, chosen on the read sets and on
  cross-validation over those examples: services 89.9% (odd half 87.3%), out of scope 96.8%,
  category 90.0%, FAQ 84.0% / 99.0%. blind4 lost one out-of-scope row (90.3% → 88.7%) and one
  FAQ row (89.0% → 88.5%); blind3's odd half gained a service row (95.7% → 97.1%) and lost two
  FAQ rows (86% → 84%). Two shipped phrasings that equal blind5 rows were removed. Then, chosen
  the same way, the rescue at decision value 0.1 instead of 0.2 (blind5 services 90.6%, out of
  scope 95.2%: one row each way), and a status request about another city's case answered as
  such (petition_status is Kaohsiung-only now; blind4's read half showed 新北市的陳情案件進度): blind4
  out of scope 88.7% → 90.3%, blind3's odd half 90.3% → 93.5%.

- tests/data/blind6_*.tsv (session 6, FAQ entries drawn with seed 6161; four helpers who saw
  neither the matcher nor its data: 138 service requests, 62 out-of-scope messages, two thirds
  of them near misses, and 2 x 100 FAQ paraphrases; 10% simplified and 10% English on the
  intent side). A mechanical check (rows whose neighbour's entry the matcher found) showed two
  FAQ labels swapped by the writer; their labels were swapped back. Measured first, with the
  session-5 matcher: services 96.4%, out of scope 88.7%, category 96.0%, district 97.1%, FAQ
  first 82.5%, top-3 97.5% (odd half: 97.2%, 89.7%, 96.0%, 97.1%, 81.0%, 98.0%); the LinearSVC
  baseline gets 97.1% / 91.9% / 88.0% there, TF-IDF nearest question 43% / 61.5%. Its even
  rows were then read (both files); its odd rows never were. Then, chosen on the read sets
  and on cross-validation over the helper examples of sessions 4 and 5: topic words looked for
  in all of an FAQ entry's texts together, the service model asking when it prefers another
  service by far, the FAQ doubt at margin 0.0 and before it the service model's claim, English
  district names, and 7,098 more phrasings (five more per entry, by helpers who saw none of
  the test data; 20 within a ratio of 90 of a test row left out), and a service doubted when
  the service model picks out of scope at 0.4 or more. After: blind6 services 96.4%, out of
  scope 91.9%, category 96.0%, district 100%, FAQ 89.5% / 99.0% (odd half: 97.2%, 89.7%, 96.0%,
  100%, 89.0%, 99.0%). The other sets moved with it: FAQ first on the odd halves
  +2 to +5 points (blind2 85% → 91%, blind3 84% → 89%, blind5 88% → 91%), blind4 88.5% → 90.0%;
  out of scope on blind2's odd half ended where it was (93.8%: the FAQ doubt gained a row, the
  phrasings lost it), and on blind2's whole set it lost three rows (98.4% → 93.5%); blind3's
  and blind4's whole sets gained one each (90.3% → 91.9%), on read rows.

- tests/data/blind7_*.tsv (session 7, FAQ entries drawn with seed 7171; two helpers who saw
  neither the matcher nor its data: 138 service requests and 62 out-of-scope messages, at least
  half of them near misses, about 8% simplified and 8% English; 200 FAQ paraphrases). Measured
  first, with the session-6 matcher: services 99.3%, out of scope 93.5%, category 100%,
  district 95.7%, FAQ first 88.0%, top-3 99.5% (odd half: 100%, 93.5%, 100%, 100%, 87.0%,
  99.0%); the LinearSVC baseline gets 98.6% / 95.2% / 94.0% there, TF-IDF nearest question
  39.5% / 58.0%. Its even rows were then read (a street abroad, a new streetlight asked for,
  English for a stuck signal, 岡山 路面 and 大社那個十字路口, 外勞 for 移工); its odd rows never
  were. Then, chosen on the read halves of all the sets: 5,684 more phrasings (four per entry,
  written to tell each entry from those a search confuses it with), English status requests,
  arrow signals and the typo 數倒, 736 more out-of-scope examples with the FAQ doubt margin at
  0.1, and `never` words (a report's, applied to the service model's picks too; a status
  request's court words). After: blind7
  services 99.3%, out of scope 95.2%, category 100%, district 98.6%, FAQ 90.0% / 100% (odd half: 98.6%, 93.5%, 100%, 100%, 88.0%, 100%: one service row lost, one
  FAQ row won). The older sets moved with it: blind5 services 91.3% → 94.2%, category 90% →
  94%, out of scope 95.2% → 96.8%; blind6 out of scope 91.9% → 95.2%, FAQ first 89.5% → 90.5%;
  blind4 FAQ first 90.0% → 91.0%; blind2 lost an out-of-scope row (93.5% → 91.9%) and blind
  two FAQ top-3 rows (100% → 98.3%) to the phrasings; blind3's whole out of scope 91.9% → 93.5%
  (a router's blinking light).

- tests/data/blind8_*.tsv (session 8, FAQ entries drawn with seed 8181; three helpers who saw
  neither the matcher nor its data: 138 service requests and 62 out-of-scope messages, 48 of
  them near misses, 17 in English and 15 in simplified Chinese, some in Taiwanese Hokkien; 2 x
  100 FAQ paraphrases). Two shipped phrasings that equal its FAQ rows were then removed (six
  short intent rows such as 謝謝 and 轉人工客服 equal examples and were left as residents write
  them). Measured first, with the session-7 matcher: services 94.9%, out of scope 88.7%,
  category 98.0%, district 91.4%, FAQ first 90.5%, top-3 98.5% (odd half: 93.1%, 92.9%, 96.8%,
  89.7%, 91.0%, 97.0%); the LinearSVC baseline gets 91.3% / 96.8% / 94.0% there, TF-IDF nearest
  question 53.0% / 74.5%. Its even rows were then read (plans for a boss or a class read as
  proposals, a Hokkien request for a person, how long the city may take to answer a petition,
  大社中山路); its odd rows never were. Then, chosen on the read halves of all the sets: a
  district short name opening the message before a road's name, Hokkien written in characters
  normalized onto Mandarin, proposal cue vetoes (要我寫, 企劃, 寫報告), the FAQ scope model's doubt
  ignored from an FAQ score of 90, 175 service and 299 out-of-scope examples by helpers who saw
  no test data, and the service model's pick answered when it is also the matcher's best near
  miss. The odd half was measured before that last change (services 91.7%: one row lost to
  the new examples) and after it: blind8 services 96.4%, out of scope 93.5%, category 98.0%,
  district 92.9%, FAQ 91.0% / 98.5% (odd half: 94.4%, 92.9%, 96.8%, 89.7%, 91.0%, 97.0%). With
  the new examples the baseline gets 97.1% / 95.2% / 94.0% on it: it learns from them too.
  The older sets moved a little: blind3 out of scope 93.5% → 95.2%, blind5 96.8% → 98.4%,
  blind6 services 97.1% → 97.8%; blind4 lost an FAQ row (91.0% → 90.5%, odd half 90% → 89%).

- tests/data/blind9_*.tsv (session 9, FAQ entries drawn with seed 9191; three helpers who saw
  neither the matcher nor its data: 138 service requests and 62 out-of-scope messages, 48 of
  them near misses, about 18 in English, 15 in simplified Chinese and 10 in Taiwanese Hokkien;
  2 x 100 FAQ paraphrases). Measured first, with the session-8 matcher: services 97.1%, out of
  scope 90.3%, category 98.0%, district 95.7%, FAQ first 91.0%, top-3 98.5% (odd half: 97.0%,
  87.9%, 95.0%, 93.5%, 91.0%, 98.0%); the LinearSVC baseline (threshold calibrated on the dev
  set's tune split) gets services 95.7%, out of scope 93.5%, category 82.0% there, TF-IDF
  nearest question 36.0% / 56.0%. Its even rows were then read (茂林往多納的路上, a lamp gone
  dark at a street corner, 有什麼提案可以看, a candidate's 提案政見, a parcel's number, a planned
  road's FAQ behind a doubted report, 駁二 open 到幾點); its odd rows never were. Then, chosen on
  the read halves of all the sets: routes and landmarks naming an ambiguous district, the
  report's lamp cue with 暗 and street places, the co-sign browse cue, `never` words applied to
  the ranking, another system's number ruling out a status request, a doubted service giving
  way to an FAQ entry close behind, 148 service and 191 out-of-scope examples by helpers who
  saw no test data, a hard tuning set read whole (tests/data/dev9_intents.tsv: landmarks,
  national agencies' and shops' numbers), and compensation (賠嗎, 國賠) never a report. After:
  blind9 services 98.6%, out of scope 93.5%, category 98.0%, district 97.1%, FAQ 92.5% / 98.5%
  (odd half: 97.0%, 90.9%, 95.0%, 93.5%, 92.0%, 98.0%). The older sets moved a little: blind5
  services 94.2% → 95.7% (odd half 88.9% → 90.5%), district 98.6% → 100%; blind7 services
  99.3% → 100%, out of scope 95.2% → 96.8%; blind3 services 98.6% → 99.3%, district 98.6% →
  100%; blind8 district 92.9% → 95.7%; FAQ first on blind 93.3% → 95.0%, blind4 90.5% → 91.5%,
  blind6 90.5% → 92.0%; blind2 FAQ first 90.5% → 90.0% and blind7 90.0% → 89.5% (a sibling
  entry each).

The thresholds sit just under today's figures so a drop fails CI; raising them is only
honest with new blind data, never by tuning on these rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.evaluate import build_intents, equivalents, evaluate, load_rows
from intents.matcher import Matcher
from tests.conftest import shared_path

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def city():
    intents = build_intents([str(shared_path("data", "kcg_faq.json"))], use_database=False)
    return Matcher(intents), equivalents(intents)


def rows_of(name: str):
    return load_rows(DATA / f"{name}_intents.tsv") + load_rows(DATA / f"{name}_faq.tsv")


def halves(name: str) -> list:
    """The odd rows of a blind set's two files: the half never read while tuning."""
    return [r for n, r in enumerate(load_rows(DATA / f"{name}_intents.tsv")) if n % 2] + [
        r for n, r in enumerate(load_rows(DATA / f"{name}_faq.tsv")) if n % 2
    ]


@pytest.fixture(scope="module")
def measured(city):
    """name → (rows, figures on the whole set, figures on its never-read half)."""
    matcher, same = city
    out = {}
    for name in ("blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7", "blind8", "blind9"):
        rows = rows_of(name)
        out[name] = (rows, evaluate(matcher, rows, 30, same), evaluate(matcher, halves(name), 30, same))
    return out


def test_blind_sets_are_what_they_claim(measured):
    for name, fallbacks, faq in (
        ("blind", 70, 120),
        ("blind2", 62, 200),
        ("blind3", 62, 200),
        ("blind4", 62, 200),
        ("blind5", 62, 200),
        ("blind6", 62, 200),
        ("blind7", 62, 200),
        ("blind8", 62, 200),
        ("blind9", 62, 200),
    ):
        rows = measured[name][0]
        intents = [r for r in rows if not r.intent.startswith("faq.")]
        assert len(intents) == 200 and sum(r.intent == "fallback" for r in intents) == fallbacks
        assert sum(r.intent.startswith("faq.") for r in rows) == faq
        dispatch = [r for r in intents if r.intent == "dispatch_report"]
        assert {r.category for r in dispatch} == {"pothole", "streetlight", "traffic_signal", "fallen_tree"}


# Floors just under today's figures: (whole set, never-read half). blind's half was read in
# session 2, so only its whole set is held.
FIGURES = (
    "service_accuracy",
    "oos_rejection",
    "category_accuracy",
    "district_accuracy",
    "faq_first",
    "faq_top3",
)
FLOORS = {
    "blind": ((0.99, 0.98, 0.99, 0.97, 0.92, 0.98), None),
    "blind2": ((0.99, 0.91, 0.99, 0.98, 0.90, 0.96), (0.99, 0.93, 0.99, 0.99, 0.90, 0.96)),
    "blind3": ((0.98, 0.95, 0.99, 0.98, 0.91, 0.98), (0.96, 0.93, 0.99, 0.96, 0.88, 0.97)),
    "blind4": ((0.99, 0.91, 0.99, 0.99, 0.89, 0.98), (0.99, 0.84, 0.99, 0.99, 0.89, 0.98)),
    "blind5": ((0.93, 0.98, 0.93, 0.98, 0.90, 0.99), (0.86, 0.96, 0.85, 0.96, 0.90, 0.98)),
    "blind6": ((0.97, 0.95, 0.95, 0.99, 0.90, 0.98), (0.96, 0.89, 0.95, 0.99, 0.88, 0.98)),
    "blind7": ((0.99, 0.95, 0.99, 0.98, 0.89, 0.99), (0.98, 0.93, 0.99, 0.99, 0.87, 0.99)),
    "blind8": ((0.96, 0.93, 0.97, 0.92, 0.90, 0.98), (0.94, 0.92, 0.96, 0.89, 0.90, 0.96)),
    "blind9": ((0.98, 0.93, 0.97, 0.97, 0.91, 0.98), (0.96, 0.90, 0.94, 0.93, 0.90, 0.97)),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_blind_figures(measured, name):
    _, whole, untouched = measured[name]
    for result, floors in zip((whole, untouched), FLOORS[name], strict=True):
        if floors is None:
            continue
        for figure, floor in zip(FIGURES, floors, strict=True):
            # Figures only: the mistakes would show rows of the never-read halves.
            assert result[figure] >= floor, (name, figure, result[figure])
