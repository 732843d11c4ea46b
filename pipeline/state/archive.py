"""The archive of sealed minutes (``output/archive/<cycle>/``) and the manifest verify reads.

Layout: one folder per employee, ``<employee id>_<name>/``, holding ``referat_<cycle>_v<N>.pdf``
(the sealed minutes) and ``followups_<cycle>_v<N>.ics`` (the agreed follow-ups). Files are never
overwritten: a corrected minutes becomes the next version beside the old one. Every archived
file gets one line in ``manifest.jsonl`` (append-only JSON lines) with its SHA-256. A file deleted
under the rules for personal data (``samtale retention``, ``samtale erase --archive``) keeps its
line, turned into a deletion record: its SHA-256, when and by which rule, without its path (which
names the person); ``verify`` checks what remains and says how many were deleted.

Verifying needs no password. The certificate every seal must carry is the one ``--cert`` or
``[seal] certificate`` names: a PEM or DER certificate is read as it is, a PKCS#12 seal through
its public half ``<seal>.crt`` beside it, which ``finalize`` writes the first time it seals. A
certificate asked for but not found stops ``verify``; only when none is configured at all is each
PDF checked against the certificate its manifest line records, and its result says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.domain.kinds import FormKind
from pipeline.domain.names import safe_stem
from pipeline.errors import ArchiveError, WorkspaceError, plain_reason
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir, write_private
from pipeline.state.ledger import now_iso
from pipeline.state.workspace import Workspace

try:  # POSIX: one finalize at a time per archive; elsewhere the never-overwrite rule still holds
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = "manifest.jsonl"
RESTORE = "restore the manifest from your backup of the archive"
MINUTES = FormKind.MINUTES  # archived kinds: the sealed minutes and their follow-ups
FOLLOWUPS = "followups"
SUFFIXES = {MINUTES: ".pdf", FOLLOWUPS: ".ics"}
STEMS = {MINUTES: "referat", FOLLOWUPS: "followups"}
VERSIONED = re.compile(r"^(?P<stem>[a-z]+)_(?P<cycle>\d{4})_v(?P<version>\d+)\.(pdf|ics)$")


@dataclass(frozen=True)
class ManifestEntry:
    """One archived file as the manifest records it."""

    path: str  # relative to the archive's cycle folder, with "/" separators
    sha256: str
    employee_id: str
    kind: str  # minutes | followups
    version: int
    source_sha256: str  # the final returned minutes the file was made from
    certificate_sha256: str  # the seal's certificate ("" for files that are not sealed)
    sealed_at: str  # "" for files that are not sealed
    archived_at: str


@dataclass(frozen=True)
class DeletedEntry:
    """An archived file that was deleted, as its manifest line records it (no path: no name)."""

    sha256: str
    employee_id: str
    kind: str
    version: int
    archived_at: str
    deleted_at: str
    rule: str


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found for one file; ``ok`` only when ``problems`` is empty."""

    path: Path
    ok: bool
    problems: list[str]
    subject: str = ""  # who sealed it (the certificate's subject), for PDFs
    signed_at: str = ""
    note: str = ""  # how it was checked, when the user should know (no certificate configured)


