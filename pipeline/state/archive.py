"""The archive of sealed minutes (``output/archive/<cycle>/``), its manifest, and ``verify``.

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
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from pipeline.domain.names import safe_stem
from pipeline.errors import ArchiveError, NothingToVerify, SealError, VerifyError, WorkspaceError
from pipeline.formats.seal import Seal, check_seal, is_pkcs12
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir, write_private
from pipeline.state.ledger import now_iso
from pipeline.state.workspace import Workspace

try:  # POSIX: one finalize at a time per archive; elsewhere the never-overwrite rule still holds
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = "manifest.jsonl"
MINUTES = "minutes"
FOLLOWUPS = "followups"
SUFFIXES = {MINUTES: ".pdf", FOLLOWUPS: ".ics"}
STEMS = {MINUTES: "referat", FOLLOWUPS: "followups"}
VERSIONED = re.compile(r"^(?P<stem>[a-z]+)_(?P<cycle>\d{4})_v(?P<version>\d+)\.(pdf|ics)$")
CERTIFICATE_SUFFIX = ".crt"
STALE_CERT_FIX = (
    "if the seal certificate was renewed, move the old .crt aside (keep it to check older "
    "archives with `verify`); otherwise set [seal] certificate back to the certificate it holds"
)
CERT_OPTION_FIX = "pass --cert path/to/seal.crt (the seal's public certificate, PEM or DER)"
NOT_CONFIGURED = "certificate not configured: checked against the manifest"


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


class Archive:
    """One cycle's archive folder and its append-only manifest."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.manifest_path = self.folder / MANIFEST
        self._entries: list[ManifestEntry] | None = None  # cache; dropped when the lock is taken

    @classmethod
    def of(cls, workspace: Workspace, cycle: int) -> Archive:
        """Return the archive of ``cycle``, its folder created private on first use."""
        return cls(workspace.archive_dir(cycle))

    # -- reading ---------------------------------------------------------------------------------

    def entries(self) -> list[ManifestEntry]:
        """Return every manifest entry; raise ``ArchiveError`` for a damaged manifest."""
        if self._entries is None:
            entries, problems = self.read_manifest()
            if problems:
                raise ArchiveError(
                    f"{self.manifest_path}: {problems[0]}. Fix: restore the manifest from "
                    "backup; `samtale verify` lists every damaged line"
                )
            self._entries = entries
        return list(self._entries)

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
            return [], [], [f"the manifest cannot be read ({exc})"]
        entries, deleted, problems = [], [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if isinstance(data, dict) and "deleted_at" in data:
                    deleted.append(_deleted(data))
                else:
                    entries.append(_entry(data))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"line {number} of the manifest is damaged ({exc})")
        return entries, deleted, problems

    def deleted(self) -> list[DeletedEntry]:
        """Return the deletion records of the manifest."""
        return self.read_lines()[1]

    def entry_for(self, employee_id: str, kind: str, source_sha256: str) -> ManifestEntry | None:
        """Return the newest entry of ``kind`` made from the returned file ``source_sha256``."""
        found = [
            e
            for e in self.entries()
            if (e.employee_id, e.kind, e.source_sha256) == (employee_id, kind, source_sha256)
        ]
        return max(found, key=lambda e: e.version) if found else None

    def latest(self, employee_id: str, kind: str) -> ManifestEntry | None:
        """Return the employee's newest archived file of ``kind``, or None."""
        found = [e for e in self.entries() if (e.employee_id, e.kind) == (employee_id, kind)]
        return max(found, key=lambda e: e.version) if found else None

    # -- layout ----------------------------------------------------------------------------------

    def employee_folder(self, employee_id: str, name: str) -> str:
        """Return the employee's folder (relative): the one already used, else ``<id>_<name>``."""
        for entry in self.entries():
            if entry.employee_id == employee_id:
                return entry.path.rsplit("/", 1)[0]
        return f"{safe_stem(employee_id, 20)}_{safe_stem(name, 60)}"

    def next_version(self, employee_id: str, folder: str) -> int:
        """Return the next minutes version: above every version in the manifest and on disk."""
        versions = [e.version for e in self.entries() if e.employee_id == employee_id]
        versions += [d.version for d in self.deleted() if d.employee_id == employee_id]
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
            self._entries = None  # another run may have added entries meanwhile
            yield
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
        if self._entries is not None:
            self._entries.append(entry)

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
                if path.is_file() and _file_sha256(path) == sha256:
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
        self._entries = None

    def resolve(self, relative: str) -> Path:
        """Return the absolute path of a manifest path; raise ``ArchiveError`` if it leaves us."""
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder.resolve()) or path == self.folder.resolve():
            raise ArchiveError(f"{relative!r} points outside the archive folder {self.folder}")
        return path


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


