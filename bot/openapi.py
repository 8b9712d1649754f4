"""The OpenAPI 3.1 document served at `/openapi.json`, assembled from a registry.

Each feature describes its own JSON endpoints next to their code and calls
`register()` when its module is imported (the app factory imports every
blueprint before the document can be requested):

    from bot import openapi

    openapi.register(
        paths={"/open311/v2/services.json": {"get": {...}}},
        schemas={"Service": {...}},
        tags=[{"name": "open311", "description": "..."}],
        security_schemes={"staffToken": {"type": "http", "scheme": "bearer"}},
    )

Schemas are JSON Schema 2020-12 (as OpenAPI 3.1 has it); refer to them with
`{"$ref": "#/components/schemas/Name"}` (or `ref("Name")`). Registering the same
thing twice is a no-op (several apps may be built in one process); registering
something different under a name already taken raises `ValueError`, so two
features cannot silently overwrite each other.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

OPENAPI_VERSION = "3.1.0"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_lock = threading.Lock()
_paths: dict[str, dict[str, Any]] = {}
_schemas: dict[str, Any] = {}
_security_schemes: dict[str, Any] = {}
_tags: dict[str, dict[str, Any]] = {}


def ref(name: str) -> dict[str, str]:
    """A reference to a registered component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: Mapping[str, Any], example: Any = None) -> dict[str, Any]:
    """`content` of a JSON request or response body."""
    media: dict[str, Any] = {"schema": dict(schema)}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _merge_one(registry: dict[str, Any], key: str, value: Any, what: str) -> None:
    if key in registry and registry[key] != value:
        raise ValueError(f"OpenAPI {what} {key!r} is already registered differently")
    registry[key] = copy.deepcopy(value)


def register(
    paths: Mapping[str, Mapping[str, Any]] | None = None,
    schemas: Mapping[str, Any] | None = None,
    *,
    tags: Iterable[Mapping[str, Any]] = (),
    security_schemes: Mapping[str, Any] | None = None,
) -> None:
    """Add paths (with their operations), component schemas, tags and security schemes."""
    with _lock:
        # Validate everything first so a conflict leaves the registry unchanged.
        for path, item in (paths or {}).items():
            if not path.startswith("/"):
                raise ValueError(f"OpenAPI path {path!r} must start with '/'")
            for key, value in item.items():
                if _paths.get(path, {}).get(key, value) != value:
                    what = f"operation {key.upper()}" if key in HTTP_METHODS else f"field {key!r} of"
                    raise ValueError(f"OpenAPI {what} {path} is already registered differently")
        for name, schema in (schemas or {}).items():
            if _schemas.get(name, schema) != schema:
                raise ValueError(f"OpenAPI schema {name!r} is already registered differently")
        for name, scheme in (security_schemes or {}).items():
            if _security_schemes.get(name, scheme) != scheme:
                raise ValueError(f"OpenAPI security scheme {name!r} is already registered differently")
        for tag in tags:
            if _tags.get(tag["name"], tag) != tag:
                raise ValueError(f"OpenAPI tag {tag['name']!r} is already registered differently")

        for path, item in (paths or {}).items():
            target = _paths.setdefault(path, {})
            for key, value in item.items():
                _merge_one(target, key, value, f"path item field {path}")
        for name, schema in (schemas or {}).items():
            _merge_one(_schemas, name, schema, "schema")
        for name, scheme in (security_schemes or {}).items():
            _merge_one(_security_schemes, name, scheme, "security scheme")
        for tag in tags:
            _merge_one(_tags, tag["name"], dict(tag), "tag")


def _version() -> str:
    try:
        return metadata.version("citizenbot")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def document() -> dict[str, Any]:
    """The whole document: a fresh copy, safe for the caller to change."""
    with _lock:
        components: dict[str, Any] = {"schemas": copy.deepcopy(_schemas)}
        if _security_schemes:
            components["securitySchemes"] = copy.deepcopy(_security_schemes)
        return {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": "citizenbot",
                "version": _version(),
                "summary": "高雄市民服務 chat and LINE bot: the JSON APIs it serves",
                "description": (
                    'Errors of the JSON APIs are `{"error": {"code": …, "message": …}}`; '
                    "`message` is Traditional Chinese (zh-TW), suitable to show to a resident."
                ),
                "license": {"name": "MIT", "identifier": "MIT"},
            },
            "servers": [{"url": "/"}],
            "tags": [copy.deepcopy(_tags[name]) for name in sorted(_tags)],
            "paths": {path: copy.deepcopy(_paths[path]) for path in sorted(_paths)},
            "components": components,
        }


# --- the endpoints every deployment has ---------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error answer; `message` is zh-TW and may be shown to the resident as it is.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "Explanation in zh-TW."},
            },
        }
    },
}

register(
    paths={
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["operations"],
                "summary": "Liveness and database check",
                "responses": {
                    "200": {
                        "description": "The app and its database answer.",
                        "content": json_content(ref("Health"), {"status": "ok"}),
                    },
                    "503": {
                        "description": "The database does not answer.",
                        "content": json_content(ref("Health"), {"status": "database unavailable"}),
                    },
                },
            }
        },
        "/callback": {
            "post": {
                "operationId": "lineWebhook",
                "tags": ["line"],
                "summary": "LINE Messaging API webhook",
                "description": (
                    "Called by the LINE Platform only. The raw body is verified against "
                    "`X-Line-Signature` (HMAC-SHA256 with the channel secret) before anything is read; "
                    "each event is handled once (by `webhookEventId`) and answered through the "
                    "Messaging API. See LINE's webhook documentation for the body."
                ),
                "parameters": [
                    {
                        "name": "X-Line-Signature",
                        "in": "header",
                        "required": True,
                        "description": "Base64 HMAC-SHA256 of the raw body, keyed with the channel secret.",
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": json_content(
                        {
                            "type": "object",
                            "required": ["destination", "events"],
                            "properties": {
                                "destination": {"type": "string"},
                                "events": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    ),
                },
                "responses": {
                    "200": {"description": "Accepted (also for events that are ignored or already handled)."},
                    "400": {"description": "Missing or wrong signature, or a body that is not a webhook."},
                    "413": {"description": "Body over 1 MiB."},
                    "503": {"description": "`LINE_CHANNEL_SECRET` is not configured."},
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["operations"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": json_content({"type": "object"}),
                    }
                },
            }
        },
    },
    schemas={
        "Error": ERROR_SCHEMA,
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
    },
    tags=[
        {"name": "operations", "description": "Health and service description."},
        {"name": "line", "description": "The LINE channel."},
    ],
)
