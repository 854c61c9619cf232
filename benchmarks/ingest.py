"""Ingest throughput: N generated multi-page PDFs through eakte's real ingest path (content sniffing, staging,
content-addressed store, version row + audit event in one transaction, then the text-extraction job in the
sandboxed worker, run by the in-process job consumer as `eakte serve` runs it), against a bare baseline doing the
same essential work directly in one process (hash + write file + pypdf text extraction). Two clocks: until the
last document has its text, and until the last document is searchable by it (the search outbox drained into the
index). The baseline runs before and after eakte in the same run; the ratios are against their mean.

    python benchmarks/ingest.py [--n 1000] [--pages 3]
Target: eakte's time <= 1.5 x baseline at N = 1,000.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import pickle
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypdf import PdfReader  # noqa: E402

from benchmarks._town import small_town  # noqa: E402
from eakte.demo import demo_pdf  # noqa: E402
from eakte.models import DocumentVersion, SearchOutbox  # noqa: E402
from eakte.services import documents, search  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

WORDS = ("Rechnung Bescheid Widerspruch Gewerbeanmeldung Fehlbelegungsabgabe Personalakte Haushalt Anordnung "
         "Zahlung Frist Antrag Stadtverwaltung Kämmerei Ordnungsamt Wohnungswesen Gebühren Satzung Beschluss "
         "Magistrat Stadtverordnetenversammlung Baugenehmigung Straßenreinigung Müllabfuhr Grundsteuer").split()


def make_pdfs(n: int, pages: int) -> list[bytes]:
    """Generating takes longer than ingesting them (fpdf), so the PDFs are kept in the temp directory for reruns."""
    cache = Path(tempfile.gettempdir()) / f"eakte-bench-ingest-{pages}pages.pickle"
    if cache.exists():  # the first n of a larger set are the same n PDFs (one random sequence)
        with cache.open("rb") as fh:
            cached: list[bytes] = pickle.load(fh)  # noqa: S301 - our own file
        if len(cached) >= n:
            return cached[:n]
    rng = random.Random(42)
    pdfs = [demo_pdf(f"Dokument {i}", [" ".join(rng.choices(WORDS, k=120)) for _ in range(4)], pages)
            for i in range(n)]
    with cache.open("wb") as fh:
        pickle.dump(pdfs, fh)
    return pdfs


def baseline(pdfs: list[bytes], out_dir: Path) -> float:
    out_dir.mkdir()
    start = time.perf_counter()
    for i, pdf in enumerate(pdfs):
        digest = hashlib.sha256(pdf).hexdigest()
        path = out_dir / digest
        path.write_bytes(pdf)
        "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Run:
    uploaded: float  # every upload answered
    extracted: float  # every text extracted
    searchable: float  # every document in the search index with its text (outbox drained)
    statuses: dict[str, int]
    found: int  # documents a search for a word of their text finds


def eakte_ingest(pdfs: list[bytes], data_dir: Path, workers: int | None) -> Run:
    rt, clerk, case_id, _ = small_town(data_dir)
    rt.extractor.extract  # noqa: B018 - start the sandbox worker outside the timed part, like a running server
    consumer = rt.jobs.consumer(workers=workers)  # as `eakte serve` starts it (jobs.workers threads by default)
    consumer.start()
    start = time.perf_counter()
    for i, pdf in enumerate(pdfs):
        documents.add_document(rt, clerk, case_id, documents.NewDocument(f"Dokument {i}", "letter"),
                               documents.Upload(io.BytesIO(pdf), f"dokument-{i}.pdf"))
    uploaded = time.perf_counter() - start
    extracted = None
    while True:
        pending, unindexed = _pending(rt)
        if not pending and extracted is None:
            extracted = time.perf_counter() - start
        if not pending and not unindexed:
            break
        time.sleep(0.01)
    searchable = time.perf_counter() - start
    consumer.stop_and_wait()
    with rt.db.read() as session:
        statuses = dict(session.execute(select(DocumentVersion.text_status, func.count())
                                        .group_by(DocumentVersion.text_status)).all())
    found = search.search(rt, clerk, "Seite", search.Filters(), limit=1)[1].total  # a word only the texts have
    rt.close()
    return Run(uploaded, extracted, searchable, statuses, found)


def _pending(rt) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(versions without their text yet, outbox rows not yet in the index)."""
    with rt.db.read() as session:
        return session.execute(select(
            select(func.count()).select_from(DocumentVersion).where(DocumentVersion.text_status == "pending")
            .scalar_subquery(),
            select(func.count()).select_from(SearchOutbox).scalar_subquery())).one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="consumer threads (default: jobs.workers)")
    args = parser.parse_args()
    print(f"generating {args.n} PDFs of {args.pages} pages …", flush=True)
    pdfs = make_pdfs(args.n, args.pages)
    avg_kb = sum(map(len, pdfs)) / len(pdfs) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        # The baseline before and after eakte, in the same run: other load on the machine hits both alike.
        bases = [baseline(pdfs, Path(tmp) / "baseline-1")]
        run = eakte_ingest(pdfs, Path(tmp) / "eakte", args.workers)
        bases.append(baseline(pdfs, Path(tmp) / "baseline-2"))
    base = statistics.fmean(bases)
    n = args.n
    print(f"documents:        {n} PDFs, {args.pages} pages, {avg_kb:.1f} KiB on average")
    print(f"baseline:         {base:8.2f} s  {n / base:8.1f} docs/s  (hash + write + pypdf, one process; "
          f"mean of {bases[0]:.2f} s before and {bases[1]:.2f} s after eakte)")
    print(f"eakte uploads:    {run.uploaded:8.2f} s  {n / run.uploaded:8.1f} docs/s  (requests answered; text pending)")
    print(f"eakte extracted:  {run.extracted:8.2f} s  {n / run.extracted:8.1f} docs/s  (until every text is extracted: "
          f"SQLite, local store, job queue, sandboxed extraction)")
    print(f"eakte searchable: {run.searchable:8.2f} s  {n / run.searchable:8.1f} docs/s  (until every document is in "
          f"the search index with its text: whoosh)")
    print(f"ratio extracted:  {run.extracted / base:8.2f} x baseline   (target <= 1.5)")
    print(f"ratio searchable: {run.searchable / base:8.2f} x baseline   (target <= 1.5)")
    print(f"text status:      {run.statuses};  found by a word of their text: {run.found} of {n}")


if __name__ == "__main__":
    main()
