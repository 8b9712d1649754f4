"""The service classifier: a second opinion that answers a clear service request the
nearest-example matcher would have fallen back on, and nothing else."""

from __future__ import annotations

from dataclasses import replace

import pytest

from intents import classifier
from intents import matcher as matcher_module
from intents.catalog import Intent, load_builtin_intents
from intents.classifier import ServiceClassifier
from intents.matcher import DEFAULT_OPTIONS, THRESHOLD, Matcher
from intents.normalize import fold


@pytest.fixture(scope="module")
def matchers():
    intents = load_builtin_intents()
    return Matcher(intents), Matcher(intents, options=replace(DEFAULT_OPTIONS, classifier=False))


@pytest.mark.parametrize(
    "text, intent",
    [
        # Situations in words no single example holds (none of these is in the examples).
        ("上上個禮拜打電話給1999講我們巷子的水溝 到今天都沒看到人來 現在怎樣了", "petition_status"),
        ("有沒有人可以直接打電話給我 我不太會用這個", "human_agent"),
    ],
)
def test_a_long_request_the_examples_miss_is_answered(matchers, text, intent):
    with_model, without = matchers
    assert without.match(text).intent == "fallback"
    verdict = with_model.match(text)
    assert (verdict.intent, verdict.decision, verdict.score) == (intent, "answer", THRESHOLD)


@pytest.mark.parametrize("text", ["推薦幾部律師的韓劇", "今天天氣好熱", "好的謝謝"])
def test_near_misses_and_chit_chat_still_fall_back(matchers, text):
    assert matchers[0].match(text).intent == "fallback"


@pytest.mark.parametrize(
    "text, service",
    [
        ("玩當個創世神時把路燈都打壞了哈哈哈", "dispatch_report"),
        ("讀書會要用附議的方式決定下個月讀哪本書", "proposal_cosign"),
    ],
)
def test_cue_words_without_a_request_are_offered_not_answered(matchers, text, service):
    with_model, without = matchers
    assert without.match(text).intent == service  # the cue words alone answer it
    verdict = with_model.match(text)
    assert (verdict.intent, verdict.alternatives[0][0]) == ("fallback", service)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("我想找真人客服 這個機器人一直聽不懂我的問題", "human_agent"),
        ("我的案件D2026-000123到底處理得怎樣了 都過兩週", "petition_status"),  # a slot points there
        ("接線生", "human_agent"),  # short: the model does not speak
    ],
)
def test_real_requests_are_not_doubted(matchers, text, intent):
    assert matchers[0].match(text).intent == intent


def test_another_citys_street_is_not_rescued(matchers):
    # The model would pick dispatch, but a Kaohsiung-only service for another city is not ours.
    verdict = matchers[0].match("嘉義市那邊的路燈一直閃 你們可以派人修嗎")
    assert (verdict.intent, verdict.elsewhere) == ("fallback", "dispatch_report")


def test_a_service_the_model_does_not_side_with_is_asked_about_beside_a_close_faq_entry(
    city_matcher, monkeypatch
):
    # 紅綠燈壞掉 meets the report's cue words, but the question is whether the city is liable
    # (國家賠償): the report first, the entry a tap away. A plain report is still answered.
    text = "紅綠燈壞掉害我出車禍 市政府要負責嗎"
    verdict = city_matcher.match(text)
    assert (verdict.intent, verdict.decision) == ("dispatch_report", "clarify")
    assert "國家賠償" in city_matcher.intents[verdict.alternatives[0][0]].examples[0]
    assert city_matcher.match("中正路上有一個大坑洞 騎車很危險").decision == "answer"
    # Compensation asked for in words (賠, 國賠) is never a report: the entry answers.
    asked = city_matcher.match("路面坑洞害我摔車 可以叫市政府賠嗎")
    assert "國家賠償" in city_matcher.intents[asked.intent].examples[0]
    monkeypatch.setattr(city_matcher._classifier, "unsure", lambda folded, intent_id: False)
    assert city_matcher.match(text).decision == "answer"


def test_a_never_word_vetoes_the_models_pick_too(matchers, monkeypatch):
    # The model reads a router's blinking red light as a report; the intent's `never` words
    # (路由器) keep it out, as they keep out its cues.
    text = "路由器的燈一直閃紅燈 網路連不上"
    matcher = matchers[0]
    assert matcher._classifier.rescue(fold(text)) == "dispatch_report"
    assert matcher.match(text).intent == "fallback"
    monkeypatch.setattr(matcher, "_never", {})
    assert matcher.match(text).intent == "dispatch_report"
    # A new light asked for is not a repair, whoever reads it.
    assert matcher.match("巷子太暗了 可以多裝一支路燈嗎").intent != "dispatch_report"
    assert matcher.match("剛加裝的路燈不亮").intent == "dispatch_report"  # the new one, broken
    # A court's case is no petition to the city; a petition's case still is.
    assert matcher.match("那個政治人物的貪污案子判了沒").intent != "petition_status"
    assert matcher.match("上次陳情的案件處理好了沒").intent == "petition_status"


