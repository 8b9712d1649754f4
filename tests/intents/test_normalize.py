"""Normalization: width, script, emoji, templates, synonyms and homophone repair."""

from __future__ import annotations

import pytest

from intents.normalize import Steps, fold, normalize, normalize_with


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("Ｄ２０２６－０００１２３", "d2026 000123"),  # full-width dash becomes a separator
        ("路灯坏了", "路燈壞了"),  # simplified → traditional
        ("路燈壞了😡😡！！", "路燈壞了"),  # emoji and punctuation go
        ("Street  Light 壞了", "street light壞了"),  # case; spaces only between ASCII words
        ("  我要　連署  ", "我要連署"),  # ideographic space
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我家巷口的路登壞了", "我家巷口的路燈壞了"),
        ("紅綠登壞掉了", "紅綠燈壞了"),
        ("路面有坑動", "路面有坑洞"),
        ("请问有免费的法律咨询吗？谢谢", "有免費的法律諮詢"),
        ("the street light is broken", "the路燈is壞"),
        ("traffic signal stuck on red forever", "紅綠燈不會變forever"),  # how English says it is broken
        ("the street light keeps flickering", "the路燈keeps閃"),
        ("a fallen tree on the street", "a倒樹on the street"),  # "street" holds "tree"
        ("街燈不會亮啦", "路燈不會亮"),
        ("窟窿", "坑洞"),
        # Taiwanese Hokkien written in characters, onto the examples' Mandarin.
        ("路燈歹去 袂光", "路燈壞不會光"),
        ("頭前的青紅燈害去", "頭前的紅綠燈壞"),
        ("欲揣人講話 毋是電腦彼種", "要找人講話不是電腦那種"),
        ("有無人佇咧", "有沒有人在"),
        ("案見進度", "案件進度"),  # a homophone typo
        ("車禍鑑定結果不服要申請覆議", "車禍鑑定結果不服要申請覆議"),  # 覆議 is no 附議
        ("合厝的規定", "合厝的規定"),  # 厝 stays: the FAQ's word for placing remains together
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_homophone_repair_needs_a_shared_character():
    # 授予 sounds like 手語 and 服役 like 附議, but share no character: untouched.
    assert normalize("授予學位") == "授予學位"
    assert normalize("我要服役") == "我要服役"


def test_each_step_can_be_switched_off():
    text = "請問路登壞了嗎"
    assert normalize_with(text, Steps(templates=False)) == "請問路燈壞了嗎"
    assert normalize_with(text, Steps(pinyin=False)) == "路登壞了"
    assert normalize_with("窟窿", Steps(synonyms=False)) == "窟窿"


def test_greeting_alone_normalizes_to_nothing():
    assert normalize("您好，謝謝！") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ｈｔｔｐ　２０２６年", "http 2026年"),  # full-width Latin, ideographic space
        ("路燈壞了🙏🙏🙏 thx!!", "路燈壞了thx"),  # emoji and mixed scripts
        ("借书证丢了怎么办", "借書證丟了怎麼辦"),  # simplified → traditional, no phrase rewriting
        ("１９９９", "1999"),
    ],
)
def test_fold_tricky(text, expected):
    assert fold(text) == expected


def test_faq_lookup_expands_colloquial_words_without_rewriting_them():
    from intents.faq_index import content, expand

    assert "借閱證" in expand("借書證掉了")
    assert "扣薪資" in expand("老闆扣錢")
    assert "戶籍" in expand("遷戶口")
    assert expand("路燈好漂亮") == ""
    # A long phrase also with a few characters slipped in, in order and close together.
    assert "自然人憑證" in expand("網路報稅要插的那張卡")
    assert "自然人憑證" not in expand("報稅的時候插卡")
    # Question words become gaps so no bigram spans them; the topic words stay.
    assert content("停車費怎麼繳").split() == ["停車費", "繳"]


def test_no_lexicon_or_intent_file_writes_a_key_twice():
    """YAML keeps the last of two equal keys: a word list written twice loses the first silently
    (vocabulary.yaml, synonyms.yaml, the intents and the reference data alike)."""
    import collections
    from pathlib import Path

    import yaml

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        repeated = [k for k, n in collections.Counter(keys).items() if n > 1]
        assert not repeated, (node.start_mark.name, repeated)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    root = Path(__file__).resolve().parents[2]
    files = [*root.glob("intents/*.yaml"), *root.glob("intents/builtin/*.yaml"), *root.glob("data/*.yaml")]
    assert len(files) > 10
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=Strict)
