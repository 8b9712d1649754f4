"""Open311 GeoReport v2 at /open311/v2/ for dispatch reports.

Per the spec (wiki.open311.org/GeoReport_v2): every resource in .xml and .json;
errors as [{"code": …, "description": …}] (XML: <errors><error>…) with 400/403/404;
a single request answered as a one-element list; ISO 8601 datetimes with a UTC
offset (Asia/Taipei); ids as strings. status is open|closed, the city's own status
goes in status_notes. A reporter's identity (chat user, contact details) is never
part of any answer.
"""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from bot import cases, openapi
from bot.models import Case
from data import district_centroid, names_other_city

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-26T00:00:00+08:00"
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
DESCRIPTION_LIMIT = 4000

SERVICES = {
    "pothole": (
        "路面坑洞",
        "道路路面坑洞、不平或破損（工務局養護工程處，4 小時內處理）",
        "road",
        "坑洞,路面不平,道路不平,pothole",
    ),
    "streetlight": (
        "路燈故障",
        "路燈不亮、閃爍或損壞（工務局養護工程處，4 小時內處理）",
        "lighting",
        "路燈,燈不亮,streetlight",
    ),
    "traffic_signal": (
        "交通號誌故障",
        "紅綠燈、行人號誌故障（交通局 24 小時號誌故障專線，4 小時內處理）",
        "traffic",
        "紅綠燈,號誌,traffic signal",
    ),
    "fallen_tree": (
        "路樹傾倒",
        "路樹傾倒、斷枝阻礙通行（工務局養護工程處，4 小時內處理）",
        "trees",
        "路樹,倒樹,斷枝,fallen tree",
    ),
}


def _services():
    from bot.app import services

    return services()


# --- rendering ------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(cases.TAIPEI).isoformat(timespec="seconds") if dt else None


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, list):
        item_tag = "format" if tag == "formats" else tag.rstrip("s")
        for item in value:
            _xml_node(el, item_tag, item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = str(value)


def _xml_node(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, dict):
        el = ET.SubElement(parent, tag)
        for k, v in value.items():
            _xml_value(el, k, v)
    else:
        _xml_value(parent, tag, value)


def _render(fmt: str, payload: Any, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "json":
        resp = jsonify(payload)
        resp.status_code = status
        resp.headers["Content-Type"] = FORMATS["json"]
        return resp
    top = ET.Element(root)
    if item is None:
        for k, v in payload.items():
            _xml_value(top, k, v)
    else:
        for entry in payload:
            _xml_node(top, item, entry)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        top, encoding="utf-8", xml_declaration=False
    )
    return Response(body, status=status, content_type=FORMATS["xml"])


def _error(fmt: str, status: int, description: str) -> Response:
    fmt = fmt if fmt in FORMATS else "json"
    return _render(fmt, [{"code": status, "description": description}], "errors", "error", status)


# What a resident typed may name them: phone numbers and e-mail addresses are masked
# before a description is published.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z-])(?:"
    r"\+?886[-\s]?\(?0?\d{1,3}\)?[-\s]?\d{3,4}[-\s]?\d{3,4}"  # international
    r"|09\d{2}[-\s]?\d{3}[-\s]?\d{3}"  # mobile
    r"|\(?0\d{1,2}\)?[-\s]?\d{3,4}[-\s]?\d{4}"  # landline
    r")(?![0-9A-Za-z])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def public_text(text: str | None) -> str:
    text = _EMAIL.sub("＊＊＊", text or "")
    return _PHONE.sub("＊＊＊", text)


def _request_json(case: Case) -> dict[str, Any]:
    name = SERVICES.get(case.category or "", (cases.category_name(case.category),))[0]
    notes = cases.status_label(case.status) + ("（已逾期）" if case.overdue else "")
    return {
        "service_request_id": case.number,
        "status": "open" if case.status in cases.OPEN_STATUSES else "closed",
        "status_notes": notes,
        "service_name": name,
        "service_code": case.category,
        "description": public_text(case.description),
        "agency_responsible": f"{case.agency or ''}{case.unit or ''}" or None,
        "service_notice": None,
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.due_at),
        "address": case.address,
        "address_id": None,
        "zipcode": _zip(case.district),
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": case.media_url,
    }


