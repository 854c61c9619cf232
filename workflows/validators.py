"""Check-digit validators shared by field validation, invoice checks and the payment export: ISO 13616 IBAN and
the Leitweg-ID (ISO 7064 MOD 97-10)."""
from __future__ import annotations

import re

# ------------------------------------------------------------------------------------------------------ IBAN

# ISO 13616 registry lengths. A country missing here is judged by the check digits and the general shape only,
# so the table going stale can only make the check more lenient, never reject a good IBAN.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AX": 18, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BL": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GF": 27, "GG": 22,
    "GI": 23, "GL": 18, "GP": 27, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IM": 22,
    "IQ": 23, "IS": 26, "IT": 27, "JE": 22, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MF": 27, "MK": 19, "MN": 20, "MQ": 27, "MR": 27,
    "MT": 31, "MU": 30, "NC": 27, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PF": 27, "PK": 24, "PL": 28, "PM": 27,
    "PS": 29, "PT": 25, "QA": 29, "RE": 27, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TF": 27, "TL": 23, "TN": 24, "TR": 26, "UA": 29,
    "VA": 22, "VG": 24, "WF": 27, "XK": 20, "YE": 30, "YT": 27,
}
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def _mod97(alnum: str) -> int:
    """ISO 7064 MOD 97-10 over digits and letters (A=10 … Z=35), shared by IBAN and Leitweg-ID."""
    return int("".join(str(int(ch, 36)) for ch in alnum)) % 97


def compact_iban(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def iban_valid(value: str) -> bool:
    """ISO 13616: shape, registered length for the country, and check digits (mod 97 == 1). Spaces and case
    are ignored, as IBANs are printed in groups of four."""
    iban = compact_iban(value)
    if not _IBAN_RE.fullmatch(iban):
        return False
    if len(iban) != _IBAN_LENGTHS.get(iban[:2], len(iban)):
        return False
    # 00, 01 and 99 are never issued, but 99 ≡ 02 and 98 ≡ 01 (mod 97) would let them pass the sum alone.
    if iban[2:4] in ("00", "01", "99"):
        return False
    return _mod97(iban[4:] + iban[:4]) == 1


# ------------------------------------------------------------------------------------------------ Leitweg-ID

_LEITWEG_RE = re.compile(r"[0-9]{2,12}(?:-[A-Za-z0-9]{1,30})?-[0-9]{2}")
# Coarse part and a dash: what someone meant as a Leitweg-ID, even if mistyped; other buyer references (order
# numbers, names of contacts) are not judged by this rule.
_LOOKS_LIKE_LEITWEG_RE = re.compile(r"[0-9]{2,12}-\S*")


def leitweg_id_valid(value: str) -> bool:
    """Leitweg-ID (KoSIT format 2.0): coarse part 2–12 digits, optional fine part of up to 30 letters/digits,
    2-digit check number, joined by '-'; the whole without dashes, letters as 10–35, is 1 mod 97."""
    text = value.strip()
    if not _LEITWEG_RE.fullmatch(text):
        return False
    return _mod97(text.replace("-", "").upper()) == 1


def looks_like_leitweg_id(value: str) -> bool:
    return bool(_LOOKS_LIKE_LEITWEG_RE.fullmatch(value.strip()))
