"""Staff JSON API for cases, behind `Authorization: Bearer <STAFF_API_TOKEN>`.

GET  /api/staff/cases                 list (status, category, overdue, limit, offset)
GET  /api/staff/cases/<number>        one case with its history
POST /api/staff/cases/<number>        change status / add a note / change agency (PATCH too)
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from flask import Blueprint, jsonify, request

from bot import cases, openapi

bp = Blueprint("staff_api", __name__, url_prefix="/api/staff")


def _services():
    from bot.app import services

    return services()


def _error(status: int, code: str, message: str):
    return jsonify(error={"code": code, "message": message}), status


@bp.before_request
def _require_token():
    token = _services()["settings"].staff_api_token
    if not token:
        return _error(503, "not_configured", "員工 API 尚未設定（STAFF_API_TOKEN）。")
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        return _error(401, "unauthorized", "需要有效的員工 API 權杖（Authorization: Bearer …）。")
    return None


@bp.errorhandler(404)
def _not_found(_exc):
    return _error(404, "not_found", "找不到這個資源。")


@bp.errorhandler(405)
def _not_allowed(_exc):
    return _error(405, "method_not_allowed", "不支援這個方法。")


@bp.get("/cases")
def list_cases():
    overdue_arg = request.args.get("overdue")
    overdue = None if overdue_arg in (None, "") else overdue_arg.lower() in ("1", "true", "yes")
    try:
        limit = int(request.args.get("limit", "50"))
        offset = int(request.args.get("offset", "0"))
    except ValueError:
        return _error(400, "bad_request", "limit 與 offset 必須是整數。")
    category = request.args.get("category") or None
    if category and category not in cases.CATEGORIES:
        return _error(400, "bad_category", f"未知的類別 {category}")
    with _services()["db"].session() as session:
        try:
            rows = cases.list_cases(
                session,
                status=request.args.get("status") or None,
                category=category,
                overdue=overdue,
                limit=limit,
                offset=offset,
            )
        except cases.CaseError as exc:
            return _error(400, exc.code, exc.message)
        return jsonify(cases=[cases.case_dict(session, c) for c in rows])


@bp.get("/cases/<number>")
def show_case(number: str):
    with _services()["db"].session() as session:
        case = cases.get_case(session, number)
        if case is None:
            return _error(404, "not_found", f"查無案件 {number}")
        return jsonify(case=cases.case_dict(session, case, history=True))


@bp.route("/cases/<number>", methods=["POST", "PATCH"])
def update_case(number: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", "請以 JSON 物件傳送 status、note、agency 或 unit。")
    fields = {}
    for name in ("status", "note", "agency", "unit", "actor", "duplicate_of"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return _error(400, "bad_request", f"{name} 必須是字串。")
        fields[name] = value
    actor = (fields.pop("actor") or "staff-api")[:64]
    try:
        with _services()["db"].session() as session:
            case = cases.update_case(session, number, datetime.now(UTC), actor=actor, **fields)
            out = cases.case_dict(session, case, history=True)
    except cases.CaseError as exc:
        status = 404 if exc.code == "not_found" else 409 if exc.code == "bad_transition" else 400
        return _error(status, exc.code, exc.message)
    return jsonify(case=out)


_CASE = {"type": "object", "description": "A case as staff see it (reporter included)."}
_AUTH = [{"staffToken": []}]
_ERR = {"description": "Error.", "content": openapi.json_content(openapi.ref("Error"))}
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "example": "D2026-000123",
}

openapi.register(
    paths={
        "/api/staff/cases": {
            "get": {
                "operationId": "staffListCases",
                "tags": ["staff"],
                "summary": "List cases, newest first",
                "security": _AUTH,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(cases.STATUS_LABELS)},
                    },
                    {
                        "name": "category",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(cases.CATEGORIES)},
                    },
                    {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "default": 50, "maximum": 500},
                    },
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}},
                ],
                "responses": {
                    "200": {
                        "description": "Cases.",
                        "content": openapi.json_content(
                            {"type": "object", "properties": {"cases": {"type": "array", "items": _CASE}}}
                        ),
                    },
                    "400": _ERR,
                    "401": _ERR,
                },
            }
        },
        "/api/staff/cases/{number}": {
            "get": {
                "operationId": "staffShowCase",
                "tags": ["staff"],
                "summary": "One case with its history",
                "security": _AUTH,
                "parameters": [_NUMBER],
                "responses": {
                    "200": {
                        "description": "The case.",
                        "content": openapi.json_content({"type": "object", "properties": {"case": _CASE}}),
                    },
                    "401": _ERR,
                    "404": _ERR,
                },
            },
            "post": {
                "operationId": "staffUpdateCase",
                "tags": ["staff"],
                "summary": "Change status (checked against the flow), add a note, change agency",
                "description": "Every status change pushes a notification to the reporter and followers.",
                "security": _AUTH,
                "parameters": [_NUMBER],
                "requestBody": {
                    "required": True,
                    "content": openapi.json_content(
                        {
                            "type": "object",
                            "properties": {
                                "status": {"type": "string", "enum": list(cases.STATUS_LABELS)},
                                "note": {"type": "string"},
                                "agency": {"type": "string"},
                                "unit": {"type": "string"},
                                "actor": {"type": "string"},
                                "duplicate_of": {"type": "string"},
                            },
                        },
                        {"status": "in_progress", "note": "已派員前往"},
                    ),
                },
                "responses": {
                    "200": {
                        "description": "The updated case.",
                        "content": openapi.json_content({"type": "object", "properties": {"case": _CASE}}),
                    },
                    "400": _ERR,
                    "401": _ERR,
                    "404": _ERR,
                    "409": _ERR,
                },
            },
        },
    },
    tags=[{"name": "staff", "description": "Staff case API (bearer token)."}],
    security_schemes={"staffToken": {"type": "http", "scheme": "bearer"}},
)