def _zip(district: str | None) -> str | None:
    import data

    return next((d.zip for d in data.districts() if d.name == district), None)


# --- routes ---------------------------------------------------------------------------


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    base = request.url_root.rstrip("/") + bp.url_prefix
    payload = {
        "changeset": CHANGESET,
        "contact": "高雄市政府研考會聯合服務中心 07-3373686；市民服務專線 1999",
        "key_service": "API keys are issued by the Kaohsiung City 1999 service center (07-3373686).",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _render(fmt, payload, "discovery", None)


def _service_json(code: str) -> dict[str, Any]:
    name, description, group, keywords = SERVICES[code]
    return {
        "service_code": code,
        "service_name": name,
        "description": description,
        "metadata": False,
        "type": "realtime",
        "keywords": keywords,
        "group": group,
    }


@bp.get("/services.<fmt>")
def service_list(fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    return _render(fmt, [_service_json(code) for code in SERVICES], "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    if code not in SERVICES:
        return _error(fmt, 404, f"service_code {code} not found")
    return _render(fmt, {"service_code": code, "attributes": []}, "service_definition", None)


def _parse_date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+"))  # '+' arrives as ' ' when unencoded
    except ValueError as exc:
        raise ValueError(f"{name} must be an ISO 8601 datetime, e.g. 2026-01-01T00:00:00+08:00") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=cases.TAIPEI)


def _opt(name: str) -> str | None:
    value = request.values.get(name)
    return value.strip() if value and value.strip() else None


@bp.get("/requests.<fmt>")
def request_list(fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    stmt = select(Case).where(Case.kind == "D")
    ids = _opt("service_request_id")
    if ids:  # overrides every other filter, per the spec
        numbers = [n.strip().upper() for n in ids.split(",") if n.strip()][:MAX_RESULTS]
        stmt = stmt.where(Case.number.in_(numbers))
    else:
        try:
            start, end = (
                _parse_date(_opt("start_date"), "start_date"),
                _parse_date(_opt("end_date"), "end_date"),
            )
        except ValueError as exc:
            return _error(fmt, 400, str(exc))
        now = datetime.now(UTC)
        if start and end and start > end:
            return _error(fmt, 400, "start_date is after end_date")
        if start and end and end - start > DEFAULT_WINDOW:
            return _error(fmt, 400, "start_date and end_date may not span more than 90 days")
        if end is None:
            end = min(now, start + DEFAULT_WINDOW) if start else now
        if start is None:
            start = end - DEFAULT_WINDOW
        stmt = stmt.where(Case.created_at >= start, Case.created_at <= end)
        if codes := _opt("service_code"):
            wanted = [c.strip() for c in codes.split(",") if c.strip()]
            unknown = [c for c in wanted if c not in SERVICES]
            if unknown:
                return _error(fmt, 400, f"unknown service_code {', '.join(unknown)}")
            stmt = stmt.where(Case.category.in_(wanted))
        if status := _opt("status"):
            wanted = {s.strip().lower() for s in status.split(",") if s.strip()}
            if not wanted <= {"open", "closed"}:
                return _error(fmt, 400, "status must be open or closed")
            if wanted == {"open"}:
                stmt = stmt.where(Case.status.in_(cases.OPEN_STATUSES))
            elif wanted == {"closed"}:
                stmt = stmt.where(Case.status.not_in(cases.OPEN_STATUSES))
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    with _services()["db"].session() as session:
        rows = [_request_json(c) for c in session.scalars(stmt)]
    return _render(fmt, rows, "service_requests", "request")


@bp.get("/requests/<request_id>.<fmt>")
def request_one(request_id: str, fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    with _services()["db"].session() as session:
        case = cases.get_case(session, request_id)
        if case is None or case.kind != "D":
            return _error(fmt, 404, f"service_request_id {request_id} not found")
        row = _request_json(case)
    return _render(fmt, [row], "service_requests", "request")


def _key_ok(key: str | None) -> bool:
    keys = _services()["settings"].open311_api_keys
    if not key or not keys:
        return False
    ok = False
    for candidate in keys:  # look at every key: the time taken says nothing
        ok |= hmac.compare_digest(candidate.encode(), key.encode())
    return ok


@bp.post("/requests.<fmt>")
def create_request(fmt: str):
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not supported; use json or xml")
    if not _key_ok(_opt("api_key")):
        return _error(fmt, 403, "api_key is missing or not valid")
    code = _opt("service_code")
    if code is None:
        return _error(fmt, 400, "service_code is required")
    if code not in SERVICES:
        return _error(fmt, 400, f"service_code {code} not found")
    lat_s, lng_s, address = _opt("lat"), _opt("long"), _opt("address_string")
    approximate = False
    if lat_s is not None or lng_s is not None:
        try:
            lat, lng = float(lat_s or ""), float(lng_s or "")
        except ValueError:
            return _error(fmt, 400, "lat and long must both be given as decimal degrees (WGS84)")
        district = cases.district_for_point(lat, lng, address)
        if district is None:
            return _error(fmt, 400, "the location is outside Kaohsiung City")
    elif address is not None:
        from intents.normalize import fold
        from intents.slots import extract_district

        if names_other_city(address):
            return _error(fmt, 400, "the location is outside Kaohsiung City")
        district = extract_district(fold(address))
        if district is None:
            return _error(
                fmt, 400, "address_string must name a Kaohsiung district (e.g. 苓雅區), or give lat and long"
            )
        lat, lng = district_centroid(district) or (None, None)
        approximate = True
    else:
        return _error(fmt, 400, "a location is required: lat and long, or address_string")
    raw = _opt("description")
    if raw and len(raw) > DESCRIPTION_LIMIT:
        return _error(fmt, 400, f"description is longer than {DESCRIPTION_LIMIT} characters")
    description, _ = cases.clean_description(raw, limit=DESCRIPTION_LIMIT)
    media_url = _opt("media_url")
    if media_url and not media_url.lower().startswith(("http://", "https://")):
        return _error(fmt, 400, "media_url must be an http(s) URL")
    name = " ".join(p for p in (_opt("first_name"), _opt("last_name")) if p) or None
    new = cases.NewCase(
        kind="D",
        source="open311",
        category=code,
        description=description,
        latitude=lat,
        longitude=lng,
        location_approximate=approximate,
        address=(address or "")[:255] or None,
        district=district,
        reporter_key=None,
        contact_name=(name or "")[:64] or None,
        contact_email=(_opt("email") or "")[:255] or None,
        contact_phone=(_opt("phone") or "")[:32] or None,
        media_url=(media_url or "")[:1024] or None,
    )
    with _services()["db"].session() as session:
        case, _, _ = cases.create_case(session, new, datetime.now(UTC), actor="open311")
        assert case is not None
        notice = f"已分派{case.agency}{case.unit or ''}，預計 {_iso(case.due_at)} 前處理。"
        number = case.number
    payload = [{"service_request_id": number, "service_notice": notice, "account_id": None}]
    return _render(fmt, payload, "service_requests", "request", status=201)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(rest: str):
    fmt = rest.rsplit(".", 1)[-1] if "." in rest else "json"
    return _error(fmt, 404, f"no such resource: {rest}")


# --- OpenAPI --------------------------------------------------------------------------

_FMT = {
    "name": "format",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["json", "xml"]},
}
_ERRORS = {
    "description": "Errors as a list of {code, description} (XML: <errors><error>…).",
    "content": {
        "application/json": {"schema": {"type": "array", "items": openapi.ref("Open311Error")}},
        "text/xml": {"schema": {"type": "string"}},
    },
}


def _ok(description: str, schema: dict) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}, "text/xml": {"schema": {"type": "string"}}},
    }


