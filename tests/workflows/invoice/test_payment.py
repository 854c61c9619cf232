from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from workflows.invoice.payment import (CSV_HEADER, PAIN001_NAMESPACE, Debtor, InvalidAccount, NotSepaPayable,
                                       Payment, check_sepa_payable, normalize_iban, sepa_text, write_csv,
                                       write_pain001)

NS = {"p": PAIN001_NAMESPACE}
CREATED = datetime(2025, 3, 14, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))
D1 = date(2025, 3, 17)
D2 = date(2025, 3, 20)
SEPA_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


def payment(n: int = 1, **changes: object) -> Payment:
    base = Payment(
        end_to_end_id=f"RE-2025-{n:05d}", creditor_name="Müller & Söhne GmbH",
        creditor_iban="DE02 1203 0000 0000 2020 51", creditor_bic=None, amount=Decimal("1234.50"), currency="EUR",
        remittance=f"Rechnung {n} vom 01.03.2025, Straßenbeleuchtung", requested_date=D1,
        case_reference="20.1-2025/0042", invoice_number=f"R-{n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pain001_schema() -> etree.XMLSchema:
    # The ISO 20022 schema that sepaxml ships (a dev dependency used only for this file); loaded from disk, so
    # nothing is fetched.
    xsd = resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd"
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def pain001(payments: list[Payment], debtor: Debtor | None = None, message_id: str = "EAKTE-20250314-1") -> bytes:
    out = io.BytesIO()
    write_pain001(payments, debtor or Debtor("Stadt Musterhausen", "DE89370400440532013000", None), message_id,
                  CREATED, out)
    return out.getvalue()


def elements(root: etree._Element, path: str) -> list[etree._Element]:
    return list(root.iterfind(path, NS))


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in elements(root, path)]


def text(root: etree._Element, path: str) -> str:
    (value,) = texts(root, path)
    return value


# --- sepa_text -------------------------------------------------------------------------------------------------

def test_sepa_text_transliterates_german_and_strips_accents() -> None:
    assert sepa_text("Müller Ärzte Öl Übung Größe", 140) == "Mueller Aerzte Oel Uebung Groesse"
    assert sepa_text("Café Señor Łódź", 140) == "Cafe Senor odz"  # Ł has no decomposition: it becomes a space
    assert sepa_text("A & B – „Zitat“ 10 € ½", 140) == "A + B - 'Zitat' 10 EUR 1/2"


def test_sepa_text_handles_decomposed_umlauts() -> None:
    assert sepa_text("Mu\u0308ller", 140) == "Mueller"


def test_sepa_text_replaces_other_characters_and_collapses_space() -> None:
    assert sepa_text("Nr. #12\n\tinfo@example.org 😀 ; ok", 140) == "Nr. 12 info example.org ok"


def test_sepa_text_cuts_after_transliteration() -> None:
    text = sepa_text("ä" * 100, 140)
    assert text == "ae" * 70
    assert sepa_text("abc def", 4) == "abc"  # no trailing space after the cut
    with pytest.raises(ValueError):
        sepa_text("x", 0)


# --- accounts --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("iban", ["DE89370400440532013000", "de89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
                                  "CH9300762011623852957", "AT611904300234573201"])
def test_valid_ibans_pass_mod97(iban: str) -> None:
    assert normalize_iban(iban) == iban.replace(" ", "").upper()


@pytest.mark.parametrize("iban", ["DE89370400440532013001", "DE88370400440532013000", "DE8937040044053201300X",
                                  "DE89", "", "1234567890123456"])
def test_invalid_iban_is_refused(iban: str) -> None:
    with pytest.raises(InvalidAccount):
        payment(creditor_iban=iban)
    with pytest.raises(InvalidAccount):
        Debtor("Stadt Musterhausen", iban, None)


def test_bic_is_optional_and_checked() -> None:
    assert payment(creditor_bic=" ").creditor_bic is None
    assert payment(creditor_bic="byladem1001").creditor_bic == "BYLADEM1001"
    assert payment(creditor_bic="DEUTDEFF").creditor_bic == "DEUTDEFF"
    with pytest.raises(InvalidAccount):
        payment(creditor_bic="BYLA-DE")


def test_money_must_be_decimal() -> None:
    with pytest.raises(TypeError):
        payment(amount=12.5)
    with pytest.raises(TypeError):
        payment(amount=Decimal("NaN"))


# --- CSV -------------------------------------------------------------------------------------------------------

