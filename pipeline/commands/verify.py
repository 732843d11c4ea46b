"""``samtale verify``: every archived PDF sealed over the whole file, by the right seal."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path

from pipeline.domain.pools import parallel_map
from pipeline.errors import ArchiveError, NothingToVerify, VerifyError
from pipeline.formats.certificate import CERT_OPTION_FIX, resolve_certificate_sha256
from pipeline.formats.seal import check_seal
from pipeline.state.archive import (
    MANIFEST,
    Archive,
    DeletedEntry,
    ManifestEntry,
    VerifyResult,
    archived_cycles,
    file_sha256,
)
from pipeline.state.workspace import Workspace, seal_certificate_path

NOT_CONFIGURED = "certificate not configured: checked against the manifest"


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


def has_manifest(workspace: Workspace) -> bool:
    """Return True when some cycle of the workspace has an archive manifest."""
    root = workspace.output_dir / "archive"
    return any((root / str(cycle) / MANIFEST).exists() for cycle in archived_cycles(workspace))


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
    listed: list[ManifestEntry | VerifyResult] = []
    for entry in entries:
        if entry.path in seen:
            path = archive.folder / entry.path
            listed.append(VerifyResult(path, False, ["the manifest lists this file twice"]))
            continue
        seen.add(entry.path)
        listed.append(entry)
    results += parallel_map(verify_listed, (archive.folder, expected), listed)  # all cores
    results += unlisted_files(archive, seen, {d.sha256: d for d in deleted})
    return results


def verify_listed(settings: tuple[Path, str | None], listed) -> VerifyResult:
    """Return the result for one manifest entry (or the finding already made about it)."""
    if isinstance(listed, VerifyResult):
        return listed
    folder, expected = settings
    return verify_entry(Archive(folder), listed, expected)


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
        record = (deleted or {}).get(file_sha256(path)) if deleted else None
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
