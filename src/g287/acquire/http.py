"""HTTP downloads with timeouts, retries with backoff, a size limit and conditional requests."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

USER_AGENT = "g287 (+https://github.com/g287; 287(g) history archive)"


class DownloadError(RuntimeError):
    """A download failed; the message is one line naming the URL and the cause."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How patient and how strict downloads are."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0           # seconds; doubled on each retry
    max_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int                    # 200 or 304
    content: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    retry_after: float | None = None
    headers: httpx.Headers | None = None


def make_client(policy: Policy) -> httpx.Client:
    """An httpx client that follows redirects and identifies g287."""
    return httpx.Client(timeout=policy.timeout, follow_redirects=True,
                        headers={"User-Agent": USER_AGENT})


def get(client: httpx.Client, url: str, policy: Policy, *, etag: str | None = None,
        last_modified: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """GET with retries on network errors and 5xx; 304 when the validators still hold."""
    request_headers = dict(headers or {})
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    delay = policy.backoff
    for attempt in range(policy.retries + 1):
        try:
            return _get_once(client, url, policy, request_headers)
        except _Retryable as exc:
            if attempt == policy.retries:
                raise DownloadError(f"{url}: {exc} (after {policy.retries + 1} attempts)") from exc
            time.sleep(exc.wait if exc.wait is not None else delay)
            delay *= 2
    raise AssertionError("unreachable")


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def _get_once(client: httpx.Client, url: str, policy: Policy, headers: dict[str, str]) -> Response:
    try:
        with client.stream("GET", url, headers=headers) as response:
            limited = response.status_code in (403, 429) and (
                "Retry-After" in response.headers
                or response.headers.get("X-RateLimit-Remaining") == "0")
            if response.status_code >= 500 or limited:
                raise _Retryable(f"HTTP {response.status_code}", rate_limit_wait(response.headers))
            if response.status_code == 304:
                return _response(url, response, b"")
            if response.status_code != 200:
                raise DownloadError(f"{url}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise DownloadError(f"{url}: {int(declared):,} bytes exceeds the "
                                    f"{policy.max_bytes:,}-byte limit")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise DownloadError(f"{url}: more than the {policy.max_bytes:,}-byte limit")
            if declared and declared.isdigit() and len(body) != int(declared):
                raise _Retryable(f"truncated download ({len(body):,} of {int(declared):,} bytes)")
            return _response(url, response, bytes(body))
    except httpx.TimeoutException as exc:
        raise _Retryable(f"timed out ({type(exc).__name__})") from exc
    except httpx.RemoteProtocolError as exc:
        raise _Retryable(f"truncated download ({exc})") from exc
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc


def rate_limit_wait(headers: httpx.Headers) -> float | None:
    """Seconds a server asks us to wait (Retry-After, or GitHub's X-RateLimit-Reset)."""
    retry_after = headers.get("Retry-After", "")
    if retry_after.isdigit():
        return float(retry_after)
    reset = headers.get("X-RateLimit-Reset", "")
    if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def _response(url: str, response: httpx.Response, content: bytes) -> Response:
    return Response(str(response.url) or url, response.status_code, content,
                    response.headers.get("Content-Type", ""), response.headers.get("ETag"),
                    response.headers.get("Last-Modified"), None, response.headers)
