"""Reading ICE's page (pure) and the HTTP layer's small rules."""

from __future__ import annotations

import httpx
import pytest

from g287.acquire import http
from g287.acquire.page import PageLayoutError, file_name, find_sheet_links

PAGE = "https://www.ice.gov/identify-and-arrest/287g"


def test_relative_links_resolve_and_suffixes_are_kept():
    html = (b'<p><a href="/doclib/about/offices/ero/287g/participatingAgencies07112025am_b.xlsx">Participating</a>'
            b' <a href="https://www.ice.gov/doclib/about/offices/ero/287g/pendingAgencies07112025am.xlsx">Pending'
            b"</a></p>")
    links = find_sheet_links(html, PAGE)
    assert links.participating == ("https://www.ice.gov/doclib/about/offices/ero/287g/"
                                   "participatingAgencies07112025am_b.xlsx")
    assert links.items()[1] == ("pending", "https://www.ice.gov/doclib/about/offices/ero/287g/"
                                           "pendingAgencies07112025am.xlsx")


def test_base_href_and_entities_are_honoured():
    html = (b'<base href="https://www.ice.gov/doclib/287g/"><a href="participatingAgencies07072025pm.xlsx?v=1&amp;x=2">'
            b'p</a><a href="pendingAgencies07072025pm.xlsx">q</a>')
    links = find_sheet_links(html, PAGE)
    assert links.participating == "https://www.ice.gov/doclib/287g/participatingAgencies07072025pm.xlsx?v=1&x=2"
    assert file_name(links.participating) == "participatingAgencies07072025pm.xlsx"


def test_first_link_of_each_kind_wins():
    html = (b'<a href="/a/participatingAgencies07072025pm.xlsx">now</a>'
            b'<a href="/a/participatingAgencies07012025pm.xlsx">older</a>'
            b'<a href="/a/pendingAgencies07072025pm.xlsx">q</a>')
    assert find_sheet_links(html, PAGE).participating.endswith("07072025pm.xlsx")


@pytest.mark.parametrize("html, missing", [
    (b"<html><p>We moved things.</p></html>", "participating or pending"),
    (b'<a href="/x/participatingAgencies07072025pm.xlsx">p</a><a href="/x/pending.pdf">q</a>', "pending"),
    (b'<a href="/x/participatingAgencies07072025pm.csv">p</a><a href="/x/pendingAgencies.xlsx">q</a>',
     "participating"),
    (b'<a href="mailto:participatingAgencies.xlsx">p</a><a href="/pendingAgencies.xlsx">q</a>', "participating"),
    (b'<a href="/x/participatingAgencies%2F..%2F.x.xlsx">p</a><a href="/pendingAgencies.xlsx">q</a>',
     "participating"),
])
def test_layout_change_is_a_clear_error(html, missing):
    with pytest.raises(PageLayoutError, match=f"page layout changed: no link to the {missing} agencies"):
        find_sheet_links(html, PAGE)


def test_encoded_names_are_decoded_for_the_archive():
    assert file_name("https://www.ice.gov/d/participatingAgencies%2007072025pm.xlsx") == \
        "participatingAgencies 07072025pm.xlsx"


def test_rate_limit_waits():
    assert http.rate_limit_wait(httpx.Headers({"Retry-After": "7"})) == 7
    assert http.rate_limit_wait(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}),
                                now=1445412480) == 10
    assert http.rate_limit_wait(httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000"}),
                                now=990) == 10
    assert http.rate_limit_wait(httpx.Headers({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1000"})) is None
    assert http.rate_limit_wait(httpx.Headers({"Retry-After": "soon"})) is None
