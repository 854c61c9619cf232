"""Small builders shared by tests."""
from __future__ import annotations

import io
from typing import Any

from eakte.demo import demo_pdf


def pdf_bytes(title: str = "Testdokument", text: str = "Widerspruchsfrist für die Gewerbeanmeldung",
              pages: int = 2) -> bytes:
    return demo_pdf(title, [text], pages)


def create_case(client: Any, headers: dict[str, str], *, unit: str = "20", plan: str = "20.30",
                title: str = "Rechnung Büromaterial", **extra: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/cases", json={"file_plan_code": plan, "title": title, "unit": unit, **extra},
                       headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def upload(client: Any, headers: dict[str, str], case_id: int, data: bytes, filename: str = "rechnung.pdf",
           title: str = "Rechnung", content_type: str = "application/octet-stream", **form: Any) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/documents", headers=headers,
                       data={"file": (io.BytesIO(data), filename, content_type), "title": title, **form},
                       content_type="multipart/form-data")
