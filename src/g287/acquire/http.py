"""HTTP downloads with timeouts, retries with backoff, a size limit and conditional requests.

Every failure becomes a DownloadError whose message is one line naming the URL, so
callers can store nothing and say why. Every request ends: each has a total deadline
(retries included) that a server dripping a byte a second cannot stretch, and only
public hosts are asked unless the policy allows private ones (tests, mirrors), so a
sheet's hyperlink or a redirect cannot make g287 probe the local network.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from g287.errors import NetworkError

USER_AGENT = "g287 (287(g) history archive; https://www.ice.gov/identify-and-arrest/287g reader)"


class DownloadError(NetworkError):
    """A download failed; the message is one line naming the URL and the cause."""

    def __init__(self, message: str, status: int | None = None, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that refused us, if one did
        self.unreachable = unreachable  # no connection or no answer at all (for circuit breakers)


@dataclass(frozen=True, slots=True)
class Policy:
    """How patient and how strict downloads are (tests pass small values)."""

    timeout: float = 30.0          # connect / read / write, per operation
    retries: int = 3               # extra attempts after connect errors, timeouts, 5xx, truncation
    backoff: float = 1.0           # seconds before the first retry; doubled on each retry
    max_bytes: int = 50 * 1024 * 1024
    max_wait: float = 900.0        # longest Retry-After / rate-limit reset we sit out
    deadline: float = 120.0        # whole request, retries included: a trickling server cannot hold us
    allow_private: bool = False    # allow loopback, private and link-local hosts (tests, local mirrors)


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
    """An httpx client that follows redirects, identifies g287 and, unless the policy allows
    private hosts, refuses every request (redirects included) to a non-public address."""
    hooks = {} if policy.allow_private else {"request": [refuse_private_hosts]}
    return httpx.Client(timeout=policy.timeout, follow_redirects=True, event_hooks=hooks,
                         headers={"User-Agent": USER_AGENT})


def refuse_private_hosts(request: httpx.Request) -> None:
    """Raise DownloadError unless the request goes over http(s) to a host whose every
    address is public (not loopback, private, link-local, multicast or reserved)."""
    url = request.url
    if url.scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http and https are fetched")
    host = url.host
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, url.port or (443 if url.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
        except OSError:
            return  # unresolvable: the connection itself fails and says so
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    private = sorted(str(a) for a in addresses if not a.is_global)
    if private:
        raise DownloadError(f"{url}: {host} is not a public address ({', '.join(private)}); "
                            "pass --allow-private-hosts to fetch from a local mirror")


def get(client: httpx.Client, url: str, policy: Policy, *, etag: str | None = None,
        last_modified: str | None = None, headers: dict[str, str] | None = None,
        until: float | None = None) -> Response:
    """GET with retries on network errors, 5xx and rate limits; 304 when the validators hold.
    The whole call ends by ``policy.deadline`` seconds from now, or by the monotonic time
    ``until`` when that is sooner (a caller's budget)."""
    request_headers = dict(headers or {})
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    end = time.monotonic() + policy.deadline
    end = min(end, until) if until is not None else end
    delay = policy.backoff
    attempt = 0
    while True:
        attempt += 1
        try:
            return _get_once(client, url, policy, request_headers, end)
        except _Retryable as exc:
            if attempt > policy.retries:
                raise DownloadError(f"{url}: {exc} (after {attempt} attempts)", exc.status,
                                    unreachable=exc.unreachable) from exc
            wait = delay if exc.wait is None else exc.wait
            if wait > policy.max_wait:
                raise DownloadError(f"{url}: {exc}; the server asks us to wait {wait:.0f} s, "
                                    f"more than {policy.max_wait:.0f} s", exc.status) from exc
            if time.monotonic() + wait >= end:
                raise DownloadError(f"{url}: {exc} (no time left to retry within the deadline)", exc.status,
                                    unreachable=exc.unreachable) from exc
            time.sleep(wait)
            delay *= 2


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None, status: int | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.wait = wait
        self.status = status
        self.unreachable = unreachable


def _get_once(client: httpx.Client, url: str, policy: Policy, headers: dict[str, str], end: float) -> Response:
    left = end - time.monotonic()
    if left <= 0:
        raise _Retryable("timed out (deadline reached)", unreachable=True)
    timeout = httpx.Timeout(min(policy.timeout, left))
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout) as response:
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
                if time.monotonic() > end:
                    raise _Retryable(f"timed out (download still unfinished at the {policy.deadline:.0f} s "
                                     "deadline)", unreachable=True)
            if declared is not None and len(body) != declared:
                raise _Retryable(f"truncated download ({len(body):,} of {declared:,} bytes)")
            return _response(url, response, bytes(body))
    except httpx.TimeoutException as exc:
        raise _Retryable(f"timed out ({type(exc).__name__})", unreachable=True) from exc
    except httpx.RemoteProtocolError as exc:
        raise _Retryable(f"truncated download ({exc})") from exc
    except httpx.TooManyRedirects as exc:
        raise DownloadError(f"{url}: too many redirects") from exc
    except httpx.UnsupportedProtocol as exc:
        raise DownloadError(f"{url}: {exc}") from exc
    except httpx.DecodingError as exc:
        raise _Retryable(f"corrupt compressed body ({exc})") from exc
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}",
                         unreachable=isinstance(exc, httpx.ConnectError | httpx.ReadError)) from exc
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
