"""PLACEHOLDER (being written)."""


def document() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "citizenbot", "version": "0.1.0"}, "paths": {}}
