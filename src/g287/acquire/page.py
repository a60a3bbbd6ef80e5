"""Find the current sheet links on ICE's 287(g) page (pure: bytes in, URLs out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

DEFAULT_SOURCE = "https://www.ice.gov/identify-and-arrest/287g"
_SHEET = re.compile(r"(participating|pending)agencies[^/]*\.xlsx$", re.IGNORECASE)


class PageLayoutError(ValueError):
    """The page no longer links the two sheets where g287 looks for them."""


@dataclass(frozen=True, slots=True)
class SheetLinks:
    participating: str
    pending: str

    def items(self) -> list[tuple[str, str]]:
        return [("participating", self.participating), ("pending", self.pending)]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def find_sheet_links(html: bytes, base_url: str) -> SheetLinks:
    """The absolute URLs of the participating and pending sheets linked from the page."""
    parser = _Links()
    parser.feed(html.decode("utf-8", errors="replace"))
    found: dict[str, str] = {}
    for href in parser.hrefs:
        url = urljoin(base_url, href.strip())
        match = _SHEET.search(urlsplit(url).path)
        if match:
            found.setdefault(match.group(1).lower(), url)
    missing = [name for name in ("participating", "pending") if name not in found]
    if missing:
        raise PageLayoutError(f"{base_url}: page layout changed: no link to the "
                              f"{' or '.join(missing)} agencies sheet (.xlsx)")
    return SheetLinks(found["participating"], found["pending"])


def file_name(url: str) -> str:
    """The file name at the end of a URL path."""
    return urlsplit(url).path.rsplit("/", 1)[-1]
