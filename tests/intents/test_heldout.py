"""Honest figures: the matcher with the city's 1,424 FAQ entries on data it was not tuned on.

tests/data/devset_heldout.tsv (intents, out of scope, near misses) and
tests/data/faq_paraphrases.tsv (residents' wording of city FAQ entries) are split
50/50 by a fixed hash (intents.evaluate.split_of): "tune" may be looked at, "heldout"
is only ever reported. The thresholds sit just under what the matcher achieves on
the held-out split (see `citizenbot eval`): a drop fails CI.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from intents.baseline import NearestQuestion
from intents.catalog import faq_intent, load_builtin_intents, load_out_of_scope
from intents.evaluate import build_intents, equivalents, evaluate, load_rows, split_of
from intents.matcher import Matcher
from intents.normalize import fold
from tests.conftest import shared_path

DATA = Path(__file__).resolve().parents[1] / "data"
HELDOUT = DATA / "devset_heldout.tsv"
PARAPHRASES = DATA / "faq_paraphrases.tsv"
# Session 9: 200 hard intent rows (near misses on the services' own words, requests without
# them) by a helper who saw neither the matcher nor its data, read whole to tune on. Measured
# first: services 97.0%, out of scope 86.8%, category 100%, district 94.8%. Three short rows
# (human pls 🙏, 找客服人員, 手語翻譯員的證照要怎麼考) equal examples other helpers wrote.
DEV9 = DATA / "dev9_intents.tsv"
CONTRACT_INTENTS = {
    "dispatch_report",
    "petition_status",
    "legal_consultation",
    "proposal_cosign",
    "proposal_submit",
    "sign_language_video",
    "human_agent",
    "fallback",
}


@pytest.fixture(scope="module")
def city_json() -> Path:
    return shared_path("data", "kcg_faq.json")


@pytest.fixture(scope="module")
def intents(city_json):
    return build_intents([str(city_json)], use_database=False)


@pytest.fixture(scope="module")
def matcher(intents):
    return Matcher(intents)


@pytest.fixture(scope="module")
def same(intents):
    return equivalents(intents)


@pytest.fixture(scope="module")
def rows():
    return load_rows(HELDOUT) + load_rows(PARAPHRASES)


@pytest.fixture(scope="module")
def results(matcher, rows, same):
    return {
        split: evaluate(matcher, [r for r in rows if r.split == split], 30, same)
        for split in ("tune", "heldout")
    }


# --- the data itself -------------------------------------------------------------------
def test_heldout_devset_covers_every_contract_intent():
    rows = load_rows(HELDOUT)
    assert len(rows) >= 250
    # Rows once labelled fallback that a city FAQ entry answers carry its id (廁所馬桶堵住了).
    assert {r.intent for r in rows if not r.intent.startswith("faq.")} == CONTRACT_INTENTS
    assert sum(r.intent == "fallback" for r in rows) >= 0.4 * len(rows)
    dispatch = [r for r in rows if r.intent == "dispatch_report"]
    assert {r.category for r in dispatch} == {"pothole", "streetlight", "traffic_signal", "fallen_tree"}
    assert sum(bool(r.district) for r in dispatch) >= 25
    assert sum(bool(r.district) for r in rows if r.intent == "legal_consultation") >= 8


def test_faq_paraphrases_name_real_entries_across_many_agencies(city_json):
    city = {
        f"faq.{it['organ_no']}.{it['seq']}": it for it in json.loads(city_json.read_text(encoding="utf-8"))
    }
    rows = load_rows(PARAPHRASES)
    assert len(rows) >= 200
    assert all(r.intent in city for r in rows), [r.intent for r in rows if r.intent not in city]
    assert len({city[r.intent]["organ"] for r in rows}) >= 25
    # Residents' words, not the official question copied.
    assert not [r.text for r in rows if fold(r.text) == fold(city[r.intent]["question"])]


def test_new_dev_sets_are_kept_apart_from_what_the_matcher_learns(intents):
    learned = {fold(e) for i in intents for e in (*i.examples, *i.phrasings)}
    learned |= {fold(e) for e in load_out_of_scope()}
    learned.discard("")  # emoji-only and punctuation-only messages fold to nothing
    for path in (HELDOUT, PARAPHRASES):
        copies = [r.text for r in load_rows(path) if fold(r.text) in learned]
        assert copies == [], path.name


def test_dev9_figures(matcher, same):
    # Tuned on (landmarks, national agencies' and shops' numbers, 手譯, one's own proposal put
    # up for co-signing): a regression set, not an honest figure.
    r = evaluate(matcher, load_rows(DEV9), 30, same)
    assert r["service_accuracy"] >= 0.99, r["confusions"]
    assert r["oos_rejection"] >= 0.92, r["confusions"]
    assert r["category_accuracy"] >= 0.99
    assert r["district_accuracy"] >= 0.99


def test_split_is_fixed_and_about_even(rows):
    assert split_of("路燈不亮") == split_of("路燈不亮")
    assert all(r.split == split_of(r.text) for r in rows)
    held = sum(r.split == "heldout" for r in rows)
    assert 0.4 * len(rows) <= held <= 0.6 * len(rows)
    # The old dev set was tuned on in full: nothing of it counts as held out.
    assert {r.split for r in load_rows(DATA / "devset.tsv")} == {"tune"}


# --- figures on the held-out split -------------------------------------------------------
def test_heldout_intent_figures(results):
    r = results["heldout"]
    assert r["service_accuracy"] >= 0.98, r["confusions"]
    assert r["oos_rejection"] >= 0.95, r["confusions"]
    assert r["category_accuracy"] >= 0.97
    assert r["district_accuracy"] >= 0.95


def test_heldout_faq_retrieval_with_the_city_faq(results):
    r = results["heldout"]
    assert r["faq_first"] >= 0.85
    assert r["faq_top3"] >= 0.94


def test_tune_split_figures(results):
    r = results["tune"]
    assert r["service_accuracy"] >= 0.99
    # 0.95 before the shipped phrasings (data/city_faq_phrasings.yaml): a casual phrasing
    # shares words with chit-chat (冰箱壞了找誰修 / 大樓消防設備壞了要找誰修). They took this split
    # to 91.8%; the FAQ scope model (classifier.py) brought it back to 93.4%.
    assert r["oos_rejection"] >= 0.92
    assert r["category_accuracy"] >= 0.97
    # This split was tuned on (vocabulary, cue words): 87% / 98.5% before the phrasings,
    # which took the held-out split and every blind set up instead (test_blind.py).
    assert r["faq_first"] >= 0.84
    assert r["faq_top3"] >= 0.95


def test_matcher_beats_the_tfidf_nearest_question_baseline(intents, rows, same, results):
    nearest = NearestQuestion(intents)
    faq_rows = [r for r in rows if r.intent.startswith("faq.") and r.split == "heldout"]
    base = evaluate(nearest, faq_rows, 0, same)
    assert results["heldout"]["faq_first"] >= base["faq_first"] + 0.1
    assert results["heldout"]["faq_top3"] >= base["faq_top3"]


# --- deciding ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "好的",
        "算了吧",
        "今天天氣如何",
        "路燈好漂亮",
        "紅綠燈旁邊有一家好吃的店",
        "😂",
        "",
        # Cue words with a veto word, or another city named.
        "蝦皮訂單編號 12345678 到哪了",
        "家裡的聖誕樹倒了",
        "台北市的路燈壞了",
        "罷免連署書要去哪裡簽",
        "真人版電影好看嗎",
        "老闆要我們寫一份新產品的提案 格式怎麼寫",  # a plan for a boss, not a proposal to the city
        "主管要我寫新提案 送出前要給誰看",  # the same through the cue for 新提案
        "議員候選人的提案政見哪裡可以看",  # an election's platform: `never` rules out co-signing
        "國稅局的退稅案件查詢進度到哪了",  # a national agency's case, not the city's
        "my online shop refund status, order 113-4456789",  # a shop's number
        "幫我把「前方施工 路面坑洞」翻成英文",  # a sign to translate
        "市府有缺路燈維修技工嗎 我想應徵",  # a job, not a repair
        "行政院平台上的提案要怎麼附議",  # the central government's platform
    ],
)
def test_chit_chat_and_near_misses_fall_back_with_the_city_faq(matcher, text):
    verdict = matcher.match(text)
    assert verdict.intent == "fallback", (verdict.intent, verdict.score)


def test_how_long_the_city_may_take_is_the_faqs_not_a_case_status(matcher):
    # 最慢/時效 ask about the rule, not about one's own case (faq.397220000A.7: 處理時效).
    assert matcher.match("陳情送出去以後 市府最慢幾天要回覆").intent == "faq.397220000A.7"
    assert matcher.match("我的陳情送出去以後 怎麼還沒回覆").intent == "petition_status"


@pytest.mark.parametrize(
    ("text", "elsewhere", "intent"),
    [
        # Another city's service: the fallback names the service, whose handler says whose it is.
        ("台北市的路燈壞了", "dispatch_report", "fallback"),
        ("請問台中市政府的免費法律諮詢在哪裡", "legal_consultation", "fallback"),
        ("我在台南市政府網站陳情的案子 進度怎麼查", "petition_status", "fallback"),
        # A Kaohsiung district named as well keeps the request ours.
        ("台北來玩 左營這邊路燈壞了", None, "dispatch_report"),
        ("我在鳳山 但戶籍在屏東 可以預約法律諮詢嗎", None, "legal_consultation"),
        ("我住台南 上次通報高雄市前鎮區的坑洞 修好了沒", None, "petition_status"),
    ],
)
def test_another_city_is_not_ours_unless_a_district_of_ours_is_named(matcher, text, elsewhere, intent):
    verdict = matcher.match(text)
    assert (verdict.intent, verdict.elsewhere) == (intent, elsewhere)


def test_another_citys_service_beats_our_own_faq_entry_on_it():
    # The app's seeded FAQ has 高雄市免費法律諮詢有哪些地點？, which outscores the service's cue.
    from bot.faq_store import load_builtin_entries

    seeded = [
        faq_intent(e["id"], e["question"], e["answer"], e.get("examples") or ())
        for e in load_builtin_entries()
    ]
    matcher = Matcher(load_builtin_intents() + seeded)
    verdict = matcher.match("請問台中市政府的免費法律諮詢在哪裡")
    assert (verdict.intent, verdict.elsewhere) == ("fallback", "legal_consultation")
    # Its own question, copied or tapped, still gets the answer.
    assert matcher.match("高雄市免費法律諮詢有哪些地點？").intent == "faq.legal_consultation_sites"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("路燈故障不亮", "dispatch_report"),
        ("颱風吹倒路樹擋住路", "dispatch_report"),
        ("有免費的法律諮詢嗎", "legal_consultation"),
        ("我要手語翻譯", "sign_language_video"),
        ("停車費怎麼繳", None),  # an FAQ entry answers it (the older matcher fell back)
        ("借書證掉了怎麼辦", "faq.397330000E.13"),  # 借書證 → 借閱證
    ],
)
def test_services_first_and_colloquial_faq(matcher, text, intent):
    verdict = matcher.match(text)
    if intent is None:
        assert verdict.intent.startswith("faq."), verdict
    else:
        assert verdict.intent == intent, verdict


# The city's entries on deducting wages (扣薪資, 預扣工資, 扣除保費): 扣錢 reaches them.
WAGE_DEDUCTIONS = {"faq.397240000J.226", "faq.397240000J.12", "faq.397240000J.227"}


def test_a_vague_question_is_offered_its_entries_rather_than_answered(matcher):
    # Which deduction is meant (for lateness, as a deposit, the employer's premiums) the
    # message does not say: the bot does not guess, it offers the entries (stage one of the
    # two-stage fallback) or asks which one was meant. (老闆亂扣錢可以嗎 is answered since
    # session 6 with the labour bureau's free legal consultation, whose phrasing
    # 我被老闆亂扣薪水想找律師問 it resembles; 老闆扣錢可以嗎 since session 7 with the lateness
    # entry, whose fourteen phrasings all say 遲到…扣錢.)
    verdict = matcher.match("老闆扣薪水可以嗎")
    assert verdict.decision in ("fallback", "clarify"), verdict
    shown = [verdict.intent] if verdict.decision == "clarify" else []
    shown += [i for i, _ in verdict.alternatives]
    assert len(WAGE_DEDUCTIONS & set(shown[:3])) >= 2, verdict


def test_fallback_offers_only_near_misses(matcher):
    # A question no entry answers well: up to three suggestions, all near misses.
    for text in ["我想問一下那個補助的事情", "土地的問題"]:
        verdict = matcher.match(text)
        assert len(verdict.alternatives) <= 3
        if verdict.intent == "fallback":
            assert all(score >= 45.0 for _, score in verdict.alternatives)
            assert all(i in matcher.intents for i, _ in verdict.alternatives)
    # Chit-chat offers nothing to choose from.
    for text in ["今天天氣如何", "你好", "哈哈哈"]:
        assert matcher.match(text).alternatives == (), text


# --- cost -------------------------------------------------------------------------------
def test_build_and_match_are_fast_enough(intents, rows):
    # This thread's CPU only: other tests' outbox threads may still run in the process.
    start = time.thread_time()
    Matcher(intents)
    build = time.thread_time() - start
    assert build < 8.0  # ~2-3 s on one core with the phrasings and classifiers; generous for CI
    m = Matcher(load_builtin_intents() + [i for i in intents if i.kind == "faq"])
    cpu = []
    for row in rows:
        t = time.thread_time()
        m.match(row.text)
        cpu.append(time.thread_time() - t)
    cpu.sort()
    assert cpu[len(cpu) // 2] < 0.01  # p50 ~1 ms; bench/bench_matcher.py has the real figures


# --- topic words and generic cues ----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # A past report plus a status question asks what became of it, not for a new dispatch.
        ("上次報修的路燈修好了沒", "petition_status"),
        ("前幾天通報的坑洞補了嗎", "petition_status"),
        # English street problems; "house" must not find "warehouse" through its bigrams.
        ("big pothole on the road near my house please fix", "dispatch_report"),
        # A lamp gone dark at a place on the street, with no 路燈 said.
        ("我家巷口轉角那盞燈已經暗三天了", "dispatch_report"),
        # Browsing proposals: 有什麼…可以看 is the co-sign cue's, not a new proposal.
        ("現在有什麼市民提案可以看", "proposal_cosign"),
        # One's own proposal for others to co-sign is a new one.
        ("我想自己寫一個提案 再讓大家附議", "proposal_submit"),
        ("有沒有手譯員可以視訊 我打字很慢", "sign_language_video"),  # 手譯: 手語翻譯
        ("the traffic light on 博愛路 is dead", "dispatch_report"),
    ],
)
def test_generic_service_cues(matcher, text, intent):
    assert matcher.match(text).intent == intent


def test_an_entry_missing_the_topic_word_ranks_below_one_holding_it(matcher):
    # 冰箱 (a fridge) is what is asked about; the fire-equipment entry only shares 找誰修.
    verdict = matcher.match("家裡冰箱壞了要找誰來修")
    assert verdict.intent == "fallback", verdict
