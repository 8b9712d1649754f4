"""A served app builds its matcher at start, so the first resident does not wait for it."""

from __future__ import annotations

import time

from bot.app import create_app


def test_a_served_app_builds_its_matcher_in_the_background(settings):
    app = create_app({"SETTINGS": settings})  # not TESTING: as gunicorn builds it
    services = app.extensions["citizenbot"]
    try:
        matchers = services["matchers"]
        deadline = time.monotonic() + 60
        while matchers._matcher is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert matchers._matcher is not None
        assert matchers.get().match("路燈不亮").intent == "dispatch_report"
    finally:
        delivery = services.get("delivery")
        if delivery is not None and hasattr(delivery, "stop"):
            delivery.stop()
        services["db"].dispose()