def _file_sha256(path: Path) -> str:
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


# --- the configured certificate ----------------------------------------------------------------


def public_certificate_path(p12_path: Path) -> Path:
    """Return where the public certificate of a PKCS#12 seal lives: ``seal.p12`` → ``seal.crt``."""
    return Path(p12_path).with_suffix(CERTIFICATE_SUFFIX)


def write_public_certificate(seal: Seal, p12_path: Path) -> Path:
    """Return the ``.crt`` beside ``p12_path`` after writing the seal's certificate when missing."""
    # An existing ``.crt`` holding another certificate raises ``SealError``: ``verify`` would
    # otherwise reject every PDF sealed from now on, or accept a certificate no longer configured.
    path = public_certificate_path(p12_path)
    der = seal.signer.signing_cert.dump()
    if path.exists():
        found = certificate_sha256(path)
        if found != seal.certificate_sha256:
            raise SealError(
                f"{path} holds another certificate (SHA-256 {found[:16]}…) than the seal "
                f"{p12_path} (SHA-256 {seal.certificate_sha256[:16]}…); {STALE_CERT_FIX}"
            )
        return path
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return write_private(path, pem)


def certificate_sha256(path: Path) -> str:
    """Return the SHA-256 fingerprint of the certificate in a PEM or DER file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SealError(f"{path}: cannot read the public certificate ({exc.strerror})") from exc
    fingerprint = fingerprint_of(data)
    if fingerprint is None:
        raise SealError(
            f"{path}: not a certificate (PEM or DER); delete it and run finalize again to "
            "write it from the seal"
        )
    return fingerprint


def fingerprint_of(data: bytes) -> str | None:
    """Return the SHA-256 fingerprint of a PEM or DER certificate, or None if it is not one."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        return None
    return certificate.fingerprint(hashes.SHA256()).hex()


def configured_certificate_sha256(
    workspace: Workspace, certificate: Path | None = None
) -> str | None:
    """Return the fingerprint every seal must match; None only when no certificate is configured."""
    # The certificate is ``certificate`` (the ``--cert`` option) or else ``[seal] certificate`` in
    # samtale.toml (see ``resolve_certificate_sha256``); one that cannot be resolved raises
    # ``VerifyError``. The one exception is a configured (not given) certificate in a workspace
    # with no manifest yet: no file can pass ``verify`` there, so the certificate is not needed.
    path = seal_certificate_path(workspace, certificate)
    if path is None:
        return None
    try:
        return resolve_certificate_sha256(path)
    except VerifyError:
        if certificate is None and not has_manifest(workspace):
            return None
        raise


def resolve_certificate_sha256(path: Path) -> str:
    """Return the fingerprint of the seal certificate at ``path``; raise ``VerifyError``."""
    # A PEM or DER certificate is read directly; a PKCS#12 seal (its certificate is behind its
    # password) stands for the public certificate ``<seal>.crt`` beside it.
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        raise VerifyError(
            f"{path}: cannot read the seal certificate ({exc.strerror}). Fix: make it "
            f"readable, or {CERT_OPTION_FIX}"
        ) from exc
    if data is not None:
        fingerprint = fingerprint_of(data)
        if fingerprint is not None:
            return fingerprint
        if not is_pkcs12(data):
            raise VerifyError(
                f"{path}: neither a certificate (PEM or DER) nor a PKCS#12 seal. Fix: "
                f"{CERT_OPTION_FIX}"
            )
    crt = public_certificate_path(path)
    if crt != path and crt.is_file():
        try:
            return certificate_sha256(crt)
        except SealError as exc:
            raise VerifyError(f"{exc}, or {CERT_OPTION_FIX}") from exc
    raise unresolved(path, crt, found=data is not None)


