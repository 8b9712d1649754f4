"""A fake LINE Messaging API on 127.0.0.1 for tests and the benchmark.

Implements reply, push (honouring `X-Line-Retry-Key`: a key already accepted
answers 409) and content download, checks the bearer token and validates
message objects against the SDK's models like LINE validates them. Failures
are programmable per endpoint: `fake.fail("reply", "500", times=2)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from linebot.v3.messaging import Message
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the tests' output stays readable
        pass


MODES = ("500", "429", "400", "403", "invalid_token", "hang")


@dataclass
class Call:
    endpoint: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class FakeLine:
    def __init__(self, access_token: str, hang_seconds: float = 30.0):
        self.access_token = access_token
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.replies: list[dict[str, Any]] = []  # accepted: {"replyToken", "messages"}
        self.pushes: list[dict[str, Any]] = []  # accepted: {"to", "messages", "retry_key"}
        self.calls: list[Call] = []  # every call, failed ones included
        self.unauthorized = 0
        self.contents: dict[str, tuple[bytes, str]] = {}
        self._failures: dict[str, deque[str]] = defaultdict(deque)
        self._used_tokens: set[str] = set()
        self._accepted_keys: set[str] = set()
        self._release = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-line", daemon=True)

    # --- lifecycle --------------------------------------------------------------
    def start(self) -> FakeLine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let hanging requests finish
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeLine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- programming it -------------------------------------------------------------
    def fail(self, endpoint: str, mode: str, times: int = 1) -> None:
        """The next `times` calls to endpoint ("reply", "push", "content") fail with mode."""
        if mode not in MODES:
            raise ValueError(mode)
        with self.lock:
            self._failures[endpoint].extend([mode] * times)

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self.contents[message_id] = (data, content_type)

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.01)
        return False

    def calls_to(self, endpoint: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.endpoint == endpoint]

    # --- the server -----------------------------------------------------------------
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    @staticmethod
    def _json(status: int, payload: dict[str, Any]) -> Response:
        return Response(json.dumps(payload), status=status, content_type="application/json")

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if request.method == "POST" and path == "/v2/bot/message/reply":
            endpoint = "reply"
        elif request.method == "POST" and path == "/v2/bot/message/push":
            endpoint = "push"
        elif request.method == "GET" and path.startswith("/v2/bot/message/") and path.endswith("/content"):
            endpoint = "content"
        else:
            return self._json(404, {"message": "Not found"})
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            with self.lock:
                self.unauthorized += 1
            return self._json(
                401,
                {
                    "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
                },
            )
        body: dict[str, Any] = {}
        if endpoint != "content":
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                return self._json(400, {"message": "The request body has 1 error(s)"})
        with self.lock:
            self.calls.append(Call(endpoint, body, dict(request.headers)))
            mode = self._failures[endpoint].popleft() if self._failures[endpoint] else None
        if mode is not None:
            return self._failure(mode)
        if endpoint == "content":
            message_id = path.split("/")[4]
            if message_id not in self.contents:
                return self._json(404, {"message": "Not found"})
            data, content_type = self.contents[message_id]
            return Response(data, status=200, content_type=content_type)
        problem = self._invalid_messages(body.get("messages"))
        if problem:
            return self._json(
                400, {"message": "The request body has 1 error(s)", "details": [{"message": problem}]}
            )
        if endpoint == "reply":
            token = body.get("replyToken")
            with self.lock:
                if not token or token in self._used_tokens:
                    return self._json(400, {"message": "Invalid reply token"})
                self._used_tokens.add(token)
                self.replies.append({"replyToken": token, "messages": body["messages"]})
            return self._json(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        retry_key = request.headers.get("X-Line-Retry-Key")
        with self.lock:
            if retry_key and retry_key in self._accepted_keys:
                return Response(
                    json.dumps({"message": "The retry key is already accepted"}),
                    status=409,
                    content_type="application/json",
                    headers={"x-line-accepted-request-id": "accepted"},
                )
            if retry_key:
                self._accepted_keys.add(retry_key)
            self.pushes.append({"to": body.get("to"), "messages": body["messages"], "retry_key": retry_key})
        return self._json(200, {"sentMessages": [{"id": "2", "quoteToken": "q"}]})

    def _failure(self, mode: str) -> Response:
        if mode == "hang":
            self._release.wait(self.hang_seconds)
            return self._json(500, {"message": "too late"})
        if mode == "invalid_token":
            return self._json(400, {"message": "Invalid reply token"})
        if mode == "429":
            return self._json(429, {"message": "The API rate limit has been exceeded. Try again later."})
        if mode == "400":
            return self._json(400, {"message": "The request body has 1 error(s)"})
        if mode == "403":
            return self._json(403, {"message": "Access to this API is not available for your account"})
        return self._json(500, {"message": "Internal server error"})

    @staticmethod
    def _invalid_messages(messages: Any) -> str | None:
        """LINE's own checks on a messages array (count and SDK model validity)."""
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return "messages: 1 to 5 required"
        for m in messages:
            try:
                Message.from_dict(m)
            except ValueError as exc:
                return f"invalid message: {str(exc)[:200]}"
            if m.get("type") == "text" and not 1 <= len(m.get("text", "")) <= 5000:
                return "text: 1 to 5000 characters"
            items = (m.get("quickReply") or {}).get("items", [])
            if len(items) > 13:
                return "quickReply: at most 13 items"
        return None
