"""HTTP downloads with timeouts, retries with backoff, a size limit and conditional requests.

Every failure becomes a DownloadError whose message is one line naming the URL, so
callers can store nothing and say why.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from g287.errors import NetworkError

USER_AGENT = "g287 (287(g) history archive; https://www.ice.gov/identify-and-arrest/287g reader)"


class DownloadError(NetworkError):
    """A download failed; the message is one line naming the URL and the cause."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that refused us, if one did


@dataclass(frozen=True, slots=True)
class Policy:
    """How patient and how strict downloads are (tests pass small values)."""

    timeout: float = 30.0          # connect / read / write, per operation
    retries: int = 3               # extra attempts after connect errors, timeouts, 5xx, truncation
    backoff: float = 1.0           # seconds before the first retry; doubled on each retry
    max_bytes: int = 50 * 1024 * 1024
    max_wait: float = 900.0        # longest Retry-After / rate-limit reset we sit out
    deadline: float = 600.0        # whole download, so a trickling server cannot hold us forever


@dataclass(frozen=True, slots=True)
class Response:
    url: str                       # after redirects
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
    """GET with retries on network errors, 5xx and rate limits; 304 when the validators hold."""
    request_headers = dict(headers or {})
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    delay = policy.backoff
    attempt = 0
    while True:
        attempt += 1
        try:
            return _get_once(client, url, policy, request_headers)
        except _Retryable as exc:
            if attempt > policy.retries:
                raise DownloadError(f"{url}: {exc} (after {attempt} attempts)", exc.status) from exc
            wait = delay if exc.wait is None else exc.wait
            if wait > policy.max_wait:
                raise DownloadError(f"{url}: {exc}; the server asks us to wait {wait:.0f} s, "
                                    f"more than {policy.max_wait:.0f} s", exc.status) from exc
            time.sleep(wait)
            delay *= 2


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.wait = wait
        self.status = status


def _get_once(client: httpx.Client, url: str, policy: Policy, headers: dict[str, str]) -> Response:
    started = time.monotonic()
    try:
        with client.stream("GET", url, headers=headers) as response:
            _check_status(url, response)
            if response.status_code == 304:
                return _response(url, response, b"")
            declared = _declared_length(response)
            if declared is not None and declared > policy.max_bytes:
                raise DownloadError(f"{url}: {declared:,} bytes exceeds the {policy.max_bytes:,}-byte limit")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise DownloadError(f"{url}: more than the {policy.max_bytes:,}-byte limit")
                if time.monotonic() - started > policy.deadline:
                    raise _Retryable(f"timed out (download took over {policy.deadline:.0f} s)")
            if declared is not None and len(body) != declared:
                raise _Retryable(f"truncated download ({len(body):,} of {declared:,} bytes)")
            return _response(url, response, bytes(body))
    except httpx.TimeoutException as exc:
        raise _Retryable(f"timed out ({type(exc).__name__})") from exc
    except httpx.RemoteProtocolError as exc:
        raise _Retryable(f"truncated download ({exc})") from exc
    except httpx.TooManyRedirects as exc:
        raise DownloadError(f"{url}: too many redirects") from exc
    except httpx.UnsupportedProtocol as exc:
        raise DownloadError(f"{url}: {exc}") from exc
    except httpx.DecodingError as exc:
        raise _Retryable(f"corrupt compressed body ({exc})") from exc
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise DownloadError(f"{url}: invalid URL ({exc})") from exc


def _check_status(url: str, response: httpx.Response) -> None:
    """Retry 5xx and rate limits (403/429 with Retry-After or a spent GitHub quota); refuse other errors."""
    code = response.status_code
    limited = code in (403, 429) and ("Retry-After" in response.headers
                                      or response.headers.get("X-RateLimit-Remaining") == "0")
    if code >= 500 or limited:
        raise _Retryable(f"HTTP {code} {response.reason_phrase}".rstrip(), rate_limit_wait(response.headers), code)
    if code not in (200, 304):
        raise DownloadError(f"{url}: HTTP {code} {response.reason_phrase}".rstrip(), code)


def _declared_length(response: httpx.Response) -> int | None:
    """Content-Length of the body as sent (None when compressed or absent: then unknowable)."""
    declared = response.headers.get("Content-Length", "")
    if not declared.isdigit() or response.headers.get("Content-Encoding", "identity") != "identity":
        return None
    return int(declared)


def rate_limit_wait(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds a server asks us to wait: Retry-After (seconds or HTTP date), or GitHub's
    X-RateLimit-Reset when X-RateLimit-Remaining is 0."""
    now = time.time() if now is None else now
    retry_after = headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    if retry_after:
        try:
            moment = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return max(0.0, moment.timestamp() - now)
    reset = headers.get("X-RateLimit-Reset", "")
    if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - now)
    return None


def _response(url: str, response: httpx.Response, content: bytes) -> Response:
    return Response(str(response.url) or url, response.status_code, content,
                    response.headers.get("Content-Type", ""), response.headers.get("ETag"),
                    response.headers.get("Last-Modified"), rate_limit_wait(response.headers),
                    response.headers)