def unresolved(path: Path, crt: Path, *, found: bool) -> VerifyError:
    """Return the error for a seal certificate that cannot be resolved, with the fix."""
    if found:
        return VerifyError(
            f"{path}: this PKCS#12 seal has no public certificate {crt.name} beside it, so "
            "verify cannot tell which certificate the PDFs must carry. Fix: export the public "
            f"certificate as {crt.name} (finalize writes it when it seals), or {CERT_OPTION_FIX}"
        )
    nor = f", nor its public certificate {crt.name}" if crt != path else ""
    return VerifyError(
        f"{path}: the seal certificate is not there{nor}. Fix: correct the path, or export the "
        f"public certificate as {crt.name}, or {CERT_OPTION_FIX}"
    )


def has_manifest(workspace: Workspace) -> bool:
    """Return True when some cycle of the workspace has an archive manifest."""
    root = workspace.output_dir / "archive"
    return any((root / str(cycle) / MANIFEST).exists() for cycle in archived_cycles(workspace))


def seal_certificate_path(workspace: Workspace, certificate: Path | None = None) -> Path | None:
    """Return the seal's file: ``certificate`` as given, else the config's (root-relative)."""
    if certificate:
        return Path(certificate)
    configured = workspace.config().seal_certificate
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() else workspace.root / path


# --- verify ------------------------------------------------------------------------------------


def verify_archive(
    workspace: Workspace,
    cycle: int | None = None,
    paths: Iterable[Path] | None = None,
    *,
    expected_certificate_sha256: str | None = None,
) -> list[VerifyResult]:
    """Return one result per archived file of ``cycle`` (every cycle when None), or per path."""
    # A PDF passes when its seal is valid, covers the whole file and was made with the expected
    # certificate (``expected_certificate_sha256``, else the one its manifest line records), and
    # its SHA-256 equals the manifest's. Manifest lines whose file is missing and files in the
    # archive the manifest does not list are failures too.
    if paths:
        return verify_paths(workspace, paths, expected_certificate_sha256)
    cycles = [cycle] if cycle is not None else archived_cycles(workspace)
    results: list[VerifyResult] = []
    for number in cycles:
        folder = workspace.output_dir / "archive" / str(number)
        results += verify_folder(Archive(folder), expected_certificate_sha256)
    return results


def archived_cycles(workspace: Workspace) -> list[int]:
    """Return the cycles that have an archive folder, oldest first."""
    root = workspace.output_dir / "archive"
    if not root.is_dir():
        return []
    return sorted(int(child.name) for child in root.iterdir() if child.name.isdigit())


def verify_folder(archive: Archive, expected: str | None) -> list[VerifyResult]:
    """Return the results for every file of one archive folder and its manifest."""
    if not archive.folder.is_dir():
        return []
    entries, deleted, damaged = archive.read_lines()
    results = [VerifyResult(archive.manifest_path, False, [problem]) for problem in damaged]
    if deleted and not damaged:
        note = (
            f"records {len(deleted)} deleted file(s): SHA-256, when, and by which rule "
            "(see output/deletions.jsonl)"
        )
        results.append(VerifyResult(archive.manifest_path, True, [], note=note))
    seen: set[str] = set()
    for entry in entries:
        if entry.path in seen:
            path = archive.folder / entry.path
            results.append(VerifyResult(path, False, ["the manifest lists this file twice"]))
            continue
        seen.add(entry.path)
        results.append(verify_entry(archive, entry, expected))
    results += unlisted_files(archive, seen, {d.sha256: d for d in deleted})
    return results


def verify_entry(archive: Archive, entry: ManifestEntry, expected: str | None) -> VerifyResult:
    """Return the result for one manifest entry: file present, hash equal, seal good."""
    try:
        path = archive.resolve(entry.path)
    except ArchiveError as exc:
        return VerifyResult(archive.folder / entry.path, False, [str(exc)])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return VerifyResult(path, False, ["missing: the manifest lists it but the file is gone"])
    except OSError as exc:
        return VerifyResult(path, False, [f"cannot be read ({exc.strerror})"])
    return check_file(path, data, entry, expected)