def test_csv_round_trip_with_bom_decimal_comma_and_umlauts(tmp_path: Path) -> None:
    payments = [
        payment(1),
        payment(2, creditor_name="Bäckerei Öztürk", creditor_bic="BYLADEM1001", amount=Decimal("0.5"),
                remittance="Brötchen für\nden Neujahrsempfang; 2 Posten", requested_date=D2),
        payment(3, currency="CHF", amount=Decimal("-99.90"), creditor_iban="CH9300762011623852957"),
        payment(4, amount=Decimal("1E+3"), currency="BHD"),
        payment(5, amount=Decimal("12.345"), currency="BHD"),
    ]
    buffer = io.StringIO()
    write_csv(payments, buffer)
    path = tmp_path / "zahlungen.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))

    assert path.read_bytes().startswith(b"\xef\xbb\xbfAktenzeichen;")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[0][2] == "Empfänger" and rows[0][6] == "Währung"
    assert len(rows) == len(payments) + 1
    records = [dict(zip(CSV_HEADER, row)) for row in rows[1:]]

    first, second, third, fourth, fifth = records
    assert first == {
        "Aktenzeichen": "20.1-2025/0042", "Rechnungsnummer": "R-1", "Empfänger": "Müller & Söhne GmbH",
        "IBAN": "DE02120300000000202051", "BIC": "", "Betrag": "1234,50", "Währung": "EUR",
        "Verwendungszweck": "Rechnung 1 vom 01.03.2025, Straßenbeleuchtung", "Ausführungsdatum": "17.03.2025",
        "End-to-End-ID": "RE-2025-00001",
    }
    assert second["Empfänger"] == "Bäckerei Öztürk"
    assert second["Verwendungszweck"] == "Brötchen für\nden Neujahrsempfang; 2 Posten"
    assert second["Betrag"] == "0,50" and second["BIC"] == "BYLADEM1001"
    assert second["Ausführungsdatum"] == "20.03.2025"
    assert third["Betrag"] == "-99,90" and third["Währung"] == "CHF"
    assert fourth["Betrag"] == "1000,00"
    assert fifth["Betrag"] == "12,345"  # never rounded away
    for record, p in zip(records, payments):
        assert Decimal(record["Betrag"].replace(",", ".")) == p.amount


