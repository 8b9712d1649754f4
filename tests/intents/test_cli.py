"""`citizenbot classify`, `intents export` and `eval` through bot.cli.main, on a migrated database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import Database
from bot.models import FaqEntry
from intents.provider import bump_catalog_version

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.tsv"


@pytest.fixture
def env_db(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def _add_faq(url: str) -> None:
    db = Database(url)
    with db.sessionmaker() as s, s.begin():
        s.add(
            FaqEntry(
                id="faq.test_parking",
                question="路邊停車費要怎麼繳？",
                answer="可在超商或用手機 App 繳納。",
                examples=["停車費去哪繳", "停車單怎麼付"],
                source="staff",
            )
        )
        bump_catalog_version(s)
    db.dispose()


def test_classify_json_format(env_db, capsys):
    assert main(["classify", "--json", "鳳山區光遠路路登不亮", "今天天氣如何", "查D2026-000123進度"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    for obj in lines:
        assert set(obj) == {"text", "intent", "score", "slots", "alternatives"}
        assert 0 <= obj["score"] <= 100
        for alt in obj["alternatives"]:
            assert set(alt) == {"intent", "score"}
    assert lines[0]["text"] == "鳳山區光遠路路登不亮"
    assert lines[0]["intent"] == "dispatch_report"
    assert lines[0]["slots"] == {"district": "鳳山區", "category": "streetlight"}
    assert lines[1]["intent"] == "fallback"
    assert lines[2]["intent"] == "petition_status"
    assert lines[2]["slots"]["case_number"] == "D2026-000123"


def test_classify_reads_stdin_and_sees_db_faq(env_db, capsys, monkeypatch):
    _add_faq(env_db)
    monkeypatch.setattr("sys.stdin", io.StringIO("停車費去哪裡繳\n\n我要找真人\n"))
    assert main(["classify", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["intent"] for x in lines] == ["faq.test_parking", "human_agent"]


def test_classify_plain_text(env_db, capsys):
    assert main(["classify", "我要連署"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("proposal_cosign\t")


def test_intents_export(env_db, capsys):
    _add_faq(env_db)
    assert main(["intents", "export"]) == 0
    items = json.loads(capsys.readouterr().out)
    by_id = {x["id"]: x for x in items}
    for builtin in [
        "legal_consultation",
        "petition_status",
        "dispatch_report",
        "proposal_cosign",
        "proposal_submit",
        "sign_language_video",
        "human_agent",
    ]:
        assert by_id[builtin]["kind"] == "builtin"
        assert len(by_id[builtin]["examples"]) >= 60
        assert "answer" not in by_id[builtin]
    faq = by_id["faq.test_parking"]
    assert faq["kind"] == "faq"
    assert faq["answer"].startswith("可在超商")
    assert faq["examples"][0] == "路邊停車費要怎麼繳？"
    assert "none" not in by_id and "fallback" not in by_id


def test_eval_command_json(env_db, capsys):
    assert main(["eval", "--json", str(DEVSET)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] >= 500
    for key in (
        "accuracy",
        "in_scope_accuracy",
        "oos_rejection",
        "category_accuracy",
        "per_intent",
        "confusions",
    ):
        assert key in result
    assert result["per_intent"]["dispatch_report"]["recall"] >= 0.95


def test_eval_command_text_and_bad_file(env_db, capsys, tmp_path):
    assert main(["eval", str(DEVSET)]) == 0
    out = capsys.readouterr().out
    assert "in-scope accuracy" in out and "out-of-scope reject" in out and "precision" in out
    bad = tmp_path / "bad.tsv"
    bad.write_text("hello\tworld\n", encoding="utf-8")
    assert main(["eval", str(bad)]) == 2
    assert "header" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.tsv")]) == 2