def test_one_service_against_out_of_scope():
    # With a single service LinearSVC gives one decision value; the class still comes out right.
    service = Intent("human_agent", "builtin", "轉真人", ("我要找真人", "轉接客服人員", "請專人跟我聯絡"))
    model = ServiceClassifier([service], ["今天天氣如何", "推薦餐廳", "講個笑話"], fold)
    assert model.best(fold("可以找真人嗎"))[0] == "human_agent"
    assert model.best(fold("推薦好吃的餐廳")) is None
    assert model.best(fold("")) is None


def test_decision_values_are_sklearns():
    # decision() recomputes transform() + decision_function() by hand for speed: same numbers.
    import numpy as np

    from intents.catalog import load_out_of_scope

    model = ServiceClassifier(load_builtin_intents(), load_out_of_scope(), fold)
    for text in ["上禮拜報的路燈到現在還沒修 進度呢", "路燈壞了", "zzz", "😂", "我要找真人客服 謝謝"]:
        folded = fold(text)
        expected = model._model.decision_function(model._vectorizer.transform([folded]))[0]
        assert np.allclose(model.decision(folded), expected, atol=1e-5), text


# --- the FAQ scope model ----------------------------------------------------------------
@pytest.fixture(scope="module")
def city_matcher():
    from intents.evaluate import build_intents
    from tests.conftest import shared_path

    return Matcher(build_intents([str(shared_path("data", "kcg_faq.json"))], use_database=False))


@pytest.mark.parametrize(
    "text, doubted",
    [
        ("你會不會下圍棋", True),
        ("週末想去墾丁衝浪 有推薦的店嗎", True),
        ("身分證掉了要怎麼補辦", False),
        ("老闆不給加班費怎麼辦", False),
    ],
)
def test_faq_scope_tells_chit_chat_from_faq_questions(city_matcher, text, doubted):
    assert city_matcher._faq_scope.doubts(fold(text)) is doubted


def test_a_doubted_faq_answer_is_offered_unless_its_question_was_asked(city_matcher, monkeypatch):
    answered = city_matcher.match("身分證掉了要怎麼補辦").intent
    assert answered in {"faq.397020000A.20", "faq.397020000A.21"}  # both on a lost ID card
    monkeypatch.setattr(city_matcher._faq_scope, "doubts", lambda folded: True)
    verdict = city_matcher.match("身分證掉了要怎麼補辦")
    assert verdict.intent == "fallback" and verdict.alternatives[0][0] == answered
    question = city_matcher.intents[answered].examples[0]
    assert city_matcher.match(question).intent == answered  # copied or tapped


def test_a_near_miss_the_service_model_picks_too_is_answered(city_matcher, monkeypatch):
    # Hokkien for "someone to talk to, not a computer": its nearest example is only a near miss
    # and the model is not sure (a value under RESCUE_MIN), but both name human_agent.
    text = "敢有人會使佮我講 毋是機器"
    picked = city_matcher._classifier.best(fold(text))
    assert picked[0] == "human_agent" and classifier.AGREE_MIN <= picked[1] < classifier.RESCUE_MIN
    assert city_matcher.match(text).intent == "human_agent"
    monkeypatch.setattr(classifier, "AGREE_MIN", 99.0)
    verdict = city_matcher.match(text)
    assert verdict.intent == "fallback" and verdict.alternatives[0][0] == "human_agent"
    # Chit-chat near a service's words stays out: the model picks out of scope.
    monkeypatch.undo()
    assert city_matcher.match("我男友是聽障 我們約會都用手機打字聊天").intent == "fallback"


def test_an_faq_entry_scoring_past_the_doubt_ceiling_is_answered_whatever_the_scope_model_says(
    city_matcher, monkeypatch
):
    monkeypatch.setattr(city_matcher._faq_scope, "doubts", lambda folded: True)
    sure = city_matcher.match("博愛卡遺失")  # every word of the entry's question
    assert sure.score >= matcher_module.FAQ_DOUBT_CEILING and sure.intent == "faq.397370000H.9"
    monkeypatch.setattr(matcher_module, "FAQ_DOUBT_CEILING", 101.0)
    assert city_matcher.match("博愛卡遺失").intent == "fallback"


def test_a_status_request_naming_its_topic_is_not_answered_with_the_topics_faq_entry(
    city_matcher, monkeypatch
):
    text = "上個月檢舉巷口工廠一直排黑煙 環保局到底處理到哪了"
    verdict = city_matcher.match(text)
    # Asked, service first: the entry on factory smoke is a tap away.
    assert (verdict.intent, verdict.decision) == ("petition_status", "clarify")
    assert verdict.alternatives[0][0].startswith("faq.")
    for question in ("身分證掉了要怎麼補辦", "老闆不給加班費怎麼辦"):
        assert city_matcher.match(question).intent.startswith("faq.")
    monkeypatch.setattr(city_matcher._classifier, "claims", lambda folded: None)
    assert city_matcher.match(text).intent.startswith("faq.")


