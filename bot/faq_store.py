"""FAQ entries: the one place that writes them (built-in seed, city import, staff edits).

Every change bumps the catalog version in the same transaction, so each worker's
matcher rebuilds within a second (see intents.provider) without a restart.

Who owns an entry's text is kept in `updated_by`:
- "builtin": written by the seed from data/faq.yaml and never touched by staff;
  a new release may update it. Anything else is never overwritten by the seed.
- "import": written by `citizenbot faq import`; a re-import updates it. Once staff
  change its question, answer, url or organ, a re-import keeps their text
  (unless --overwrite-edits). Examples and removal are staff-only fields, so
  changing them does not take the text over.
- a staff name: written or last edited by staff.

Residents' phrasings of the city's entries ship with the code (data/city_faq_phrasings.yaml)
and are not stored here; they apply while an entry's question is the one they were written for.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, inspect, select, text, update
from sqlalchemy.orm import Session

from bot.models import FaqEntry
from data import city_faq_phrasings, shipped_phrasings

BUILTIN = "builtin"
IMPORT = "import"
STAFF = "staff"
SOURCES = (BUILTIN, IMPORT, STAFF)
RESERVED_NAMES = {BUILTIN, IMPORT}
DEFAULT_STAFF_NAME = "staff"

# Ids staff create: faq.<slug>, lower-case ASCII. Imported ids keep the city's
# organ numbers (e.g. faq.397220000A.9), so lookups also accept upper case.
NEW_ID_RE = re.compile(r"^faq\.[a-z0-9_][a-z0-9_.-]*$")
LOOKUP_ID_RE = re.compile(r"^faq\.[A-Za-z0-9_][A-Za-z0-9_.-]*$")
CITY_PART_RE = re.compile(r"^[A-Za-z0-9_-]+$")

MAX_ID = 128
MAX_QUESTION = 500
MAX_ANSWER = 5000  # a LINE text message holds 5,000 characters
MAX_EXAMPLE = 200
MAX_EXAMPLES = 100
MAX_URL = 512
MAX_ORGAN = 128
MAX_NAME = 64
# Fields each automated owner writes; a staff change to one of them takes the text over.
OWNED_FIELDS = {
    BUILTIN: ("question", "answer", "url", "organ", "examples"),
    IMPORT: ("question", "answer", "url", "organ"),
}
# Serializes FAQ writers on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
_PG_LOCK_KEY = 0x46415131


class FaqError(Exception):
    """A staff-facing error: the message is printed, the exit code returned."""

    exit_code = 1


class UsageError(FaqError):
    exit_code = 2


class NotMigrated(FaqError):
    exit_code = 2

    def __init__(self) -> None:
        super().__init__("the database has no FAQ tables: run `citizenbot db upgrade` first")


class ImportFileError(FaqError):
    """The file as a whole is unusable (not JSON, not an array): nothing is written."""

    exit_code = 2


def _now() -> datetime:
    return datetime.now(UTC)


def _clean_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _bump(session: Session) -> None:
    # Imported here so the CLI's parser can load without the matcher's dependencies.
    from intents.provider import bump_catalog_version

    bump_catalog_version(session)


def ensure_schema(engine) -> None:
    insp = inspect(engine)
    if not (insp.has_table("faq_entries") and insp.has_table("catalog_version")):
        raise NotMigrated()


# --- validation ----------------------------------------------------------------------


def validate_new_id(entry_id: str) -> str:
    entry_id = entry_id.strip()
    if not entry_id.startswith("faq."):
        raise UsageError(
            f"invalid id {entry_id!r}: FAQ ids start with 'faq.' (e.g. faq.{entry_id or 'parking'})"
        )
    if len(entry_id) > MAX_ID or not NEW_ID_RE.match(entry_id):
        raise UsageError(
            f"invalid id {entry_id!r}: use faq.<slug> with lower-case a-z, 0-9, '_', '.', '-' "
            f"(at most {MAX_ID} characters), e.g. faq.parking_permit"
        )
    if ".." in entry_id or entry_id.endswith((".", "-")):
        raise UsageError(f"invalid id {entry_id!r}: no empty parts ('..') and no trailing '.' or '-'")
    return entry_id


def validate_lookup_id(entry_id: str) -> str:
    entry_id = entry_id.strip()
    if len(entry_id) > MAX_ID or not LOOKUP_ID_RE.match(entry_id):
        hint = "" if entry_id.startswith("faq.") else f" (did you mean faq.{entry_id}?)"
        raise UsageError(f"invalid id {entry_id!r}: FAQ ids look like faq.<slug>{hint}")
    return entry_id


def _check_text(name: str, value: str, limit: int) -> str:
    value = _clean_text(value)
    if not value:
        raise UsageError(f"{name} must not be empty")
    if len(value) > limit:
        raise UsageError(f"{name} is {len(value)} characters; at most {limit} are allowed")
    return value


def _check_url(url: str | None) -> str | None:
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    if not re.match(r"^https?://\S+$", url):
        raise UsageError(f"invalid url {url!r}: give a full http:// or https:// address")
    if len(url) > MAX_URL:
        raise UsageError(f"url is {len(url)} characters; at most {MAX_URL} are allowed")
    return url


def _check_organ(organ: str | None) -> str | None:
    if organ is None:
        return None
    organ = organ.strip()
    if len(organ) > MAX_ORGAN:
        raise UsageError(f"organ is {len(organ)} characters; at most {MAX_ORGAN} are allowed")
    return organ or None


def _check_name(by: str | None) -> str:
    by = (by or DEFAULT_STAFF_NAME).strip()
    if not by or len(by) > MAX_NAME:
        raise UsageError(f"--by must be 1-{MAX_NAME} characters")
    if by in RESERVED_NAMES:
        raise UsageError(f"--by {by!r} is reserved for automatic updates; use your own name")
    return by


def _merge_examples(current: Iterable[str], new: Iterable[str], question: str) -> list[str]:
    """Examples in order, without blanks, duplicates or a copy of the question."""
    out: list[str] = []
    seen = {question}
    for raw in [*current, *new]:
        example = _clean_text(str(raw))
        if not example or example in seen:
            continue
        if len(example) > MAX_EXAMPLE:
            raise UsageError(f"example {example[:30]!r}… is over {MAX_EXAMPLE} characters")
        seen.add(example)
        out.append(example)
    if len(out) > MAX_EXAMPLES:
        raise UsageError(f"{len(out)} examples; at most {MAX_EXAMPLES} are allowed")
    return out


# --- built-in entries (data/faq.yaml) --------------------------------------------------


def load_builtin_entries(source: str | None = None) -> list[dict[str, Any]]:
    """The entries of data/faq.yaml, validated (a broken file is a bug: raise)."""
    if source is None:
        source = (resources.files("data") / "faq.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(source) or {}
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in doc.get("entries") or []:
        entry_id = validate_new_id(str(item.get("id", "")))
        if entry_id in seen:
            raise ValueError(f"data/faq.yaml: {entry_id} defined twice")
        seen.add(entry_id)
        question = _check_text(f"{entry_id}: question", str(item.get("question") or ""), MAX_QUESTION)
        entries.append(
            {
                "id": entry_id,
                "question": question,
                "answer": _check_text(f"{entry_id}: answer", str(item.get("answer") or ""), MAX_ANSWER),
                "url": _check_url(item.get("url")),
                "organ": _check_organ(item.get("organ")),
                "examples": _merge_examples([], item.get("examples") or [], question),
            }
        )
    return entries


def seed(session: Session, entries: list[dict[str, Any]] | None = None) -> tuple[int, int]:
    """Insert missing built-in entries and refresh untouched ones: (inserted, updated)."""
    entries = load_builtin_entries() if entries is None else entries
    _lock(session)
    existing = {
        row.id: row
        for row in session.execute(
            select(
                FaqEntry.id,
                FaqEntry.source,
                FaqEntry.updated_by,
                FaqEntry.question,
                FaqEntry.answer,
                FaqEntry.url,
                FaqEntry.organ,
                FaqEntry.examples,
            ).where(FaqEntry.id.in_([e["id"] for e in entries]))
        )
    }
    now = _now()
    inserts, updates = [], []
    for entry in entries:
        row = existing.get(entry["id"])
        if row is None:
            inserts.append(
                {**entry, "source": BUILTIN, "active": True, "updated_at": now, "updated_by": BUILTIN}
            )
        elif row.source == BUILTIN and row.updated_by == BUILTIN:
            current = {k: getattr(row, k) for k in ("question", "answer", "url", "organ")}
            current["examples"] = list(row.examples or [])
            if current != {k: entry[k] for k in current}:
                updates.append({**entry, "updated_at": now})
        # Anything else (edited or removed by staff, or a staff/import entry with
        # this id) is left exactly as it is.
    if inserts:
        session.execute(insert(FaqEntry), inserts)
    if updates:
        session.execute(update(FaqEntry), updates)
    if inserts or updates:
        _bump(session)
    return len(inserts), len(updates)


def seed_builtin_faq(database_url: str) -> int:
    """Called by `citizenbot db upgrade` and `serve`: how many built-in entries were inserted."""
    from bot.db import Database

    db = Database(database_url)
    try:
        with db.session() as session:
            inserted, _updated = seed(session)
        return inserted
    finally:
        db.dispose()


# --- import of the city's FAQ format ---------------------------------------------------


@dataclass
class ImportResult:
    total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # ids whose text staff edited
    problems: list[str] = field(default_factory=list)  # one message per skipped entry
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        parts = [
            f"{self.total} entries read",
            f"{self.inserted} inserted",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
        ]
        if self.kept:
            parts.append(f"{len(self.kept)} kept (edited by staff)")
        parts.append(f"{self.skipped} skipped")
        return ", ".join(parts) + f" in {self.seconds:.2f}s"


CITY_FIELDS = ("organ_no", "seq", "organ", "question", "answer", "url")


def parse_city_faq(raw: bytes | str) -> list[Any]:
    """The file's top-level array; ImportFileError when it is not a JSON array."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"the file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not isinstance(data, list):
        raise ImportFileError(
            f"expected a JSON array of FAQ objects, got a JSON {type(data).__name__.replace('dict', 'object')}"
        )
    return data


