"""The outbox and the indexer: killing the indexer mid-drain loses nothing; reindex and check agree."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap

from dataclasses import replace

from sqlalchemy import func, select

from eakte.config import JobsSettings
from eakte.models import DocumentVersion, SearchOutbox
from eakte.services import cases, documents, extraction, identity, indexing
from eakte.services.access import Actor, load_principal
from search import AccessFilter, SearchRequest
from search.ast import MatchAll
from tests.conftest import build_town, make_runtime

DRAINER = textwrap.dedent("""
    import sys, time
    from eakte.config import load_settings
    from eakte.bootstrap import build_runtime
    from eakte.services import indexing
    rt = build_runtime(load_settings())
    index = rt.search_index
    original = index.index
    def slow(docs):
        original(docs)
        print("batch", flush=True)
        time.sleep(0.5)  # long enough to be killed between writing the index and deleting the outbox rows
    index.index = slow
    indexing.drain(rt, batch=5)
    print("finished", flush=True)
""")


def _outbox(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(SearchOutbox)).scalar_one()


def test_killed_indexer_loses_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'eakte.db'}"
    rt = make_runtime(tmp_path, url)
    rt.settings = replace(rt.settings, jobs=JobsSettings(backend="sqlite"))  # queued, nobody drains yet
    build_town(rt)
    with rt.db.read() as session:
        anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry)
    for i in range(30):
        documents.add_document(rt, anna, case.id, documents.NewDocument(f"Vermerk {i}"),
                               documents.Upload(io.BytesIO(f"Vermerk Nummer {i} zur Akte".encode()), f"v{i}.txt"))
    # The index waits for a new document's text (indexing._awaiting_text): nothing to index before it is there.
    assert indexing.check(rt).awaiting_text == 30 and indexing.check(rt).ok
    with rt.db.read() as session:
        versions = list(session.execute(select(DocumentVersion.id)).scalars())
    for version_id in versions:
        extraction.extract_version(rt, version_id)
    assert _outbox(rt) == 60  # each upload's row and its text's
    env = {**os.environ, "EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": url,
           "EAKTE_JOBS__BACKEND": "immediate"}
    proc = subprocess.Popen([sys.executable, "-c", DRAINER], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "batch"
    proc.send_signal(signal.SIGKILL)  # mid-drain: index written, outbox rows of that batch not yet deleted
    proc.wait(timeout=10)
    left = _outbox(rt)
    assert 0 < left <= 60
    rt.close()

    again = make_runtime(tmp_path, url)  # "restart"
    indexing.drain(again)
    assert _outbox(again) == 0
    report = indexing.check(again)
    assert report.ok and report.in_index == report.in_database == 30
    page = again.search_index.search(SearchRequest(MatchAll(), AccessFilter(all_units=True)))
    assert page.total == 30
    again.close()


def test_reindex_rebuilds_and_check_notices_differences(tmp_path) -> None:
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    build_town(rt)
    with rt.db.read() as session:
        anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry)
    docs = [documents.add_document(rt, anna, case.id, documents.NewDocument(f"Notiz {i}"),
                                   documents.Upload(io.BytesIO(b"Notiz zur Akte"), f"n{i}.txt")) for i in range(5)]
    assert indexing.check(rt).ok
    rt.search_index.delete([docs[0].document.id])
    with rt.db.read() as session:  # a document the database no longer has
        phantom = replace(next(indexing.indexed_documents(session, [docs[1].document.id])), document_id=9999)
    rt.search_index.index([phantom])
    report = indexing.check(rt)
    assert not report.ok and report.missing == [docs[0].document.id] and report.stale == [9999]
    assert indexing.reindex(rt, chunk=2) == 5
    assert indexing.check(rt).ok
    assert set(rt.search_index.document_ids()) == {d.document.id for d in docs}
    rt.close()


