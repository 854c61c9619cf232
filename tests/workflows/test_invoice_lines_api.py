"""Invoice lines and the buyer's name over the API: stored with the case at intake, shown by GET, and written by
nobody: the case type declares them like the other fields read from the XML (read-only, frozen after sachlich)."""
from __future__ import annotations

from tests.workflows.test_frozen_fields import CHAIN, metadata_of, paper_invoice, patch, walk
from tests.workflows.test_invoice_flow import XR, ZF, env, intake  # noqa: F401 (env is a fixture)

NEW_LINE = [{"line_id": "9", "name": "Geschenk", "quantity": "1", "unit_code": "H87", "net_price": "1.00",
             "net_amount": "1.00", "vat_category": "S", "vat_rate": "19"}]


def test_lines_and_buyer_are_stored_and_returned(env) -> None:
    rt, town, client = env
    created = intake(client, town, XR / "01.05a-INVOICE_uncefact.xml")
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["case"]["id"]
    meta = metadata_of(client, town, case_id)
    assert meta["buyer_name"] == "[Buyer name]" and meta["line_count"] == 4
    assert meta["lines"][0] == {"line_id": "Seminar: […]", "name": "Seminar", "quantity": "5", "unit_code": "DAY",
                                "net_price": "1340", "net_amount": "6700.00", "vat_category": "S",
                                "vat_rate": "19"}
    assert [line["net_amount"] for line in meta["lines"]] == ["6700.00", "1500.00", "450.00", "220.00"]
    fields = {f["name"]: f for t in client.get("/api/v1/case-types", headers=town.auth("anna")).get_json()["items"]
              if t["key"] == "invoice" for f in t["fields"]}
    assert fields["lines"]["read_only"] and fields["line_count"]["read_only"]
    assert fields["buyer_name"]["label_de"] == "Rechnungsempfänger" and not fields["buyer_name"]["read_only"]


def test_zugferd_pdf_lines_over_the_api(env) -> None:
    rt, town, client = env
    case_id = intake(client, town, ZF / "facturx_invoice_EN16931.pdf").get_json()["case"]["id"]
    meta = metadata_of(client, town, case_id)
    assert meta["buyer_name"] == "LE CLIENT"
    assert [(line["name"], line["net_price"]) for line in meta["lines"]] == [
        ("PRESTATION SUPPORT", "60.0000"), ("FOURNITURES PAPIER", "30.0000"), ("APPEL", "7.0000")]


def test_lines_and_buyer_of_an_e_invoice_cannot_be_changed(env) -> None:
    rt, town, client = env
    case_id = intake(client, town, XR / "01.05a-INVOICE_ubl.xml").get_json()["case"]["id"]
    before = metadata_of(client, town, case_id)
    for change in ({"lines": NEW_LINE}, {"lines": []}, {"lines": None}, {"line_count": 1},
                   {"buyer_name": "Andere Gemeinde"}, {"buyer_name": None}):
        refused = patch(client, town, case_id, change)
        assert refused.status_code == 422, (change, refused.get_json())
        assert refused.headers["Content-Type"] == "application/problem+json"
        name = next(iter(change))
        assert refused.get_json()["field"] == f"metadata.{name}"
    assert "aus der E-Rechnung gelesen" in patch(client, town, case_id, {"buyer_name": "X"}).get_json()["detail_de"]
    assert metadata_of(client, town, case_id) == before
    assert patch(client, town, case_id, {"buyer_name": before["buyer_name"]}).status_code == 200  # no change


def test_paper_invoice_buyer_is_typed_then_frozen_and_lines_are_never_typed(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    assert "lines" not in metadata_of(client, town, case_id)
    refused = patch(client, town, case_id, {"lines": NEW_LINE})
    assert refused.status_code == 422 and refused.get_json()["field"] == "metadata.lines"
    assert patch(client, town, case_id, {"buyer_name": "Gemeinde Musterstadt"}).status_code == 200
    walk(client, town, case_id, CHAIN[:2])  # eingang, sachlich
    frozen = patch(client, town, case_id, {"buyer_name": "Andere Gemeinde"})
    assert frozen.status_code == 409 and frozen.get_json()["step"] == "sachlich"
    assert metadata_of(client, town, case_id)["buyer_name"] == "Gemeinde Musterstadt"
