"""Ingest throughput: N generated multi-page PDFs through eakte's real ingest path (content sniffing, staging,
content-addressed store, version row + audit event in one transaction, then the text-extraction job in the
sandboxed worker, run by the in-process job consumer as `eakte serve` runs it), against a bare baseline doing the
same essential work directly in one process (hash + write file + pypdf text extraction). The clock stops when
the last document has its text.

    python benchmarks/ingest.py [--n 1000] [--pages 3]
Target: eakte's time <= 1.5 x baseline at N = 1,000.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypdf import PdfReader  # noqa: E402

from benchmarks._town import small_town  # noqa: E402
from eakte.demo import demo_pdf  # noqa: E402
from eakte.models import DocumentVersion  # noqa: E402
from eakte.services import documents  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

WORDS = ("Rechnung Bescheid Widerspruch Gewerbeanmeldung Fehlbelegungsabgabe Personalakte Haushalt Anordnung "
         "Zahlung Frist Antrag Stadtverwaltung Kämmerei Ordnungsamt Wohnungswesen Gebühren Satzung Beschluss "
         "Magistrat Stadtverordnetenversammlung Baugenehmigung Straßenreinigung Müllabfuhr Grundsteuer").split()


def make_pdfs(n: int, pages: int) -> list[bytes]:
    rng = random.Random(42)
    return [demo_pdf(f"Dokument {i}", [" ".join(rng.choices(WORDS, k=120)) for _ in range(4)], pages)
            for i in range(n)]


def baseline(pdfs: list[bytes], out_dir: Path) -> float:
    start = time.perf_counter()
    for i, pdf in enumerate(pdfs):
        digest = hashlib.sha256(pdf).hexdigest()
        path = out_dir / digest
        path.write_bytes(pdf)
        "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return time.perf_counter() - start


def eakte_ingest(pdfs: list[bytes], data_dir: Path) -> tuple[float, float, dict[str, int]]:
    rt, clerk, case_id, _ = small_town(data_dir)
    rt.extractor.extract  # noqa: B018 - start the sandbox worker outside the timed part, like a running server
    consumer = rt.jobs.consumer(workers=1)
    consumer.start()
    start = time.perf_counter()
    for i, pdf in enumerate(pdfs):
        documents.add_document(rt, clerk, case_id, documents.NewDocument(f"Dokument {i}", "letter"),
                               documents.Upload(io.BytesIO(pdf), f"dokument-{i}.pdf"))
    uploaded = time.perf_counter() - start
    while _pending(rt):
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    consumer.stop_and_wait()
    with rt.db.read() as session:
        statuses = dict(session.execute(select(DocumentVersion.text_status, func.count())
                                        .group_by(DocumentVersion.text_status)).all())
    rt.close()
    return uploaded, elapsed, statuses


def _pending(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(DocumentVersion)
                               .where(DocumentVersion.text_status == "pending")).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    print(f"generating {args.n} PDFs of {args.pages} pages …", flush=True)
    pdfs = make_pdfs(args.n, args.pages)
    avg_kb = sum(map(len, pdfs)) / len(pdfs) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "baseline"
        base_dir.mkdir()
        base = baseline(pdfs, base_dir)
        uploaded, ours, statuses = eakte_ingest(pdfs, Path(tmp) / "eakte")
    print(f"documents:        {args.n} PDFs, {args.pages} pages, {avg_kb:.1f} KiB on average")
    print(f"baseline:         {base:8.2f} s  {args.n / base:8.1f} docs/s  (hash + write + pypdf, one process)")
    print(f"eakte uploads:    {uploaded:8.2f} s  {args.n / uploaded:8.1f} docs/s  (requests answered; text pending)")
    print(f"eakte ingest:     {ours:8.2f} s  {args.n / ours:8.1f} docs/s  (until every text is extracted: SQLite, "
          f"local store, job queue, sandboxed extraction)")
    print(f"ratio:            {ours / base:8.2f} x baseline   (target <= 1.5)")
    print(f"text status:      {statuses}")


if __name__ == "__main__":
    main()