def city_entry(item: Any, index: int) -> dict[str, Any]:
    """One city FAQ object as a row, or UsageError naming what is wrong with it."""
    where = f"entry #{index + 1}"
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected an object, got {type(item).__name__}")
    missing = [f for f in CITY_FIELDS if f not in item and f != "url"]
    if missing:
        raise UsageError(f"{where}: missing field(s) {', '.join(missing)}")
    parts = {}
    for name in ("organ_no", "seq"):
        value = item[name]
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not CITY_PART_RE.match(value.strip()):
            raise UsageError(f"{where}: {name} must be a non-empty code of letters and digits, got {value!r}")
        parts[name] = value.strip()
    entry_id = f"faq.{parts['organ_no']}.{parts['seq']}"
    where = f"{where} ({entry_id})"
    if len(entry_id) > MAX_ID:
        raise UsageError(f"{where}: the id is over {MAX_ID} characters")
    for name in ("organ", "question", "answer"):
        if not isinstance(item[name], str):
            raise UsageError(f"{where}: {name} must be a string, got {type(item[name]).__name__}")
    url = item.get("url")
    if url is not None and not isinstance(url, str):
        raise UsageError(f"{where}: url must be a string or null, got {type(url).__name__}")
    try:
        question = _check_text("question", item["question"], MAX_QUESTION)
        # Long city answers are kept whole: the handler shortens them for chat and links the page.
        answer = _clean_text(item["answer"])
        if not answer:
            raise UsageError("answer must not be empty")
        url = _check_url(url)
        organ = _check_organ(item["organ"])
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return {
        "id": entry_id,
        "organ_no": parts["organ_no"],
        "seq": parts["seq"],
        "organ": organ,
        "question": question,
        "answer": answer,
        "url": url,
    }


