"""Word vectors: the word2vec reader, segmentation, SIF embedding, and the shipped table."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from intents import wordvectors
from intents.wordvectors import WordVectors


def write_word2vec(path, table: dict[str, list[float]], newline: bool = True) -> None:
    dim = len(next(iter(table.values())))
    with open(path, "wb") as f:
        f.write(f"{len(table)} {dim}\n".encode())
        for word, vec in table.items():
            f.write(word.encode() + b" " + struct.pack(f"<{dim}f", *vec))
            if newline:
                f.write(b"\n")


@pytest.mark.parametrize("newline", [True, False])
def test_reads_the_word2vec_binary_format(tmp_path, newline):
    path = tmp_path / "tiny.vector"
    write_word2vec(
        path, {"的": [1, 0, 0], "儿童": [0, 3, 0], "小孩": [0, 1, 0.1], "路灯": [0, 0, 2]}, newline
    )
    vectors = WordVectors.read_word2vec(path)
    assert len(vectors) == 4 and vectors.dim == 3
    # Traditional input is matched against the simplified table, longest word first.
    assert vectors.words("小孩兒童的路燈") == ["小孩", "儿童", "的", "路灯"]
    # Characters the table lacks are skipped; nothing known gives the zero vector.
    assert vectors.words("我家小孩") == ["小孩"]
    assert not vectors.embed("天氣").any()


def test_embedding_is_a_unit_sif_mean_where_frequent_words_weigh_little(tmp_path):
    path = tmp_path / "tiny.vector"
    # Rank 1 (most frequent) points one way, rank 2 the other.
    write_word2vec(path, {"的": [1, 0], "儿童": [0, 1]})
    vectors = WordVectors.read_word2vec(path)
    v = vectors.embed("兒童的")
    assert np.isclose(np.linalg.norm(v), 1.0, atol=1e-3)
    assert v[1] > v[0]  # 兒童 outweighs 的


def test_switched_off_by_the_environment(monkeypatch):
    wordvectors.load.cache_clear()
    monkeypatch.setenv(wordvectors.ENV, "off")
    try:
        assert wordvectors.load() is None
    finally:
        wordvectors.load.cache_clear()


def test_missing_table_degrades_to_characters_only(monkeypatch, tmp_path):
    wordvectors.load.cache_clear()
    monkeypatch.setenv(wordvectors.ENV, str(tmp_path / "nowhere.vector"))
    try:
        assert wordvectors.load() is None
    finally:
        wordvectors.load.cache_clear()


def test_the_installed_table_knows_residents_words_for_official_ones():
    vectors = wordvectors.load()
    assert vectors is not None, "pip install -e . installs synonyms==3.10.2, which ships the table"
    assert len(vectors) > 100_000

    def cos(a: str, b: str) -> float:
        return float(vectors.embed(a) @ vectors.embed(b))

    assert cos("小孩", "兒童") > cos("小孩", "路燈") + 0.3
    assert cos("罰單", "罰款") > cos("罰單", "公園") + 0.3
    assert cos("戶口", "戶籍") > cos("戶口", "颱風") + 0.3
