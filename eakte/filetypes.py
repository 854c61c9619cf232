"""Content-based file type detection for uploads.

The type of an upload is decided by its bytes (libmagic plus a look inside
ZIP containers), never by its filename or the client's Content-Type header.
Those two are only *claims*: :func:`check_claim` rejects an upload whose
explicit claim contradicts the detected content, because a mismatch is the
typical disguise of malware ("invoice.pdf" that is an executable) and would
make later viewers/handlers choose the wrong code path.

Typical use::

    mime = verify_upload(tmp_path, part.content_type, part.filename)

"""

from __future__ import annotations

import mimetypes
import os
import re
import threading
import zipfile
from collections.abc import Collection
from typing import Final
from xml.parsers import expat

import magic

__all__ = [
    "DEFAULT_ALLOWED",
    "DEFAULT_ALLOWED_TYPES",
    "DOCX",
    "EML",
    "JPEG",
    "ODT",
    "PDF",
    "PNG",
    "TEXT",
    "TIFF",
    "XLSX",
    "XML_APP",
    "XML_TEXT",
    "ContentContradictsClaim",
    "FileTypeError",
    "FileTypeNotAllowed",
    "check_allowed",
    "check_claim",
    "claimed_types",
    "detect_mime",
    "verify_upload",
]

PDF: Final = "application/pdf"
TIFF: Final = "image/tiff"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
TEXT: Final = "text/plain"
XML_TEXT: Final = "text/xml"
XML_APP: Final = "application/xml"
EML: Final = "message/rfc822"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT: Final = "application/vnd.oasis.opendocument.text"

_ZIP: Final = "application/zip"
_OCTET: Final = "application/octet-stream"
_CSV: Final = "text/csv"

DEFAULT_ALLOWED_TYPES: Final[tuple[str, ...]] = (PDF, TIFF, PNG, JPEG, TEXT, XML_TEXT, XML_APP, EML, DOCX, XLSX, ODT)
DEFAULT_ALLOWED: Final[frozenset[str]] = frozenset(DEFAULT_ALLOWED_TYPES)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class FileTypeError(Exception):
    """Base of the upload file type errors; carries an English and a German text."""

    message: str
    message_de: str

    def __init__(self, message: str, message_de: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_de = message_de


class FileTypeNotAllowed(FileTypeError):
    """The detected content type is not on the allow list."""

    def __init__(self, detected: str, allowed: Collection[str]) -> None:
        self.detected = detected
        self.allowed = frozenset(allowed)
        super().__init__(
            f"File type {detected} is not allowed",
            f"Dateityp {detected} ist nicht zulässig",
        )


class ContentContradictsClaim(FileTypeError):
    """The filename extension or Content-Type says something the bytes are not."""

    def __init__(self, detected: str, claimed: str) -> None:
        self.detected = detected
        self.claimed = claimed
        super().__init__(
            f"File content is {detected} but the upload claims {claimed}",
            f"Der Dateiinhalt ist {detected}, die Datei gibt sich aber als {claimed} aus",
        )


# --------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------

# python-magic's module-level helpers share one libmagic cookie and are not
# thread-safe; a Magic instance per thread avoids both races and lock contention.
_local = threading.local()


def _magic() -> magic.Magic:
    instance: magic.Magic | None = getattr(_local, "magic", None)
    if instance is None:
        instance = magic.Magic(mime=True)
        _local.magic = instance
    return instance


# libmagic answers that are just text; we store and serve them as text/plain,
# so e.g. a .txt that happens to start with "<html>" or "#!/bin/sh" is not
# rejected (it is never served as HTML or executed).
_TEXTUAL_APPLICATION: Final = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/x-wine-extension-ini",  # libmagic's guess for INI-like text
        "application/x-ndjson",
    }
)
# text/* answers that are real document formats, not plain text: keep them so
# the allow list decides (RTF markup is not "plain text", SVG can carry script).
_TEXT_KEEP: Final = frozenset({XML_TEXT, "text/rtf"})

# libmagic sometimes names allowed types differently.
_ALIASES: Final[dict[str, str]] = {
    "application/x-pdf": PDF,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/tif": TIFF,
    "image/x-tiff": TIFF,
    "text/x-mail": EML,
    "application/x-zip-compressed": _ZIP,
}