def import_entries(session: Session, items: Sequence[Any], *, overwrite_edits: bool = False) -> ImportResult:
    """Upsert city FAQ objects by id in bulk; bad objects are skipped with a message."""
    started = time.perf_counter()
    result = ImportResult(total=len(items))
    rows: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            row = city_entry(item, index)
        except UsageError as exc:
            result.problems.append(str(exc))
            continue
        if row["id"] in rows:
            result.problems.append(
                f"entry #{index + 1} ({row['id']}): duplicate of an earlier entry, skipped"
            )
            continue
        rows[row["id"]] = row

    _lock(session)
    columns = (
        FaqEntry.id,
        FaqEntry.source,
        FaqEntry.updated_by,
        *(getattr(FaqEntry, f) for f in CITY_FIELDS),
    )
    # The whole catalog is a few thousand rows: one query beats thousands of lookups.
    existing = {r.id: r for r in session.execute(select(*columns))}
    now = _now()
    inserts, updates = [], []
    for entry_id, row in rows.items():
        old = existing.get(entry_id)
        if old is None:
            inserts.append(
                {
                    **row,
                    "examples": [],
                    "source": IMPORT,
                    "active": True,
                    "updated_at": now,
                    "updated_by": IMPORT,
                }
            )
            continue
        if old.source != IMPORT:
            result.problems.append(f"{entry_id}: the id belongs to a {old.source} entry, skipped")
            continue
        if all(getattr(old, f) == row[f] for f in CITY_FIELDS):
            result.unchanged += 1
            continue
        if old.updated_by != IMPORT and not overwrite_edits:
            result.kept.append(entry_id)
            continue
        # Examples and the active flag are staff's: an update keeps them.
        updates.append({**row, "updated_at": now, "updated_by": IMPORT})
    if inserts:
        session.execute(insert(FaqEntry), inserts)
    if updates:
        session.execute(update(FaqEntry), updates)
    if inserts or updates:
        _bump(session)
    result.inserted, result.updated = len(inserts), len(updates)
    result.seconds = time.perf_counter() - started
    return result


