"""FaqIndex on a catalog small enough to see why each entry wins."""

from __future__ import annotations

from intents.faq_index import FaqIndex
from intents.normalize import normalize_pair


def normalize(text: str) -> str:
    return normalize_pair(text)[1]


# Two sibling entries with the same kind of question, each with a second text (a phrasing).
SIBLINGS = [
    ("hall", "演藝廳檔期受理申請時間", ""),
    ("hall", "至德堂在哪裡", ""),
    ("gallery", "展覽館檔期受理申請時間", ""),
    ("gallery", "展覽館在哪裡", ""),
    ("tax", "地價稅何時開徵", ""),
    ("bus", "公車路線查詢", ""),
    ("pool", "游泳池開放時間", ""),
]


def test_topic_words_count_in_any_text_of_an_entry():
    # 至德堂 is the concert hall's, named only in another of its texts: the text that matches
    # the rest of the message (…檔期…申請時間) still holds the topic word through its entry.
    text = normalize("至德堂的檔期申請時間")
    pooled = FaqIndex(SIBLINGS, normalize, answer_weight=0, entry_topics=True)
    assert pooled.search(text, 2)[0][0] == "hall"
    per_text = FaqIndex(SIBLINGS, normalize, answer_weight=0, entry_topics=False)
    assert per_text.search(text, 2)[0][0] == "gallery"