# Answers after which the real type is decided by looking inside the ZIP:
# libmagic only recognises OOXML/ODF when the container entries come in the
# conventional order, and it cannot tell .docx from macro-enabled .docm.
_ZIP_LIKE: Final = frozenset(
    {
        _ZIP,
        _OCTET,
        DOCX,
        XLSX,
        ODT,
        "application/vnd.openxmlformats-officedocument",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-excel.sheet.macroenabled.12",
    }
)

_ZIP_LOCAL_HEADER: Final = b"PK\x03\x04"
# Small control members; anything larger is not a genuine document skeleton.
_MAX_SKELETON_MEMBER: Final = 1024 * 1024

# Main-part content types in [Content_Types].xml -> package type. Macro-enabled
# and template variants map to their own (not allowed) types on purpose.
_OOXML_MAIN_PARTS: Final[dict[str, str]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.ms-word.document.macroenabled.main+xml": (
        "application/vnd.ms-word.document.macroenabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
    ),
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": (
        "application/vnd.ms-word.template.macroenabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": (
        "application/vnd.ms-excel.sheet.macroenabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template"
    ),
    "application/vnd.ms-excel.template.macroenabled.main+xml": (
        "application/vnd.ms-excel.template.macroenabled.12"
    ),
}
_OOXML_MAIN_PART_NAMES: Final = ("word/document.xml", "xl/workbook.xml")


def detect_mime(path: str | os.PathLike[str]) -> str:
    """Return the canonical MIME type of the file at ``path``, judged by content only."""
    raw = _magic().from_file(os.fspath(path))
    mime = _normalise_magic_answer(raw)
    if mime in _ZIP_LIKE and _starts_with_zip_header(path):
        return _inspect_zip(path)
    if _bare_type(raw) == TEXT and _is_well_formed_xml(path):
        return XML_TEXT
    if mime == TEXT and _looks_like_email(path):
        return EML
    return mime


def _bare_type(raw: str) -> str:
    return raw.split(";", 1)[0].strip().lower()


def _normalise_magic_answer(raw: str) -> str:
    mime = raw.split(";", 1)[0].strip().lower()
    mime = _ALIASES.get(mime, mime)
    if mime.startswith("text/"):
        if mime in _TEXT_KEEP:
            return mime
        return TEXT  # text/html, text/x-*, text/csv, text/troff ...
    if mime in _TEXTUAL_APPLICATION:
        return TEXT
    return mime


# libmagic only says message/rfc822 when a mail starts with one of a few
# headers (From:, Received:, ...); mails written by Python, Outlook exports or
# with an HTML body are often reported as text/plain or text/html. So a text
# file whose first block is a well-formed RFC 5322 header section with a
# From: and the usual companions is classified as a mail here.
_EMAIL_HEAD_BYTES: Final = 64 * 1024
_HEADER_LINE: Final = re.compile(rb"([!-9;-~]{1,76}):")
_EMAIL_COMPANIONS: Final = frozenset(
    {b"date", b"subject", b"to", b"cc", b"message-id", b"received", b"mime-version", b"return-path"}
)