def import_file(
    db, path: str | Path, *, overwrite_edits: bool = False, dry_run: bool = False
) -> ImportResult:
    started = time.perf_counter()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    items = parse_city_faq(raw)
    ensure_schema(db.engine)
    session = db.sessionmaker()
    try:
        result = import_entries(session, items, overwrite_edits=overwrite_edits)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    result.seconds = time.perf_counter() - started
    return result


# --- staff operations --------------------------------------------------------------


def get_entry(session: Session, entry_id: str) -> FaqEntry:
    entry_id = validate_lookup_id(entry_id)
    row = session.get(FaqEntry, entry_id)
    if row is None:
        raise FaqError(f"no FAQ entry {entry_id!r} (see `citizenbot faq list --all`)")
    return row


def _free_staff_id(session: Session) -> str:
    while True:
        candidate = f"faq.staff_{secrets.token_hex(3)}"
        if session.get(FaqEntry, candidate) is None:
            return candidate


def add_entry(
    session: Session,
    *,
    question: str,
    answer: str,
    entry_id: str | None = None,
    examples: Sequence[str] = (),
    url: str | None = None,
    organ: str | None = None,
    by: str | None = None,
) -> FaqEntry:
    by = _check_name(by)
    question = _check_text("question", question, MAX_QUESTION)
    answer = _check_text("answer", answer, MAX_ANSWER)
    row = FaqEntry(
        question=question,
        answer=answer,
        url=_check_url(url),
        organ=_check_organ(organ),
        examples=_merge_examples([], examples, question),
        source=STAFF,
        active=True,
        updated_at=_now(),
        updated_by=by,
    )
    _lock(session)
    if entry_id is None:
        row.id = _free_staff_id(session)
    else:
        row.id = validate_new_id(entry_id)
        if session.get(FaqEntry, row.id) is not None:
            raise FaqError(f"{row.id} already exists: use `citizenbot faq edit {row.id}` to change it")
    session.add(row)
    session.flush()
    _bump(session)
    return row


def edit_entry(
    session: Session,
    entry_id: str,
    *,
    question: str | None = None,
    answer: str | None = None,
    add_examples: Sequence[str] = (),
    remove_examples: Sequence[str] = (),
    url: str | None = None,
    organ: str | None = None,
    activate: bool = False,
    by: str | None = None,
) -> tuple[FaqEntry, list[str]]:
    """Apply the given changes; returns the entry and the names of the fields that changed."""
    by = _check_name(by)
    _lock(session)
    row = get_entry(session, entry_id)
    new: dict[str, Any] = {}
    if question is not None:
        new["question"] = _check_text("question", question, MAX_QUESTION)
    if answer is not None:
        new["answer"] = _check_text("answer", answer, MAX_ANSWER)
    if url is not None:
        new["url"] = _check_url(url)  # "" clears it
    if organ is not None:
        new["organ"] = _check_organ(organ)
    if add_examples or remove_examples:
        drop = {_clean_text(e) for e in remove_examples}
        unknown = drop - set(row.examples or [])
        if unknown:
            raise UsageError(f"{row.id} has no example(s) {', '.join(sorted(unknown))}")
        kept = [e for e in row.examples or [] if e not in drop]
        new["examples"] = _merge_examples(kept, add_examples, new.get("question", row.question))
    changed = [name for name, value in new.items() if getattr(row, name) != value]
    if activate and not row.active:
        changed.append("active")
        row.active = True
    for name in changed:
        if name != "active":
            setattr(row, name, new[name])
    if not changed:
        return row, []
    owned = OWNED_FIELDS.get(row.updated_by or "", ())
    if not owned or any(name in owned for name in changed):
        row.updated_by = by
    row.updated_at = _now()
    _bump(session)
    return row, changed


