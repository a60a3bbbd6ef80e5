"""Find the current sheet links on ICE's 287(g) page (pure: bytes in, URLs out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from g287.errors import NetworkError

DEFAULT_SOURCE = "https://www.ice.gov/identify-and-arrest/287g"
# ICE's names: participatingAgencies07072025pm.xlsx, sometimes with a suffix (…am_b.xlsx).
_SHEET = re.compile(r"(participating|pending)agencies[^/]*\.xlsx$", re.IGNORECASE)


class PageLayoutError(NetworkError):
    """The page no longer links the two sheets where g287 looks for them."""


@dataclass(frozen=True, slots=True)
class SheetLinks:
    participating: str
    pending: str

    def items(self) -> list[tuple[str, str]]:
        return [("participating", self.participating), ("pending", self.pending)]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value}
        if tag == "a" and "href" in values:
            self.hrefs.append(values["href"])
        elif tag == "base" and "href" in values and self.base is None:
            self.base = values["href"]


def find_sheet_links(html: bytes, base_url: str) -> SheetLinks:
    """Return the absolute URLs of the participating and pending sheets the page links.

    Relative links resolve against the page's URL (or its ``<base href>``); the first
    link of each kind wins, as ICE lists the current sheet first.
    """
    parser = _Links()
    parser.feed(html.decode("utf-8", errors="replace"))
    parser.close()
    base = urljoin(base_url, parser.base) if parser.base else base_url
    found: dict[str, str] = {}
    for href in parser.hrefs:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        match = _SHEET.search(urlsplit(url).path)
        if match and _safe_name(file_name(url)):
            found.setdefault(match.group(1).lower(), url)
    missing = [name for name in ("participating", "pending") if name not in found]
    if missing:
        raise PageLayoutError(f"{base_url}: page layout changed: no link to the "
                              f"{' or '.join(missing)} agencies sheet (.xlsx)")
    return SheetLinks(found["participating"], found["pending"])


def file_name(url: str) -> str:
    """The decoded file name at the end of a URL path (ICE's name for the sheet)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _safe_name(name: str) -> bool:
    """A name we can file in the archive as is: no path separators, not hidden."""
    return not name.startswith(".") and "/" not in name and "\\" not in name and "\0" not in name