@dataclass
class _Index:
    """What the manifest said up to ``offset``: its lines by employee, kept between calls."""

    inode: int
    offset: int = 0  # bytes read (whole lines only)
    last: bytes = b""  # the last line read: still there, or the manifest was rewritten
    lines: int = 0  # lines read, for the line numbers of problems
    entries: dict[str, list[ManifestEntry]] = field(default_factory=dict)  # by employee id
    deleted: dict[str, list[DeletedEntry]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add_entry(self, entry: ManifestEntry) -> None:
        """Index one archived file."""
        self.entries.setdefault(entry.employee_id, []).append(entry)

    def add_deleted(self, record: DeletedEntry) -> None:
        """Index one deletion record."""
        self.deleted.setdefault(record.employee_id, []).append(record)


class Archive:
    """One cycle's archive folder and its append-only manifest."""

    # Finalize asks for one employee's entries thousands of times in a run: the manifest is
    # indexed by employee once, and later calls read only the lines appended since (another
    # run's included). A manifest rewritten in place (a deletion) is read again whole.

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.manifest_path = self.folder / MANIFEST
        self._index: _Index | None = None

    @classmethod
    def of(cls, workspace: Workspace, cycle: int) -> Archive:
        """Return the archive of ``cycle``, its folder created private on first use."""
        return cls(workspace.archive_dir(cycle))

    # -- reading ---------------------------------------------------------------------------------

    def entries(self) -> list[ManifestEntry]:
        """Return every manifest entry; raise ``ArchiveError`` for a damaged manifest."""
        index = self._current()
        return [entry for found in index.entries.values() for entry in found]

    def read_manifest(self) -> tuple[list[ManifestEntry], list[str]]:
        """Return the readable entries of files still archived and one problem per damaged line."""
        entries, _, problems = self.read_lines()
        return entries, problems

    def read_lines(self) -> tuple[list[ManifestEntry], list[DeletedEntry], list[str]]:
        """Return the archived files, the deleted ones, and one problem per damaged line."""
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], [], []
        except (OSError, UnicodeDecodeError) as exc:
            return [], [], [f"the manifest cannot be read ({plain_reason(exc)}); {RESTORE}"]
        entries, deleted, problems = [], [], []
        for number, line in enumerate(text.splitlines(), start=1):
            _read_line(line, number, entries.append, deleted.append, problems.append)
        return entries, deleted, problems

    def deleted(self) -> list[DeletedEntry]:
        """Return the deletion records of the manifest."""
        return self.read_lines()[1]

    def entries_of(self, employee_id: str) -> list[ManifestEntry]:
        """Return one employee's manifest entries; raise ``ArchiveError`` for a damaged manifest."""
        return list(self._current().entries.get(employee_id, ()))

    def entry_for(self, employee_id: str, kind: str, source_sha256: str) -> ManifestEntry | None:
        """Return the newest entry of ``kind`` made from the returned file ``source_sha256``."""
        found = [
            e
            for e in self.entries_of(employee_id)
            if (e.kind, e.source_sha256) == (kind, source_sha256)
        ]
        return max(found, key=lambda e: e.version) if found else None

    def latest(self, employee_id: str, kind: str) -> ManifestEntry | None:
        """Return the employee's newest archived file of ``kind``, or None."""
        found = [e for e in self.entries_of(employee_id) if e.kind == kind]
        return max(found, key=lambda e: e.version) if found else None

    def _current(self) -> _Index:
        """Return the index of the manifest as it is now; raise ``ArchiveError`` when damaged."""
        index = self._read_new_lines()
        if index.problems:
            raise ArchiveError(
                f"{self.manifest_path}: {index.problems[0]}. Fix: restore the manifest from "
                "backup; `samtale verify` lists every damaged line"
            )
        return index

    def _read_new_lines(self) -> _Index:
        """Return the index after reading the lines appended since the last call."""
        try:
            handle = self.manifest_path.open("rb")
        except FileNotFoundError:
            self._index = _Index(inode=-1)
            return self._index
        except OSError as exc:
            return _Index(
                -1, problems=[f"the manifest cannot be read ({plain_reason(exc)}); {RESTORE}"]
            )
        with handle:
            info = os.fstat(handle.fileno())
            index = self._index
            if index is None or not _still_there(handle, info, index):
                index = _Index(info.st_ino)  # new, or rewritten: read it whole
            handle.seek(index.offset)
            tail = handle.read()
        complete = tail[: tail.rfind(b"\n") + 1]
        if complete:
            try:
                text = complete.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = f"the manifest cannot be read ({plain_reason(exc)}); {RESTORE}"
                return _Index(-1, problems=[problem])
            for line in text.splitlines():
                index.lines += 1
                _read_line(
                    line, index.lines, index.add_entry, index.add_deleted, index.problems.append
                )
            index.offset += len(complete)
            index.last = complete[complete.rfind(b"\n", 0, len(complete) - 1) + 1 :]
        self._index = index
        if len(complete) < len(tail):  # a last line without its newline (edited by hand)
            self._index = None  # read whole each time until the line is complete
            whole = _Index(-1)
            for number, line in enumerate(self._text().splitlines(), start=1):
                _read_line(line, number, whole.add_entry, whole.add_deleted, whole.problems.append)
            return whole
        return index

    def _text(self) -> str:
        """Return the manifest's text, a byte that is not UTF-8 shown as a replacement mark."""
        return self.manifest_path.read_text(encoding="utf-8", errors="replace")

    # -- layout ----------------------------------------------------------------------------------

    def employee_folder(self, employee_id: str, name: str) -> str:
        """Return the employee's folder (relative): the one already used, else ``<id>_<name>``."""
        for entry in self.entries_of(employee_id):
            return entry.path.rsplit("/", 1)[0]
        return f"{safe_stem(employee_id, 20)}_{safe_stem(name, 60)}"

    def next_version(self, employee_id: str, folder: str) -> int:
        """Return the next minutes version: above every version in the manifest and on disk."""
        index = self._current()
        versions = [e.version for e in index.entries.get(employee_id, ())]
        versions += [d.version for d in index.deleted.get(employee_id, ())]
        directory = self.folder / folder
        if directory.is_dir():
            versions += [
                int(match["version"])
                for child in directory.iterdir()
                if (match := VERSIONED.match(child.name))
            ]
        return max(versions, default=0) + 1

    # -- writing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the archive's lock (POSIX) so two runs never pick the same version."""
        ensure_private_dir(self.folder)
        handle = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield  # what another run added meanwhile is read at the next look-up
        finally:
            os.close(handle)  # closing releases the lock

    def add(
        self,
        relative: str,
        data: bytes,
        *,
        employee_id: str,
        kind: str,
        version: int,
        source_sha256: str,
        certificate_sha256: str = "",
        sealed_at: str = "",
    ) -> ManifestEntry:
        """Return the manifest entry after writing ``data`` (never over a file) and noting it."""
        target = self.resolve(relative)
        try:
            write_private(target, data)
        except WorkspaceError as exc:
            raise ArchiveError(
                f"{target} already exists; archived files are never overwritten"
            ) from exc
        entry = ManifestEntry(
            path=relative,
            sha256=hashlib.sha256(data).hexdigest(),
            employee_id=employee_id,
            kind=kind,
            version=version,
            source_sha256=source_sha256,
            certificate_sha256=certificate_sha256,
            sealed_at=sealed_at,
            archived_at=now_iso(),
        )
        self._append(entry)
        return entry

    def _append(self, entry: ManifestEntry) -> None:
        """Append one entry to the manifest as a single JSON line, flushed to disk."""
        line = json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        handle = os.open(self.manifest_path, flags, PRIVATE_FILE)
        try:
            os.write(handle, line.encode("utf-8"))
            os.fsync(handle)
        finally:
            os.close(handle)

    def forget(self, files: dict[str, str], *, rule: str, deleted_at: str) -> list[DeletedEntry]:
        """Return the new deletion records after deleting ``files`` (path -> SHA-256)."""
        # The manifest is rewritten first (atomically: each line of a deleted file becomes its
        # deletion record), then the files are deleted and empty folders removed. Running it
        # again after a crash finishes the deleting: a file still there whose SHA-256 is the
        # one planned goes, anything else is left alone.
        with self.lock():
            entries, _, problems = self.read_lines()
            if problems:
                raise ArchiveError(
                    f"{self.manifest_path}: {problems[0]}; nothing was deleted. Fix: restore "
                    "the manifest from backup"
                )
            gone = [e for e in entries if files.get(e.path) == e.sha256]
            records = [_deletion_record(e, rule, deleted_at) for e in gone]
            if gone:
                self._rewrite({e.path: r for e, r in zip(gone, records, strict=True)})
            for relative, sha256 in sorted(files.items()):
                path = self.resolve(relative)
                if path.is_file() and file_sha256(path) == sha256:
                    path.unlink()
                folder = path.parent
                if folder != self.folder and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        return records

    def _rewrite(self, records: dict[str, DeletedEntry]) -> None:
        """Replace the manifest lines of the given paths by their deletion records."""
        lines = []
        for line in self.manifest_path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line) if line.strip() else None
            record = records.get(data.get("path")) if isinstance(data, dict) else None
            if record is not None:
                line = json.dumps(asdict(record), ensure_ascii=False, sort_keys=True)
            lines.append(line)
        text = "".join(line + "\n" for line in lines)
        write_private(self.manifest_path, text.encode("utf-8"), overwrite=True)
        self._index = None

    def resolve(self, relative: str) -> Path:
        """Return the absolute path of a manifest path; raise ``ArchiveError`` if it leaves us."""
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder.resolve()) or path == self.folder.resolve():
            raise ArchiveError(f"{relative!r} points outside the archive folder {self.folder}")
        return path