def _looks_like_email(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(_EMAIL_HEAD_BYTES)
    header_block, sep, _ = head.replace(b"\r\n", b"\n").partition(b"\n\n")
    if not sep:
        return False
    lines = header_block.split(b"\n")
    if lines[0].startswith(b"From "):
        lines = lines[1:]  # mbox separator line of a single exported message
    names: set[bytes] = set()
    for line in lines:
        if line[:1] in (b" ", b"\t") and names:
            continue  # folded continuation of the previous header
        match = _HEADER_LINE.match(line)
        if match is None:
            return False
        names.add(match.group(1).lower())
    return b"from" in names and len(names & _EMAIL_COMPANIONS) >= 2


# libmagic recognises XML only by its declaration (<?xml ...?>); valid XML without one (the KoSIT test
# invoices 04.01a-04.03a start with <ubl:Invoice, others with a BOM or a comment) it calls text/plain. Such a
# file is XML when it parses as a well-formed document. Only libmagic's text/plain is re-examined, so what it
# calls HTML stays text and is never served as markup.
_XML_CHUNK: Final = 64 * 1024
_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _is_well_formed_xml(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(_XML_CHUNK)
        if not _may_start_xml(head):
            return False  # the common case for text: decided without parsing
        parser = _safe_expat()
        try:
            chunk = head
            while chunk:
                parser.Parse(chunk, False)
                chunk = fh.read(_XML_CHUNK)
            parser.Parse(b"", True)
        except (expat.ExpatError, ValueError):
            return False
    return True


def _may_start_xml(head: bytes) -> bool:
    """After an optional BOM and whitespace, an XML document starts with '<' (an element, comment or PI)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[:256].decode("utf-16", "ignore")
    else:
        text = head[:256].removeprefix(_BOMS[0]).decode("utf-8", "ignore")
    return text.lstrip(" \t\r\n").startswith("<")


def _safe_expat() -> expat.XMLParserType:
    """An expat parser that refuses entity declarations (no entity expansion bombs) and fetches nothing."""

    def reject_entities(*_args: object) -> None:
        raise ValueError("entity declarations are not allowed")

    parser = expat.ParserCreate()
    parser.EntityDeclHandler = reject_entities
    return parser


def _starts_with_zip_header(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == _ZIP_LOCAL_HEADER


def _inspect_zip(path: str | os.PathLike[str]) -> str:
    """Classify a ZIP container by its members; plain ZIP if it is no known package."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                return _odf_type(zf)
            if "[Content_Types].xml" in names:
                return _ooxml_type(zf, names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return _OCTET
    except NotImplementedError:  # unsupported compression method in a skeleton member
        return _ZIP
    return _ZIP


# Only ODF's own namespace is believed: the mimetype member is attacker
# controlled, and "application/pdf" written there must not make a zip a PDF.
_ODF_MIMETYPE: Final = re.compile(r"application/vnd\.oasis\.opendocument\.[a-z0-9.+-]{1,64}")


def _odf_type(zf: zipfile.ZipFile) -> str:
    declared = _read_small_member(zf, "mimetype")
    if declared is None:
        return _ZIP
    value = declared.decode("ascii", "replace").strip().lower()
    return value if _ODF_MIMETYPE.fullmatch(value) else _ZIP


def _ooxml_type(zf: zipfile.ZipFile, names: set[str]) -> str:
    mains = [n for n in _OOXML_MAIN_PART_NAMES if n in names]
    if len(mains) != 1:
        return _ZIP  # none or both: not a well-formed single-purpose package
    content_types = _read_small_member(zf, "[Content_Types].xml")
    if content_types is None:
        return _ZIP
    declared = _declared_main_content_type(content_types, "/" + mains[0])
    if declared is None:
        return _ZIP
    return _OOXML_MAIN_PARTS.get(declared, _ZIP)


def _read_small_member(zf: zipfile.ZipFile, name: str) -> bytes | None:
    info = zf.getinfo(name)
    if info.file_size > _MAX_SKELETON_MEMBER:
        return None
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # Office/ODF never use bzip2/lzma, and zipfile inflates those without
        # an output bound per read: a bomb in this (web server) process.
        return None
    with zf.open(info) as fh:
        # ZipExtFile never returns more than the declared size, but read one
        # byte more anyway so a lying header cannot make us buffer a bomb.
        data = fh.read(_MAX_SKELETON_MEMBER + 1)
    return data if len(data) <= _MAX_SKELETON_MEMBER else None


def _declared_main_content_type(content_types_xml: bytes, part_name: str) -> str | None:
    """Find the Override for ``part_name`` in [Content_Types].xml.

    Uses expat directly with entity declarations rejected, so a hostile
    package cannot trigger entity expansion while we only sniff its type.
    """
    found: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        if local == "Override" and attrs.get("PartName", "").lower() == part_name.lower():
            found.append(attrs.get("ContentType", "").strip().lower())

    def reject_entities(*_args: object) -> None:
        raise ValueError("entity declarations are not allowed")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EntityDeclHandler = reject_entities
    try:
        parser.Parse(content_types_xml, True)
    except (expat.ExpatError, ValueError):
        return None
    return found[0] if found else None


# --------------------------------------------------------------------------
# Allow list and claims
# --------------------------------------------------------------------------


def check_allowed(detected: str, allowed: Collection[str] = DEFAULT_ALLOWED) -> None:
    """Raise :class:`FileTypeNotAllowed` unless ``detected`` is on the allow list."""
    if detected not in allowed:
        raise FileTypeNotAllowed(detected, allowed)


# Claims that say nothing about the content ("some bytes").
_GENERIC_CLAIMS: Final = frozenset(
    {
        "",
        _OCTET,
        "binary/octet-stream",
        "application/binary",
        "application/unknown",
        "application/x-download",
        "application/force-download",
        "application/download",
    }
)

# Extension table consulted before the stdlib's built-in map: Python's defaults
# lack the office formats, and we want the same answer on every machine.
_EXTENSIONS: Final[dict[str, str]] = {
    ".pdf": PDF,
    ".tif": TIFF,
    ".tiff": TIFF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".jpe": JPEG,
    ".txt": TEXT,
    ".text": TEXT,
    ".log": TEXT,
    ".csv": _CSV,
    ".xml": XML_TEXT,
    ".eml": EML,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".odt": ODT,
    ".zip": _ZIP,
    ".exe": "application/vnd.microsoft.portable-executable",
    ".dll": "application/vnd.microsoft.portable-executable",
}
# Built-in stdlib defaults only (no /etc/mime.types), so results do not vary by host.
_STDLIB_TYPES: Final = mimetypes.MimeTypes()

# The one equivalence table: claimed type -> detected types that do NOT
# contradict it (besides the claimed type itself). Directed on purpose:
#  * text formats are often sniffed as plain text (an .xml without an XML
#    declaration, a .csv, an .eml with few headers), and a .txt may hold XML,
#    CSV or a mail;
#  * Windows registers .csv as application/vnd.ms-excel, so browsers send that
#    for CSV files;
#  * raster images are often saved with the wrong one of the three extensions,
#    which is harmless;
#  * nothing makes a binary container (zip, office, pdf) compatible with
#    anything else: "invoice.pdf" that is a PNG or "letter.docx" that is a
#    plain zip is exactly what we want to catch.
_COMPATIBLE: Final[dict[str, frozenset[str]]] = {
    TEXT: frozenset({XML_TEXT, XML_APP, EML}),
    _CSV: frozenset({TEXT}),
    XML_TEXT: frozenset({TEXT, XML_APP}),
    XML_APP: frozenset({TEXT, XML_TEXT}),
    EML: frozenset({TEXT}),
    "application/vnd.ms-excel": frozenset({TEXT}),
    PNG: frozenset({JPEG, TIFF}),
    JPEG: frozenset({PNG, TIFF}),
    TIFF: frozenset({PNG, JPEG}),
}


def _canonical_claim(mime: str | None) -> str | None:
    if mime is None:
        return None
    mime = mime.split(";", 1)[0].strip().lower()
    if mime in _GENERIC_CLAIMS:
        return None
    mime = _ALIASES.get(mime, mime)
    if mime in ("text/html", "text/x-csv", "application/csv"):
        # Detection reports HTML as plain text, and these are CSV's aliases.
        return TEXT if mime == "text/html" else _CSV
    return mime


def _claim_from_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    # Only the last suffix counts: "scan.pdf.exe" claims to be an executable.
    ext = os.path.splitext(filename.replace("\\", "/").rsplit("/", 1)[-1])[1].lower()
    if not ext:
        return None
    mime = _EXTENSIONS.get(ext)
    if mime is None:
        guessed, encoding = _STDLIB_TYPES.guess_type("x" + ext, strict=False)
        mime = None if encoding is not None else guessed
    return _canonical_claim(mime)


def claimed_types(claimed: str | None, filename: str | None) -> list[str]:
    """The explicit, specific claims an upload makes (header first, then extension)."""
    claims: list[str] = []
    for claim in (_canonical_claim(claimed), _claim_from_filename(filename)):
        if claim is not None and claim not in claims:
            claims.append(claim)
    return claims


def _compatible(detected: str, claim: str) -> bool:
    return detected == claim or detected in _COMPATIBLE.get(claim, frozenset())


def check_claim(detected: str, claimed: str | None, filename: str | None) -> None:
    """Raise :class:`ContentContradictsClaim` if an explicit claim contradicts ``detected``.

    ``claimed`` is the part's Content-Type, ``filename`` the client's filename.
    Generic claims (application/octet-stream, empty) and unknown extensions
    claim nothing and are ignored.
    """
    for claim in claimed_types(claimed, filename):
        if not _compatible(detected, claim):
            raise ContentContradictsClaim(detected, claim)


def verify_upload(
    path: str | os.PathLike[str],
    claimed: str | None,
    filename: str | None,
    allowed: Collection[str] = DEFAULT_ALLOWED,
) -> str:
    """Detect, enforce the allow list, then the claim; return the detected type.

    The allow list is checked first so a disguised executable is reported as
    "not allowed" (the more useful message) rather than as a mismatch.
    """
    detected = detect_mime(path)
    check_allowed(detected, allowed)
    check_claim(detected, claimed, filename)
    return detected
