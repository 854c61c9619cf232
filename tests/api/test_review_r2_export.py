"""Review r2: the export's announced Content-Length is exact for odd file names (umlauts composed and decomposed,
long names, the same name many times, new versions) and many cases; a receipt is never another user's."""
from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile

from tests.helpers import create_case, pdf_bytes, upload


def test_content_length_exact_for_odd_names_and_many_cases(client, town) -> None:  # type: ignore[no-untyped-def]
    anna = town.auth("anna")
    names = ["Ärger über Öl – ß.pdf", unicodedata.normalize("NFD", "Ärger über Öl.pdf"), "rechnung.pdf",
             "rechnung.pdf", "ü" * 240 + ".pdf", "../../etc/passwd.pdf", "日本語 \u202e fdp.pdf"]
    first = create_case(client, anna, title="Ümlaut-Akte «Größe»")
    doc_ids = []
    for i, name in enumerate(names):
        resp = upload(client, anna, first["id"], pdf_bytes(f"D{i}"), filename=name, title=f"Dok {i}")
        assert resp.status_code == 201, resp.get_json()
        doc_ids.append(resp.get_json()["id"])
    again = client.post(f"/api/v1/documents/{doc_ids[2]}/versions", headers=anna,
                        data={"file": (io.BytesIO(pdf_bytes("D2b")), "rechnung.pdf", "application/pdf")},
                        content_type="multipart/form-data")
    assert again.status_code == 201, again.get_json()
    ids = [first["id"]] + [create_case(client, anna, title=f"Leere Akte {i} äöü")["id"] for i in range(30)]
    resp = client.post("/api/v1/exports", json={"case_ids": ids}, headers=town.auth("rita"))
    assert resp.status_code == 200
    data = resp.data
    assert int(resp.headers["Content-Length"]) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = zf.namelist()
        assert len(members) == len(set(members))
        assert all(".." not in m.split("/") for m in members)
        assert zf.testzip() is None


def test_receipt_of_another_users_export_is_not_found(client, town, rt) -> None:  # type: ignore[no-untyped-def]
    from eakte.errors import NotFound
    from eakte.services import exports
    from tests.services.test_verification import actor
    case = create_case(client, town.auth("anna"))
    resp = client.post("/api/v1/exports", json={"case_ids": [case["id"]]}, headers=town.auth("rita"))
    data = resp.data
    name = resp.headers["Content-Disposition"].split('filename="', 1)[1].split(".zip", 1)[0]
    assert exports.export_receipt(rt, actor(rt, "rita"), name).sha256 == hashlib.sha256(data).hexdigest()
    for other in ("admin",):
        try:
            exports.export_receipt(rt, actor(rt, other), name)
        except NotFound:
            pass
        else:
            raise AssertionError(f"{other} read rita's receipt")