def remove_entry(session: Session, entry_id: str) -> bool:
    """Deactivate (kept for history and `edit --activate`); False when already removed."""
    _lock(session)
    row = get_entry(session, entry_id)
    if not row.active:
        return False
    row.active = False
    row.updated_at = _now()
    _bump(session)
    return True


def list_entries(
    session: Session,
    *,
    search: str | None = None,
    source: str | None = None,
    include_removed: bool = False,
) -> list[FaqEntry]:
    stmt = select(FaqEntry).order_by(FaqEntry.id)
    if source:
        stmt = stmt.where(FaqEntry.source == source)
    if not include_removed:
        stmt = stmt.where(FaqEntry.active.is_(True))
    rows = list(session.scalars(stmt))
    if search:
        # Folded like the matcher folds text, so 市长信箱 finds 市長信箱.
        from intents.normalize import fold

        needle = fold(search)
        rows = [
            r
            for r in rows
            if needle in fold(" ".join([r.id, r.question, r.answer, r.organ or "", *(r.examples or [])]))
        ]
    return rows


def entry_json(row: FaqEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "question": row.question,
        "answer": row.answer,
        "url": row.url,
        "organ": row.organ,
        "examples": list(row.examples or []),
        "phrasings": list(shipped_phrasings(row.id, row.question)),
        "source": row.source,
        "active": row.active,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "updated_by": row.updated_by,
    }


# --- the `citizenbot faq` command ----------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="faq_command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "import",
        help="load or update entries from a JSON file in the city's FAQ format",
        description="Upsert FAQ entries faq.<organ_no>.<seq> from a JSON array of objects "
        "(organ_no, seq, organ, question, answer, url). Exit code 0: all entries loaded; "
        "1: some entries were skipped (listed on stderr); 2: the file is unusable, nothing written.",
    )
    p.add_argument("path")
    p.add_argument("--overwrite-edits", action="store_true", help="replace text staff edited, too")
    p.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")

    p = sub.add_parser("add", help="add an entry")
    _text_options(p, required=True)
    p.add_argument("--id", dest="entry_id", help="faq.<slug> (generated when omitted)")
    p.add_argument("--example", action="append", default=[], help="another phrasing (repeatable)")
    p.add_argument("--url")
    p.add_argument("--organ")
    p.add_argument("--by", help="your name, recorded as updated_by")

    p = sub.add_parser("edit", help="change an entry")
    p.add_argument("id")
    _text_options(p, required=False)
    p.add_argument("--add-example", action="append", default=[], help="another phrasing (repeatable)")
    p.add_argument("--remove-example", action="append", default=[], help="drop a phrasing (repeatable)")
    p.add_argument("--url", help="'' clears it")
    p.add_argument("--organ")
    p.add_argument("--activate", action="store_true", help="bring back a removed entry")
    p.add_argument("--by", help="your name, recorded as updated_by")

    p = sub.add_parser("list", help="list entries")
    p.add_argument("--search", help="text in the id, question, answer, organ or examples")
    p.add_argument("--source", choices=SOURCES)
    p.add_argument("--all", action="store_true", help="include removed entries")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="one entry in full")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", help="deactivate an entry (edit --activate brings it back)")
    p.add_argument("id")


def _text_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    for name in ("question", "answer"):
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument(f"--{name}")
        group.add_argument(
            f"--{name}-file", metavar="PATH", help=f"read the {name} from a UTF-8 file ('-': stdin)"
        )


def _read_text_option(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name, None)
    path = getattr(args, f"{name}_file", None)
    if path is None:
        return value
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read --{name}-file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"--{name}-file {path} is not UTF-8 text") from exc


