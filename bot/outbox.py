"""PLACEHOLDER (being written): outbox of messages that must reach a user."""

from __future__ import annotations


def notify(session, user_key, replies) -> None:
    raise NotImplementedError


class Delivery:
    def __init__(self, db, settings):
        self.db = db
        self.settings = settings