def test_a_service_is_doubted_when_the_model_picks_out_of_scope_surely(city_matcher, monkeypatch):
    # Another company's customer service: out of scope is the model's pick at DOUBT_SURE or
    # more. With the margin rule off, the sure pick alone offers it as a button, not an answer.
    text = "電商客服要怎麼轉真人 機器人好爛 氣死"
    scores = city_matcher._classifier.scores(fold(text))
    assert max(scores, key=scores.get) == "none" and scores["none"] >= classifier.DOUBT_SURE
    monkeypatch.setattr(classifier, "DOUBT_MARGIN", 99.0)
    verdict = city_matcher.match(text)
    assert verdict.intent == "fallback" and verdict.alternatives[0][0] == "human_agent"
    for request in ("我要找真人客服", "可以幫我轉接真人嗎 機器人都聽不懂"):
        assert city_matcher.match(request).intent == "human_agent"
    monkeypatch.setattr(classifier, "DOUBT_SURE", 99.0)
    assert city_matcher.match(text).intent == "human_agent"


def test_the_service_models_claim_comes_before_the_faq_doubt(city_matcher, monkeypatch):
    # The matcher's best is an FAQ entry on traffic signals, which the FAQ scope model doubts
    # (a report is no FAQ question); the service model claims it: asked, report first.
    text = "五福路口的號誌一直停在紅燈 大家都闖過去了"
    assert city_matcher._faq_scope.doubts(fold(text))
    verdict = city_matcher.match(text)
    assert (verdict.intent, verdict.decision) == ("dispatch_report", "clarify")
    assert verdict.alternatives[0][0].startswith("faq.")
    monkeypatch.setattr(city_matcher._classifier, "claims", lambda folded: None)
    doubted = city_matcher.match(text)
    assert doubted.intent == "fallback" and doubted.alternatives[0][0].startswith("faq.")


def test_a_doubted_service_gives_way_to_an_faq_entry_close_behind(city_matcher, monkeypatch):
    # 道路 + 沒開 meets the report's cue, but the model is sure it is no report; the entry on
    # how the city decides which planned road to open scores close behind: asked, entry first.
    text = "我們家那條計畫道路十年了都沒開 市府到底怎麼決定要開哪條"
    verdict = city_matcher.match(text)
    assert (verdict.intent, verdict.decision) == ("faq.397110000G.23", "clarify")
    assert verdict.alternatives[0][0] == "dispatch_report"
    monkeypatch.setattr(matcher_module, "CONTEST_EDGE", -100.0)  # no entry is ever close enough
    doubted = city_matcher.match(text)
    assert doubted.intent == "fallback" and doubted.alternatives[0][0] == "dispatch_report"


def test_another_systems_number_is_no_status_request_whoever_picks_it(city_matcher, monkeypatch):
    # The model reads 單號…查不到進度 as a status request; the number is a delivery's.
    text = "我的宅配單號 820123456789 查不到進度"
    assert city_matcher.match(text).intent == "fallback"
    assert city_matcher.match("我陳情的案子 1130512345 進度如何").intent == "petition_status"
    monkeypatch.setattr(matcher_module, "names_another_number", lambda folded: False)
    assert city_matcher.match(text).intent == "petition_status"


def test_a_service_the_model_prefers_by_far_is_asked_about_first(city_matcher, monkeypatch):
    # A status request telling the story of the report meets the report's cue words.
    text = "上禮拜我有報那個路燈不亮 到現在都還是暗的 是在處理了嗎"
    verdict = city_matcher.match(text)
    assert (verdict.intent, verdict.decision) == ("petition_status", "clarify")
    assert verdict.alternatives[0][0] == "dispatch_report"  # the matcher's pick, a tap away
    for report in ("我家巷口的路燈不亮好幾天了", "鳳山光遠路上有個大坑洞 機車差點摔倒"):
        assert city_matcher.match(report).intent == "dispatch_report"
    monkeypatch.setattr(city_matcher._classifier, "prefers", lambda folded, intent_id: None)
    assert city_matcher.match(text).intent == "dispatch_report"


@pytest.fixture(scope="module")
def without_category_model():
    return Matcher(load_builtin_intents(), options=replace(DEFAULT_OPTIONS, categories=False))


@pytest.mark.parametrize(
    "text, category",
    [
        # No keyword of slots.py names these; the words around them do.
        ("颱風把路邊那棵老榕吹斷了 整條路過不去", "fallen_tree"),
        ("路邊那株木棉倒下來 壓到好幾台機車", "fallen_tree"),
        ("建國路口的行人倒數壞了 一直停在15不動", "traffic_signal"),
        ("公園旁邊那條路的燈整排都熄了", "streetlight"),
    ],
)
def test_a_report_naming_no_category_gets_the_models(matchers, without_category_model, text, category):
    verdict = matchers[0].match(text)
    assert (verdict.intent, verdict.slots.get("category")) == ("dispatch_report", category)
    assert "category" not in without_category_model.match(text).slots


@pytest.mark.parametrize("text", ["我要報修", "我要通報", "路上有東西壞了 要找誰修"])
def test_a_bare_report_is_given_no_category(matchers, text):
    verdict = matchers[0].match(text)
    assert verdict.intent == "dispatch_report" and "category" not in verdict.slots