def _print_entry(row: FaqEntry) -> None:
    status = "active" if row.active else "removed"
    print(f"id:         {row.id}")
    print(f"source:     {row.source} ({status})")
    print(f"updated:    {row.updated_at:%Y-%m-%d %H:%M} UTC by {row.updated_by or '-'}")
    if row.organ:
        print(f"organ:      {row.organ}")
    if row.url:
        print(f"url:        {row.url}")
    print(f"question:   {row.question}")
    print("answer:")
    for line in row.answer.splitlines():
        print(f"  {line}")
    print(f"examples ({len(row.examples or [])}):")
    for example in row.examples or []:
        print(f"  - {example}")
    shipped = city_faq_phrasings().get(row.id)
    if shipped is None:
        return
    used = shipped_phrasings(row.id, row.question)
    if not used:
        print(
            f"shipped phrasings ({len(shipped[1])}): not used, written for an earlier wording of the question"
        )
        return
    print(f"shipped phrasings ({len(used)}, data/city_faq_phrasings.yaml):")
    for phrasing in used:
        print(f"  - {phrasing}")


def _short(value: str, width: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= width else value[: width - 1] + "…"


def _run(args: argparse.Namespace, db) -> int:
    command = args.faq_command
    if command == "import":
        result = import_file(db, args.path, overwrite_edits=args.overwrite_edits, dry_run=args.dry_run)
        for problem in result.problems[:200]:
            print(f"skipped: {problem}", file=sys.stderr)
        if len(result.problems) > 200:
            print(f"… and {len(result.problems) - 200} more skipped", file=sys.stderr)
        if result.kept:
            print(
                f"kept {len(result.kept)} entries edited by staff (--overwrite-edits replaces them): "
                + ", ".join(result.kept[:20])
                + (" …" if len(result.kept) > 20 else ""),
                file=sys.stderr,
            )
        print(("dry run, nothing written: " if args.dry_run else "") + result.summary())
        return 1 if result.problems else 0

    ensure_schema(db.engine)
    with db.session() as session:
        if command == "add":
            row = add_entry(
                session,
                question=_read_text_option(args, "question") or "",
                answer=_read_text_option(args, "answer") or "",
                entry_id=args.entry_id,
                examples=args.example,
                url=args.url,
                organ=args.organ,
                by=args.by,
            )
            print(f"added {row.id}")
            return 0
        if command == "edit":
            question = _read_text_option(args, "question")
            answer = _read_text_option(args, "answer")
            if not any(
                (question is not None, answer is not None, args.add_example, args.remove_example)
            ) and not any((args.url is not None, args.organ is not None, args.activate)):
                raise UsageError(
                    "nothing to change: give --question, --answer, --add-example, --remove-example, "
                    "--url, --organ or --activate"
                )
            row, changed = edit_entry(
                session,
                args.id,
                question=question,
                answer=answer,
                add_examples=args.add_example,
                remove_examples=args.remove_example,
                url=args.url,
                organ=args.organ,
                activate=args.activate,
                by=args.by,
            )
            print(f"updated {row.id}: {', '.join(changed)}" if changed else f"{row.id} unchanged")
            shipped = city_faq_phrasings().get(row.id)
            if "question" in changed and shipped and not shipped_phrasings(row.id, row.question):
                print(
                    f"note: the {len(shipped[1])} shipped phrasings of {row.id} were written for its old "
                    "question and no longer apply; add the ones that still fit with --add-example"
                )
            return 0
        if command == "remove":
            removed = remove_entry(session, args.id)
            print(f"removed {args.id}" if removed else f"{args.id} was already removed")
            return 0
        if command == "show":
            row = get_entry(session, args.id)
            if args.json:
                print(json.dumps(entry_json(row), ensure_ascii=False, indent=1))
            else:
                _print_entry(row)
            return 0
        if command == "list":
            rows = list_entries(session, search=args.search, source=args.source, include_removed=args.all)
            if args.json:
                print(json.dumps([entry_json(r) for r in rows], ensure_ascii=False, indent=1))
                return 0
            for r in rows:
                flag = "" if r.active else " (removed)"
                print(f"{r.id}\t{r.source}{flag}\t{_short(r.question, 60)}")
            print(f"{len(rows)} entries", file=sys.stderr)
            return 0
    raise UsageError(f"unknown faq command {command!r}")  # pragma: no cover - argparse refuses it


def cli(args: argparse.Namespace, settings) -> int:
    """`citizenbot faq …`; staff-facing errors become a message on stderr and an exit code."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from bot.db import Database

    db = Database(settings.database_url)
    try:
        return _run(args, db)
    except FaqError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (OperationalError, ProgrammingError) as exc:
        # A missing table surfaces here when the schema check raced a migration.
        print(f"error: database problem: {exc.orig or exc}", file=sys.stderr)
        print("hint: run `citizenbot db upgrade` first if the schema is not up to date", file=sys.stderr)
        return 2
    finally:
        db.dispose()
