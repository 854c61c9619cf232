"""How a transmission leaves the house (GewAnzV §3): a `Sender` delivers one `OutgoingMessage` to its recipient.

The default is a directory drop (`DirectorySender`): each message becomes <outbox_dir>/<recipient>/<filename>,
written to a temp file beside it and renamed into place, so whatever collects the drop (a transfer agent, an
OSCI/XTA client, a mounted share) never sees half a file. Other ways of sending are plug-ins: an entry point of
group `eakte.trade_senders` names a factory `factory(settings, data_dir) -> Sender`, chosen by the trade case
type's setting `sender` (default "directory").

A sender raises on failure (any exception): the outbox counts the attempt and retries later."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Protocol

from eakte.errors import ConfigError

GROUP = "eakte.trade_senders"
DEFAULT_SENDER = "directory"
OUTBOX_SUBDIR = "trade-outbox"  # under the data directory when `outbox_dir` is empty
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as a sender gets it: the content is a stream from the blob store (the caller closes it)."""

    transmission_id: int
    recipient: str  # the key in the recipient table, e.g. "ihk"
    recipient_name: str
    filename: str
    mime_type: str  # application/json or application/xml
    size: int
    sha256: str
    procedure_reference: str
    content: BinaryIO


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Deliver the message; returns where it went (kept in the audit trail). Raises on failure."""
        ...


SenderFactory = Callable[[Mapping[str, Any], Path], Sender]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def path_segment(name: str) -> str:
    """A recipient key or file name as one harmless path segment: never a separator, never `..`."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    return cleaned[:200]


class DirectorySender:
    """Drops each message into <path>/<recipient>/<filename>, atomically (temp file, fsync, os.replace)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: OutgoingMessage) -> str:
        folder = self.path / path_segment(message.recipient)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path_segment(message.filename)
        # The temp file starts with a dot: collectors that skip hidden files never pick up a partial one.
        fd, name = tempfile.mkstemp(prefix=".part-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(message.content, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return str(target)


def outbox_dir(settings: Mapping[str, Any], data_dir: Path) -> Path:
    """The drop directory: the setting `outbox_dir`, or <data dir>/trade-outbox when that is empty."""
    configured = str(settings.get("outbox_dir") or "")
    return Path(configured) if configured else data_dir / OUTBOX_SUBDIR


def directory_sender(settings: Mapping[str, Any], data_dir: Path) -> Sender:
    return DirectorySender(outbox_dir(settings, data_dir))


BUILT_IN: dict[str, SenderFactory] = {DEFAULT_SENDER: directory_sender}


def sender_factory(name: str) -> SenderFactory:
    """The factory of the sender `name`: built in, or an entry point of group eakte.trade_senders."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=GROUP))})
        raise ConfigError(f"case_types.trade.sender: no sender {name!r} (known: {', '.join(known)})")
    try:
        factory: SenderFactory = found[0].load()
    except Exception as exc:  # a broken plug-in names itself rather than failing with a bare traceback
        raise ConfigError(f"trade sender {name!r} ({found[0].value}) failed to load: {exc}") from exc
    return factory


def sender_for(settings: Mapping[str, Any], data_dir: Path) -> Sender:
    """The sender the trade case type's settings choose (`sender`, default "directory")."""
    name = str(settings.get("sender") or DEFAULT_SENDER)
    return sender_factory(name)(settings, data_dir)