def _still_there(handle, info: os.stat_result, index: _Index) -> bool:
    """Return True when the manifest still starts with what ``index`` read (only appended to)."""
    if info.st_ino != index.inode or info.st_size < index.offset:
        return False
    handle.seek(index.offset - len(index.last))
    return handle.read(len(index.last)) == index.last


def _read_line(line: str, number: int, entry, deleted, problem) -> None:
    """Hand one manifest line to ``entry`` or ``deleted``, or its problem to ``problem``."""
    if not line.strip():
        return
    try:
        data = json.loads(line)
        if isinstance(data, dict) and "deleted_at" in data:
            deleted(_deleted(data))
        else:
            entry(_entry(data))
    except (ValueError, TypeError, KeyError) as exc:
        what = "not JSON" if isinstance(exc, json.JSONDecodeError) else "a field is wrong"
        problem(f"line {number} of the manifest is damaged ({what}); {RESTORE}")


def archived_name(kind: str, cycle: int, version: int) -> str:
    """Return the file name of version ``version``: ``referat_2027_v1.pdf``."""
    return f"{STEMS[kind]}_{cycle}_v{version}{SUFFIXES[kind]}"


def _deleted(data: dict) -> DeletedEntry:
    """Return a deletion record from one parsed JSON line (KeyError/TypeError when malformed)."""
    record = DeletedEntry(**{name: data[name] for name in DeletedEntry.__dataclass_fields__})
    if not isinstance(record.version, int):
        raise TypeError("version must be a whole number")
    return record


def _deletion_record(entry: ManifestEntry, rule: str, deleted_at: str) -> DeletedEntry:
    """Return the deletion record that replaces an entry's manifest line."""
    return DeletedEntry(
        entry.sha256,
        entry.employee_id,
        entry.kind,
        entry.version,
        entry.archived_at,
        deleted_at,
        rule,
    )


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _entry(data: dict) -> ManifestEntry:
    """Return a manifest entry from one parsed JSON line (KeyError/TypeError when malformed)."""
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    entry = ManifestEntry(**{name: data[name] for name in ManifestEntry.__dataclass_fields__})
    if not isinstance(entry.path, str) or not isinstance(entry.version, int):
        raise TypeError("path must be text and version a whole number")
    return entry


def archived_cycles(workspace: Workspace) -> list[int]:
    """Return the cycles that have an archive folder, oldest first."""
    root = workspace.output_dir / "archive"
    if not root.is_dir():
        return []
    return sorted(int(child.name) for child in root.iterdir() if child.name.isdigit())
