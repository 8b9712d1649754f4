"""The LINE Messaging API behind a small interface (reply, push, content download).

Messages travel as LINE JSON dicts (what the outbox stores); they become SDK
request objects here, with `from_dict`. Every call has a timeout and no
automatic urllib3 retries: the outbox decides when to try again.
Errors come out as `LineApiError` with the HTTP status (None: no answer).
"""

from __future__ import annotations

import logging
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging import Message as SdkMessage
from linebot.v3.messaging.exceptions import ApiException, OpenApiException

from bot.config import Settings
from handlers.base import ContentError

log = logging.getLogger(__name__)


class LineApiError(Exception):
    """A Messaging API call that did not succeed."""

    def __init__(self, status: int | None, detail: str):
        super().__init__(f"{status or 'no response'}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def transient(self) -> bool:
        """Worth retrying: no answer, rate limited, server trouble, or an access
        token that operators can fix (401) - never a request LINE rejected as bad."""
        return self.status is None or self.status in (401, 408, 429) or self.status >= 500


def _error_detail(exc: ApiException) -> str:
    """LINE's error message only (its bodies hold no personal data, ours are not echoed)."""
    import json

    body = exc.body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    try:
        message = json.loads(body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or exc.reason or "error")[:200]


class LineApi:
    def __init__(self, settings: Settings):
        self.timeout = settings.line_api_timeout
        token = settings.line_channel_access_token or ""
        self._client = ApiClient(self._configuration(settings.line_api_base_url, token))
        self._blob_client = ApiClient(self._configuration(settings.line_data_api_base_url, token))
        self._api = MessagingApi(self._client)
        self._blob = MessagingApiBlob(self._blob_client)

    @staticmethod
    def _configuration(host: str, token: str) -> Configuration:
        config = Configuration(host=host, access_token=token)
        # The outbox retries with backoff; urllib3 must not multiply a hanging call.
        config.retries = 0
        return config

    # --- calls ------------------------------------------------------------------
    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> None:
        def call():
            request = ReplyMessageRequest(
                reply_token=reply_token, messages=[SdkMessage.from_dict(m) for m in messages]
            )
            return self._api.reply_message_with_http_info(request, _request_timeout=self.timeout)

        self._call(call)

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> bool:
        """Push once per retry key. Returns False when LINE had already accepted
        this retry key (409): the messages went out before, nothing is sent twice."""

        def call():
            request = PushMessageRequest(to=to, messages=[SdkMessage.from_dict(m) for m in messages])
            return self._api.push_message_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self.timeout
            )

        try:
            self._call(call)
        except LineApiError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def get_content(self, message_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A message's image/file bytes and content type; ContentError on any failure."""
        try:
            response = self._call(
                lambda: self._blob.get_message_content_with_http_info(
                    message_id, _request_timeout=self.timeout
                )
            )
        except LineApiError as exc:
            raise ContentError(f"content unavailable ({exc.status or 'no response'})") from exc
        data = bytes(response.raw_data or b"")
        headers = response.headers or {}
        content_type = (
            headers.get("Content-Type") or headers.get("content-type") or "application/octet-stream"
        )
        if len(data) > max_bytes:
            raise ContentError(f"content too large ({len(data)} bytes, limit {max_bytes})")
        if not data:
            raise ContentError("content is empty")
        return data, content_type.split(";")[0].strip()

    def close(self) -> None:
        for client in (self._client, self._blob_client):
            try:
                client.close()
            except Exception:  # closing is best effort
                log.debug("closing a LINE API client failed", exc_info=True)

    # --- plumbing -------------------------------------------------------------
    @staticmethod
    def _call(fn):
        try:
            return fn()
        except ApiException as exc:
            status = exc.status or None  # the SDK reports transport trouble as status 0
            raise LineApiError(status, _error_detail(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise LineApiError(None, type(exc).__name__) from exc
        except (OpenApiException, ValueError) as exc:  # a message LINE's models refuse
            raise LineApiError(400, f"invalid request: {type(exc).__name__}") from exc
