"""How samtale writes files: owner-only, atomic, never overwriting silently."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.errors import WorkspaceError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
TEMP_PREFIX = ".tmp-"  # write_private's temporary files: .tmp-<process id>-<random>
# Our temporary files and work folders, with the id of the process that made them when known.
TEMP_NAME = re.compile(r"^\.(?:tmp|finalize|answers|schedule)-(?:(\d+)-)?")
UNKNOWN_OWNER_AGE = 3600  # seconds: a temporary file without a process id is surely stale then


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
    # ``durable=False`` skips the fsync: for work files nobody needs after a crash, and for
    # batches whose caller flushes the files itself (``sync_files``) before relying on them.
    ensure_private_dir(path.parent)
    if path.exists() and not overwrite:
        raise WorkspaceError(
            f"{path} already exists; refusing to overwrite it. Move it aside if it is not needed"
        )
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), dir=path.parent)
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


def copy_private(source: Path, target: Path) -> Path:
    """Return ``target`` after copying ``source`` there byte for byte, owner-only, its time kept."""
    # Whatever the source's permissions (a form restored from a backup may be open to all),
    # the copy is owner-only from its first byte; like ``write_private`` it never overwrites.
    times = source.stat()
    write_private(target, source.read_bytes())
    os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))
    return target


def open_private_log(path: Path):
    """Return ``path`` opened for writing (binary, emptied first), created owner-only."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb")


def sync_files(paths: Iterable[Path | str], threads: int = 4) -> None:
    """Flush to disk the bytes of files written without a flush (by worker processes)."""
    # Workers write a batch's copies unflushed and go on with the next file; the main process
    # flushes them here, several at a time (waiting on the disk, not on a core), before the
    # ledger says they exist.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(_sync_file, paths))


def _sync_file(path: Path | str) -> None:
    """Flush one file's bytes to disk (a file gone meanwhile needs nothing)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def sync_folders(folders: Iterable[Path | str]) -> None:
    """Flush the names just made in each folder to disk (POSIX; elsewhere nothing to do)."""
    # write_private flushes a file's bytes; its name lives in the folder, which needs its own
    # fsync before a ledger row may say the file exists. Cheaper than os.sync(), which flushes
    # every program's writes on the machine.
    for folder in sorted(set(folders)):
        try:
            handle = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(handle)
        except OSError:
            pass  # a platform or file system that cannot sync folders
        finally:
            os.close(handle)


def unique_path(path: Path) -> Path:
    """Return ``path`` or, when it exists, the first free ``name-2.ext``, ``name-3.ext`` …."""
    if not path.exists():
        return path
    for n in range(2, 100_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise WorkspaceError(f"{path.parent}: too many versions of {path.name}")


def temp_prefix(kind: str = TEMP_PREFIX) -> str:
    """Return the name prefix of this process's temporary files, such as '.tmp-4711-'."""
    return f"{kind}{os.getpid()}-"


def is_temp_name(name: str, is_dir: bool) -> bool:
    """Return True for the name of a temporary file (or work folder) samtale makes."""
    if is_dir:
        return name.startswith(".finalize-")
    if name.startswith(TEMP_PREFIX):
        return True
    return name.startswith((".answers-", ".schedule-")) and name.endswith(".tmp")


def process_alive(pid: int) -> bool:
    """Return True when a process with this id is running (or may be: not ours to signal)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(name: str, modified: float, started: float) -> bool:
    """Return True when a temporary file is left over: older than this run and its maker gone."""
    if modified >= started:
        return False  # made during this run (or by a run that started after it)
    match = TEMP_NAME.match(name)
    if match and match.group(1):
        return not process_alive(int(match.group(1)))
    return modified < started - UNKNOWN_OWNER_AGE  # an older name without the process id


def remove_stale_temp_files(
    folders: Iterable[tuple[Path, bool]], started: float | None = None
) -> list[Path]:
    """Return the temporary files a killed run left in ``folders`` (path, recursive), removed."""
    # A run killed mid-write (SIGKILL, power cut) cannot clean up after itself; the next run
    # does, but only for our own names whose process is gone, never a file another run writes.
    started = time.time() if started is None else started
    removed = []
    for folder, recursive in folders:
        for path, is_dir in _temp_candidates(folder, recursive):
            try:
                if not is_stale(path.name, path.lstat().st_mtime, started):
                    continue
                if is_dir:
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError:
                continue  # gone meanwhile, or not ours to remove: left as it is
            removed.append(path)
    return removed


def _temp_candidates(folder: Path, recursive: bool) -> Iterable[tuple[Path, bool]]:
    """Yield (path, is a folder) for every name in ``folder`` that looks like our temporary."""
    if not folder.is_dir():
        return
    for top, dirs, names in os.walk(folder):
        base = Path(top)
        for name in names:
            if is_temp_name(name, False):
                yield base / name, False
        for name in list(dirs):
            if is_temp_name(name, True):
                dirs.remove(name)  # removed whole, not walked into
                yield base / name, True
        if not recursive:
            return