def check_file(
    path: Path, data: bytes, entry: ManifestEntry | None, expected: str | None
) -> VerifyResult:
    """Return the result of checking one file's bytes against its manifest entry and seal."""
    problems = []
    sha = hashlib.sha256(data).hexdigest()
    if entry is None:
        problems.append(f"not in the archive's manifest (SHA-256 {sha[:16]}…)")
    elif sha != entry.sha256:
        problems.append(
            f"its SHA-256 ({sha[:16]}…) differs from the manifest's ({entry.sha256[:16]}…)"
        )
    if path.suffix.lower() != ".pdf":
        return VerifyResult(path, not problems, problems)
    recorded = entry.certificate_sha256 if entry else ""
    check = check_seal(data, expected_certificate_sha256=expected or recorded or None)
    problems += check.problems
    if expected and recorded and check.certificate_sha256 not in ("", recorded):
        problems.append(
            f"sealed with another certificate (SHA-256 {check.certificate_sha256[:16]}…) than "
            f"the manifest records ({recorded[:16]}…)"
        )
    note = ""
    if not expected and entry is not None:
        note = NOT_CONFIGURED
        if not recorded:
            problems.append(
                "the manifest records no seal certificate for it and none is configured: "
                f"nothing says who may have sealed it. Fix: {CERT_OPTION_FIX}"
            )
    return VerifyResult(path, not problems, problems, check.subject, check.signed_at, note)


def unlisted_files(
    archive: Archive, listed: set[str], deleted: dict[str, DeletedEntry] | None = None
) -> list[VerifyResult]:
    """Return a failure for every file in the archive folder that the manifest does not list."""
    results = []
    for path in sorted(archive.folder.rglob("*")):
        relative = path.relative_to(archive.folder).as_posix()
        if not path.is_file() or path == archive.manifest_path or relative in listed:
            continue
        if any(part.startswith(".") for part in path.relative_to(archive.folder).parts):
            continue  # the lock file, and temporary files of an interrupted write
        record = (deleted or {}).get(_file_sha256(path)) if deleted else None
        problem = "not in the manifest: it was not archived by finalize"
        if record is not None:
            problem = (
                f"deleted on {record.deleted_at[:10]} by the rule {record.rule!r} but still "
                "here: run the same command with --apply again to finish deleting it"
            )
        results.append(VerifyResult(path, False, [problem]))
    return results


def verify_paths(
    workspace: Workspace, paths: Iterable[Path], expected: str | None
) -> list[VerifyResult]:
    """Return one result per given file (folders: every PDF in them), found in any manifest."""
    # A file inside an archive folder is matched by its place; a copy elsewhere by its SHA-256.
    by_path: dict[Path, ManifestEntry] = {}
    by_sha: dict[str, ManifestEntry] = {}
    damaged: list[VerifyResult] = []
    for number in archived_cycles(workspace):
        archive = Archive(workspace.output_dir / "archive" / str(number))
        entries, problems = archive.read_manifest()
        damaged += [VerifyResult(archive.manifest_path, False, [p]) for p in problems]
        for entry in entries:
            with contextlib.suppress(ArchiveError):
                by_path[archive.resolve(entry.path)] = entry
            by_sha.setdefault(entry.sha256, entry)
    results = damaged
    for path in expand(paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            results.append(VerifyResult(path, False, [f"cannot be read ({exc.strerror})"]))
            continue
        entry = by_path.get(path.resolve())
        if entry is None:
            entry = by_sha.get(hashlib.sha256(data).hexdigest())
        results.append(check_file(path, data, entry, expected))
    return results


def expand(paths: Iterable[Path]) -> list[Path]:
    """Return the given files, with every folder replaced by the PDFs inside it."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.pdf") if p.is_file())
        else:
            found.append(path)
    return found


def verify_cycle(
    workspace: Workspace, cycle: int | None = None, paths=(), *, certificate: Path | None = None
) -> list[VerifyResult]:
    """Return one result per archived file of ``cycle`` (or per path); raise when there is none."""
    expected = configured_certificate_sha256(workspace, certificate)
    results = verify_archive(
        workspace,
        None if paths else cycle,
        list(paths) or None,
        expected_certificate_sha256=expected,
    )
    if not results:
        raise NothingToVerify(f"nothing archived for cycle {cycle}; run 'samtale finalize' first")
    return results
