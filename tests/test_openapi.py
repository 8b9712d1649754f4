"""`/openapi.json`: a valid OpenAPI 3.1 document, and the chat API answers as it says."""

from __future__ import annotations

import base64
import copy

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from bot import openapi


@pytest.fixture
def doc(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def schema_validator(doc, name):
    # The document's components are JSON Schema 2020-12 (OpenAPI 3.1): resolve refs within it.
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def test_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    for path, method in [
        ("/api/chat", "post"),
        ("/api/chat/updates", "get"),
        ("/healthz", "get"),
        ("/callback", "post"),
    ]:
        assert method in doc["paths"][path], (path, method)
    assert set(doc["paths"]["/api/chat"]["post"]["responses"]) >= {"200", "400", "413"}
    # Every component schema is itself a valid JSON Schema.
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_chat_answers_conform_to_the_document(client, doc):
    ok = schema_validator(doc, "ChatResponse")
    error = schema_validator(doc, "Error")
    request = schema_validator(doc, "ChatRequest")
    png = base64.b64encode(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
    ).decode()
    good = [
        {"event": "follow"},
        {"text": "選單"},
        {"text": "今天天氣如何"},
        {"text": "今天天氣如何"},
        {"text": "今天天氣如何"},  # the third miss offers a uri button (tel:1999)
        {"postback": "intent=human_agent", "display": "轉真人"},
        {"location": {"latitude": 22.6273, "longitude": 120.3014}},
        {"image": png},
    ]
    for payload in good:
        request.validate(payload)
        response = client.post("/api/chat", json=payload)
        assert response.status_code == 200, payload
        ok.validate(response.get_json())
    updates = client.get("/api/chat/updates")
    ok.validate(updates.get_json())

    bad = [{"text": ""}, {"text": 3}, {"location": {"latitude": 100, "longitude": 0}}, {"event": "x"}]
    for payload in bad:
        assert not request.is_valid(payload), payload
        response = client.post("/api/chat", json=payload)
        assert response.status_code == 400
        error.validate(response.get_json())


def test_health_answer_conforms(client, doc):
    schema_validator(doc, "Health").validate(client.get("/healthz").get_json())


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test vanish afterwards."""
    for name in ("_paths", "_schemas", "_security_schemes", "_tags"):
        monkeypatch.setattr(openapi, name, copy.deepcopy(getattr(openapi, name)))


def test_features_can_register_their_paths(scratch_registry):
    openapi.register(
        paths={"/test-only/things": {"get": {"responses": {"200": {"description": "things"}}}}},
        schemas={"TestOnlyThing": {"type": "object"}},
        tags=[{"name": "test-only"}],
        security_schemes={"testOnlyToken": {"type": "http", "scheme": "bearer"}},
    )
    # Registering the same again is harmless (several apps in one process)...
    openapi.register(
        paths={"/test-only/things": {"get": {"responses": {"200": {"description": "things"}}}}},
        schemas={"TestOnlyThing": {"type": "object"}},
    )
    doc = openapi.document()
    assert "/test-only/things" in doc["paths"]
    assert doc["components"]["securitySchemes"]["testOnlyToken"]["scheme"] == "bearer"
    validate(doc)
    # ...but nobody can overwrite what another feature registered.
    with pytest.raises(ValueError):
        openapi.register(paths={"/test-only/things": {"get": {"responses": {"204": {"description": "x"}}}}})
    with pytest.raises(ValueError):
        openapi.register(schemas={"TestOnlyThing": {"type": "array"}})
    with pytest.raises(ValueError):
        openapi.register(paths={"no-slash": {}})
    # The document is a copy: changing it changes nothing for the next caller.
    doc["paths"].clear()
    assert "/test-only/things" in openapi.document()["paths"]