def test_csv_defuses_formulas_in_text_fields() -> None:
    buffer = io.StringIO()
    write_csv([payment(creditor_name='=HYPERLINK("http://evil","x")', remittance="+49 123",
                       amount=Decimal("-5.00"))], buffer)
    row = list(csv.reader(io.StringIO(buffer.getvalue().lstrip("\ufeff")), delimiter=";"))[1]
    record = dict(zip(CSV_HEADER, row))
    assert record["Empfänger"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert record["Verwendungszweck"] == "'+49 123"
    assert record["Betrag"] == "-5,00"  # our own number stays a number


# --- pain.001 --------------------------------------------------------------------------------------------------

def test_pain001_header_totals_and_grouping(pain001_schema: etree.XMLSchema) -> None:
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("1234.56"), Decimal("99999.99"), Decimal("7")]
    dates = [D2, D1, D2, D1, D2]
    payments = [payment(i, amount=a, requested_date=d) for i, (a, d) in enumerate(zip(amounts, dates), 1)]
    xml = pain001(payments)
    root = etree.fromstring(xml)
    pain001_schema.assertValid(root)

    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert root.tag == f"{{{PAIN001_NAMESPACE}}}Document"
    assert PAIN001_NAMESPACE == "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
    header = "p:CstmrCdtTrfInitn/p:GrpHdr/"
    assert texts(root, header + "p:MsgId") == ["EAKTE-20250314-1"]
    assert texts(root, header + "p:CreDtTm") == ["2025-03-14T09:30:15+01:00"]
    assert texts(root, header + "p:NbOfTxs") == ["5"]
    assert texts(root, header + "p:CtrlSum") == [str(sum(amounts))] == ["101241.85"]
    assert texts(root, header + "p:InitgPty/p:Nm") == ["Stadt Musterhausen"]

    infos = elements(root, "p:CstmrCdtTrfInitn/p:PmtInf")
    assert [text(i, "p:ReqdExctnDt/p:Dt") for i in infos] == ["2025-03-17", "2025-03-20"]
    for info, day in zip(infos, (D1, D2)):
        group = [p for p in payments if p.requested_date == day]
        assert text(info, "p:PmtMtd") == "TRF"
        assert text(info, "p:BtchBookg") == "true"
        assert text(info, "p:NbOfTxs") == str(len(group))
        assert Decimal(text(info, "p:CtrlSum")) == sum(p.amount for p in group)
        assert text(info, "p:PmtTpInf/p:SvcLvl/p:Cd") == "SEPA"
        assert text(info, "p:DbtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"
        assert text(info, "p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == "NOTPROVIDED"
        assert texts(info, "p:CdtTrfTxInf/p:PmtId/p:EndToEndId") == [p.end_to_end_id for p in group]
    assert len({text(i, "p:PmtInfId") for i in infos}) == 2

    instructed = elements(root, ".//p:InstdAmt")
    assert {a.get("Ccy") for a in instructed} == {"EUR"}
    assert sorted(a.text or "" for a in instructed) == sorted(["0.10", "0.20", "1234.56", "99999.99", "7.00"])


def test_pain001_transaction_fields_and_optional_bic(pain001_schema: etree.XMLSchema) -> None:
    long_text = "Rechnung Nr. 2025-0815 für Straßenbau, Größe Ü-Wagen; Bäume & Sträucher " * 5
    payments = [payment(1, creditor_bic="BYLADEM1001", remittance=long_text), payment(2, remittance="")]
    root = etree.fromstring(pain001(payments, Debtor("Gemeinde Öhringen-Süd", "DE89370400440532013000",
                                                     "COBADEFFXXX")))
    pain001_schema.assertValid(root)

    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BICFI") == ["COBADEFFXXX"]
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Gemeinde Oehringen-Sued"]
    with_bic, without_bic = elements(root, ".//p:CdtTrfTxInf")
    assert texts(with_bic, "p:CdtrAgt/p:FinInstnId/p:BICFI") == ["BYLADEM1001"]
    assert without_bic.find("p:CdtrAgt", NS) is None
    assert texts(with_bic, "p:Cdtr/p:Nm") == ["Mueller + Soehne GmbH"]
    assert texts(with_bic, "p:CdtrAcct/p:Id/p:IBAN") == ["DE02120300000000202051"]

    ustrd = text(with_bic, "p:RmtInf/p:Ustrd")
    assert len(ustrd) <= 140
    assert ustrd.startswith("Rechnung Nr. 2025-0815 fuer Strassenbau, Groesse Ue-Wagen Baeume + Straeucher")
    assert set(ustrd) <= SEPA_CHARS
    assert without_bic.find("p:RmtInf", NS) is None  # an empty Ustrd would break the schema


def test_pain001_large_batch_is_valid(pain001_schema: etree.XMLSchema) -> None:
    payments = [payment(i, amount=Decimal(i) / 100, requested_date=D1 + timedelta(days=i % 3)) for i in range(1, 3001)]
    root = etree.fromstring(pain001(payments))
    pain001_schema.assertValid(root)
    assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs") == ["3000"]
    assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == ["45015.00"]
    assert len(elements(root, ".//p:PmtInf")) == 3


@pytest.mark.parametrize("changes, reason", [
    ({"currency": "CHF"}, "not EUR"),
    ({"amount": Decimal("-12.50")}, "not positive"),
    ({"amount": Decimal("0.00")}, "not positive"),
    ({"amount": Decimal("0.001")}, "fractions of a cent"),
    ({"amount": Decimal("1000000000.00")}, "SEPA maximum"),
    ({"end_to_end_id": "RE//2025"}, "end-to-end id"),
    ({"end_to_end_id": "x" * 36}, "end-to-end id"),
    ({"end_to_end_id": "RE#1"}, "end-to-end id"),
    ({"creditor_name": "株式会社"}, "creditor name"),
])
def test_not_sepa_payable_is_refused_before_writing(changes: dict[str, object], reason: str) -> None:
    bad = payment(2, **changes)
    with pytest.raises(NotSepaPayable) as caught:
        check_sepa_payable(bad)
    assert reason in caught.value.reason and caught.value.payment is bad
    out = io.BytesIO()
    with pytest.raises(NotSepaPayable):
        write_pain001([payment(1), bad], Debtor("Stadt", "DE89370400440532013000", None), "M1", CREATED, out)
    assert out.getvalue() == b""


def test_pain001_refuses_bad_batches() -> None:
    with pytest.raises(ValueError, match="at least one"):
        pain001([])
    with pytest.raises(ValueError, match="twice"):
        pain001([payment(1), payment(1, amount=Decimal("5.00"))])
    with pytest.raises(ValueError, match="message id"):
        pain001([payment(1)], message_id="Zahllauf März")
    with pytest.raises(ValueError, match="message id"):
        pain001([payment(1)], message_id="M" * 36)


def test_pain001_accepts_a_generator_and_can_book_singly() -> None:
    out = io.BytesIO()
    write_pain001((payment(i) for i in (1, 2)), Debtor("Stadt", "DE89370400440532013000", None), "M1", CREATED, out,
                  batch_booking=False)
    root = etree.fromstring(out.getvalue())
    assert texts(root, ".//p:PmtInf/p:BtchBookg") == ["false"]
    assert texts(root, ".//p:GrpHdr/p:NbOfTxs") == ["2"]