openapi.register(
    paths={
        "/open311/v2/discovery.{format}": {
            "get": {
                "operationId": "open311Discovery",
                "tags": ["open311"],
                "summary": "Service discovery",
                "parameters": [_FMT],
                "responses": {"200": _ok("Endpoints and formats.", {"type": "object"}), "404": _ERRORS},
            }
        },
        "/open311/v2/services.{format}": {
            "get": {
                "operationId": "open311Services",
                "tags": ["open311"],
                "summary": "Service list (pothole, streetlight, traffic_signal, fallen_tree)",
                "parameters": [_FMT],
                "responses": {
                    "200": _ok("Services.", {"type": "array", "items": openapi.ref("Open311Service")}),
                    "404": _ERRORS,
                },
            }
        },
        "/open311/v2/services/{service_code}.{format}": {
            "get": {
                "operationId": "open311ServiceDefinition",
                "tags": ["open311"],
                "summary": "Service definition (no extra attributes)",
                "parameters": [
                    {"name": "service_code", "in": "path", "required": True, "schema": {"type": "string"}},
                    _FMT,
                ],
                "responses": {"200": _ok("Definition.", {"type": "object"}), "404": _ERRORS},
            }
        },
        "/open311/v2/requests.{format}": {
            "get": {
                "operationId": "open311Requests",
                "tags": ["open311"],
                "summary": "Service requests (default: the last 90 days, newest first, at most 1000)",
                "parameters": [
                    _FMT,
                    *(
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in ("service_request_id", "service_code", "start_date", "end_date", "status")
                    ),
                ],
                "responses": {
                    "200": _ok("Requests.", {"type": "array", "items": openapi.ref("Open311Request")}),
                    "400": _ERRORS,
                },
            },
            "post": {
                "operationId": "open311CreateRequest",
                "tags": ["open311"],
                "summary": "Create a service request (api_key in the query or the form body)",
                "parameters": [
                    _FMT,
                    {"name": "api_key", "in": "query", "required": False, "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["service_code"],
                                "properties": {
                                    n: {"type": "string"}
                                    for n in (
                                        "api_key",
                                        "service_code",
                                        "lat",
                                        "long",
                                        "address_string",
                                        "description",
                                        "media_url",
                                        "email",
                                        "first_name",
                                        "last_name",
                                        "phone",
                                        "device_id",
                                        "account_id",
                                    )
                                },
                            }
                        }
                    },
                },  # fmt: skip
                "responses": {
                    "201": _ok(
                        "Created: a one-element list.",
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "service_request_id": {"type": "string"},
                                    "service_notice": {"type": "string"},
                                    "account_id": {"type": ["string", "null"]},
                                },
                            },
                        },
                    ),
                    "400": _ERRORS,
                    "403": _ERRORS,
                },
            },
        },
        "/open311/v2/requests/{service_request_id}.{format}": {
            "get": {
                "operationId": "open311Request",
                "tags": ["open311"],
                "summary": "One service request, as a one-element list",
                "parameters": [
                    {
                        "name": "service_request_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _FMT,
                ],
                "responses": {
                    "200": _ok("The request.", {"type": "array", "items": openapi.ref("Open311Request")}),
                    "404": _ERRORS,
                },
            }
        },
    },
    schemas={
        "Open311Error": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        },
        "Open311Service": {
            "type": "object",
            "properties": {
                k: {"type": "boolean" if k == "metadata" else "string"}
                for k in (
                    "service_code",
                    "service_name",
                    "description",
                    "metadata",
                    "type",
                    "keywords",
                    "group",
                )
            },
        },
        "Open311Request": {
            "type": "object",
            "properties": {
                **{
                    k: {"type": ["string", "null"]}
                    for k in (
                        "service_request_id",
                        "status",
                        "status_notes",
                        "service_name",
                        "service_code",
                        "description",
                        "agency_responsible",
                        "service_notice",
                        "requested_datetime",
                        "updated_datetime",
                        "expected_datetime",
                        "address",
                        "address_id",
                        "zipcode",
                        "media_url",
                    )
                },
                "lat": {"type": ["number", "null"]},
                "long": {"type": ["number", "null"]},
            },
        },  # fmt: skip
    },
    tags=[{"name": "open311", "description": "Open311 GeoReport v2 for dispatch reports."}],
)
