"""How samtale writes files: owner-only, atomic, never overwriting silently."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipeline.errors import WorkspaceError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Return ``path`` after creating it (and missing parents) or tightening it to owner-only."""
    if not path.is_dir():
        missing = [path, *(p for p in path.parents if not p.exists())]
        for folder in reversed(missing):
            folder.mkdir(exist_ok=True, mode=PRIVATE_DIR)
            os.chmod(folder, PRIVATE_DIR)
    elif path.stat().st_mode & 0o077:  # e.g. restored from a backup with open permissions
        os.chmod(path, PRIVATE_DIR)
    return path


def write_private(
    path: Path, data: bytes, *, overwrite: bool = False, durable: bool = True
) -> Path:
    """Return ``path`` after writing ``data`` atomically, owner-only, never overwriting silently."""
    # The bytes go to a temporary file in the same folder which is then renamed, so a crash never
    # leaves half a file. Without ``overwrite`` an existing file raises ``WorkspaceError``.
    # ``durable=False`` skips the per-file fsync for batches that call ``os.sync()`` once.
    ensure_private_dir(path.parent)
    if path.exists() and not overwrite:
        raise WorkspaceError(
            f"{path} already exists; refusing to overwrite it. Move it aside if it is not needed"
        )
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, PRIVATE_FILE)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path appeared meanwhile: no silent overwrite
            os.unlink(tmp)
    except FileExistsError as exc:
        os.unlink(tmp)
        raise WorkspaceError(
            f"{path} already exists; refusing to overwrite it. Move it aside if it is not needed"
        ) from exc
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def unique_path(path: Path) -> Path:
    """Return ``path`` or, when it exists, the first free ``name-2.ext``, ``name-3.ext`` …."""
    if not path.exists():
        return path
    for n in range(2, 100_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise WorkspaceError(f"{path.parent}: too many versions of {path.name}")
