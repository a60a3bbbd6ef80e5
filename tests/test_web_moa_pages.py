"""MOA pages for readers, on real documents read from the shared samples: each linked to its
agency and agreement, fields labelled in both languages, no operator instructions, no link to
a copy that is not held; the agency page shows the contacts its MOAs name, with their source."""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient

from g287 import store
from g287.documents import library
from g287.web.app import create_app

SAMPLES = ("CrenshawCoAL_WSO_MOA_04.16.2025.pdf", "lakeCountySherrifsOffice_TF_MOA_03122025.pdf")


@pytest.fixture(scope="module")
def moa_site(tmp_path_factory, history_path, shared_data):
    folder = tmp_path_factory.mktemp("moaweb")
    pdfs = [p for p in (shared_data / "moa-samples").iterdir() if p.name.endswith(SAMPLES)]
    assert len(pdfs) == len(SAMPLES), f"{shared_data}/moa-samples: expected {SAMPLES}"
    db = folder / "h.sqlite"
    shutil.copy(history_path, db)
    conn = store.connect(db)
    archive = folder / "archive"
    library.add_paths(conn, archive, pdfs)
    report = library.extract(conn, archive)
    assert not report.failed, report.failed
    records = library.records(conn)
    conn.close()
    return db, archive, records


@pytest.fixture
def web(moa_site, monkeypatch):
    monkeypatch.setenv("G287_ARCHIVE", str(moa_site[1]))
    return TestClient(create_app(moa_site[0]))


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S))


def test_moa_pages_link_the_agency_and_label_every_field(web, moa_site):
    _, _, records = moa_site
    linked = [r for r in records if any(k.status == "linked" for k in r.links)]
    assert linked, [r.links for r in records]
    for r in records:
        for lang in ("", "/es"):
            page = web.get(f"{lang}/moas/{r.sha256[:16]}")
            assert page.status_code == 200
            text = _visible(page.text)
            assert not re.search(r"\b(section|moa|agency|ice)_[a-z_]+\b", text), re.findall(r"\b\w+_\w+\b", text)
            assert "g287 moa" not in text
            assert f"/moas/{r.sha256}.pdf" in page.text  # held in the archive: linked
            if r in linked:
                assert f'href="{lang}/agency/' in page.text and f'href="{lang}/moas/agreement/' in page.text
    for k in {k.agreement_id for r in linked for k in r.links}:
        page = web.get(f"/es/moas/agreement/{k}")
        assert 'href="/es/agency/' in page.text and "g287 moa" not in _visible(page.text)


def test_a_copy_not_held_is_not_linked(web, moa_site, monkeypatch, tmp_path):
    _, _, records = moa_site
    monkeypatch.setenv("G287_ARCHIVE", str(tmp_path))  # an archive without the PDFs
    page = web.get(f"/moas/{records[0].sha256[:16]}")
    assert page.status_code == 200 and f"/moas/{records[0].sha256}.pdf" not in page.text


def test_agency_page_shows_moa_contacts_with_their_source(web, moa_site, history_db):
    _, _, records = moa_site
    conn = store.connect(moa_site[0], readonly=True)
    agencies = {row[0] for r in records for k in r.links if k.status == "linked" for row in conn.execute(
        "SELECT agency_id FROM agreements WHERE agreement_id = ?", (k.agreement_id,))}
    contacts = [(f.value, r) for r in records for n, f in r.fields.items()
                if n in ("agency_contact", "agency_public_affairs_contact", "ice_contact") and f.value]
    assert agencies and contacts
    shown = 0
    for agency in agencies:
        for lang in ("", "/es"):
            page = web.get(f"{lang}/agency/{agency}")
            assert f'href="{lang}/moas/agreement/' in page.text
            if 'id="contacts"' in page.text:
                shown += 1
                assert re.search(rf'href="{lang}/moas/[0-9a-f]{{16}}"', page.text)
                assert "#page=" in page.text or ("p." in page.text or "pág." in page.text)
    assert shown >= 1
    nothing = conn.execute("SELECT agency_id FROM agreements WHERE agreement_id NOT IN"
                           " (SELECT agreement_id FROM moa_agreement_links) LIMIT 1").fetchone()[0]
    assert "/moas/agreement/" not in web.get(f"/agency/{nothing}").text
    conn.close()
