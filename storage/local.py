"""A blob store on a local (or mounted) file system.

Layout under `root`:
    sha256/ab/cd/abcd…   the blobs, read-only (0o444), named by key_for()
    tmp/                 in-flight uploads; leftovers of a crash are removed by cleanup_temp()
    records/…            named records (audit checkpoints), read-only, never listed by iter_blobs

tmp/ lives under the same root so that the final link is a same-file-system operation and therefore atomic.
"""
from __future__ import annotations

import datetime as dt
import errno
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .base import (RECORDS_PREFIX, BlobCorrupt, BlobInfo, BlobNotFound, BlobRef, BlobStoreError, Retention, key_for,
                   parse_key, parse_record_name)

CHUNK_SIZE = 1024 * 1024
_BLOB_MODE = 0o444


class LocalBlobStore:
    def __init__(self, root: Path | str, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self._blobs = self.root / "sha256"
        self._tmp = self.root / "tmp"
        self._chunk_size = chunk_size
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def put(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        # retention is accepted for protocol compatibility only: a local file system offers no WORM guarantee.
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(self._chunk_size):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fchmod(out.fileno(), _BLOB_MODE)
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            key = key_for(sha256)
            target = self._path(key)
            self._ensure_dir(target.parent)
            try:
                # link, unlike rename, refuses to replace an existing name: a stored blob is never rewritten,
                # not even with (supposedly) identical bytes, and concurrent puts of the same content are safe.
                os.link(tmp, target)
            except FileExistsError:
                created = False
                # A fresh mtime restarts gc's grace period for content that is about to be referenced again.
                with contextlib.suppress(OSError):
                    os.utime(target)
            else:
                created = True
                _fsync_dir(target.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return BlobRef(key=key, sha256=sha256, size=size, created=created)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        # Empty fan-out directories are left in place: removing them would race with a concurrent put
        # that has just created the directory and is about to link into it.
        path = self._path(key)
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent, missing_ok=True)

    def verify(self, key: str) -> None:
        expected = parse_key(key)
        digest = hashlib.sha256()
        with self.open(key) as f:
            while chunk := f.read(self._chunk_size):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise BlobCorrupt(f"{key}: stored bytes hash to {digest.hexdigest()}")

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for dirpath, dirnames, filenames in os.walk(self._blobs):
            dirnames.sort()
            base = Path(dirpath)
            for name in sorted(filenames):
                key = base.joinpath(name).relative_to(self.root).as_posix()
                try:
                    parse_key(key)
                    st = (base / name).stat()
                except (ValueError, FileNotFoundError):
                    continue  # a stray file, or deleted while we walked
                modified = dt.datetime.fromtimestamp(st.st_mtime, tz=dt.timezone.utc)
                yield BlobInfo(key=key, size=st.st_size, modified=modified)

    def cleanup_temp(self, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
        """Remove temp files a crashed put left behind; returns how many were removed.

        Only files older than `older_than` go, so that uploads still in progress are not pulled from under
        a running put: choose it well above the longest upload.
        """
        cutoff = ((now or dt.datetime.now(dt.timezone.utc)) - older_than).timestamp()
        removed = 0
        for entry in os.scandir(self._tmp):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # its put finished meanwhile
        return removed

    def put_record(self, name: str, data: bytes) -> bool:
        # Same write-once discipline as a blob: synced temp file, read-only, linked into place (never replaced).
        target = self._record_path(name)
        if target.exists():
            return False
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="record-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fchmod(out.fileno(), _BLOB_MODE)
                os.fsync(out.fileno())
            self._ensure_dir(target.parent)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            _fsync_dir(target.parent)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def read_record(self, name: str) -> bytes:
        try:
            return self._record_path(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(name) from None

    def list_records(self, folder: str, limit: int | None = None) -> list[str]:
        directory = self._record_path(folder)
        try:
            names = sorted(e.name for e in os.scandir(directory) if e.is_file(follow_symlinks=False))
        except FileNotFoundError:
            return []
        return [f"{folder}/{n}" for n in names[:limit]]

    def _record_path(self, name: str) -> Path:
        return self.root / RECORDS_PREFIX / parse_record_name(name)

    def _path(self, key: str) -> Path:
        parse_key(key)
        return self.root / key

    def _ensure_dir(self, directory: Path) -> None:
        """Create the fan-out directories, fsyncing each new one's parent so the entry survives a crash."""
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for new in reversed(missing):
            try:
                new.mkdir()
            except FileExistsError:
                continue  # a concurrent put created it
            _fsync_dir(new.parent)


def _fsync_dir(directory: Path, *, missing_ok: bool = False) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as e:
        # Some file systems (certain network mounts) refuse fsync on directories; the data file itself was synced.
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise BlobStoreError(f"fsync of {directory} failed") from e
    finally:
        os.close(fd)
