"""The workspace: its folders, its secret, and the per-cycle command locks."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import NotAWorkspace, SecretMissing, WorkspaceError
from pipeline.state.config import Config, load_config
from pipeline.state.files import (
    PRIVATE_FILE,
    ensure_private_dir,
    remove_stale_temp_files,
    write_private,
)

CONFIG_NAME = "samtale.toml"
SECRET_PATH = Path(".samtale") / "secret.key"


@dataclass(frozen=True)
class Workspace:
    """Folders of one workspace; every path may be overridden on the command line."""

    root: Path
    input_dir: Path
    templates_dir: Path
    output_dir: Path

    @classmethod
    def at(
        cls,
        root: str | os.PathLike = ".",
        *,
        input_dir: str | os.PathLike | None = None,
        templates_dir: str | os.PathLike | None = None,
        output_dir: str | os.PathLike | None = None,
    ) -> Workspace:
        """Return the workspace rooted at ``root`` with optional folder overrides."""
        base = Path(root).resolve()
        return cls(
            root=base,
            input_dir=Path(input_dir).resolve() if input_dir else base / "input",
            templates_dir=Path(templates_dir).resolve() if templates_dir else base / "templates",
            output_dir=Path(output_dir).resolve() if output_dir else base / "output",
        )

    @property
    def roster_path(self) -> Path:
        """Return the default roster workbook path."""
        return self.input_dir / "roster.xlsx"

    def private_output(self) -> Path:
        """Return ``output/``, created or tightened to owner-only (git checks it out open)."""
        return ensure_private_dir(self.output_dir)

    def cycle_dir(self, cycle: int) -> Path:
        """Return ``output/<cycle>/``, created private on first use."""
        return ensure_private_dir(self.private_output() / str(cycle))

    def forms_dir(self, cycle: int) -> Path:
        """Return the folder of generated forms for ``cycle``."""
        return ensure_private_dir(self.cycle_dir(cycle) / "forms")

    def ledger_path(self, cycle: int) -> Path:
        """Return the path of the cycle's SQLite ledger."""
        return self.cycle_dir(cycle) / "ledger.sqlite"

    def answers_path(self, cycle: int) -> Path:
        """Return the path of the cycle's answers workbook."""
        return self.cycle_dir(cycle) / "answers.xlsx"

    def archive_dir(self, cycle: int) -> Path:
        """Return ``output/archive/<cycle>/``."""
        return ensure_private_dir(self.private_output() / "archive" / str(cycle))

    def secret(self, *, create: bool = False, replace_lost: bool = False) -> bytes:
        """Return the workspace's HMAC secret; only ``create=True`` (generate) may make it."""
        # A new key is made silently only in a workspace that never issued a form. Where forms
        # were issued, a new key needs ``replace_lost`` (generate --new-key): the forms already
        # recorded in the ledgers stay recognised by their recorded identity.
        path = self.root / SECRET_PATH
        if path.exists():
            if replace_lost:
                raise WorkspaceError(
                    f"{path} is there, so the key is not lost: run generate without --new-key"
                )
            return read_secret(path)
        issued = self.issued_cycles()
        if not create or (issued and not replace_lost):
            raise SecretMissing(missing_secret_message(path, issued, create))
        ensure_private_dir(path.parent)
        key = secrets.token_bytes(32)
        write_private(path, key.hex().encode("ascii") + b"\n")
        return key

    def issued_cycles(self) -> list[int]:
        """Return the cycles whose forms were generated in this workspace (they have a ledger)."""
        if not self.output_dir.is_dir():
            return []
        return sorted(
            int(folder.name)
            for folder in self.output_dir.iterdir()
            if folder.name.isdigit() and (folder / "ledger.sqlite").is_file()
        )

    def config(self) -> Config:
        """Return the workspace config, or the defaults when there is no config file."""
        return load_config(self.root / CONFIG_NAME)

    @property
    def config_path(self) -> Path:
        """Return the path of the workspace config file."""
        return self.root / CONFIG_NAME

    def is_workspace(self) -> bool:
        """Return True when the root holds samtale.toml, or input/ and templates/ both exist."""
        # What marks a workspace: 'samtale init' makes all three; a folder set up by hand before
        # init existed (or with --input/--templates pointing elsewhere) has the two folders.
        return self.config_path.is_file() or (
            self.input_dir.is_dir() and self.templates_dir.is_dir()
        )

    def remove_stale_temp_files(self, started: float | None = None) -> list[Path]:
        """Return the half-written temporary files that killed runs left here, now removed."""
        folders = [(self.output_dir, True), (self.root / SECRET_PATH.parent, False)]
        folders += [(folder, False) for folder in (self.root, self.input_dir, self.templates_dir)]
        return remove_stale_temp_files(folders, started)

    def require(self) -> Workspace:
        """Return this workspace; raise NotAWorkspace (suggesting 'samtale init') if it is none."""
        if not self.is_workspace():
            raise NotAWorkspace(
                f"{self.root} is not a samtale workspace (it has no {CONFIG_NAME}, and no input/ "
                f"and templates/ folders). Make one with 'samtale init {self.root}' (or pass "
                "--workspace DIR, or run samtale from your workspace folder)"
            )
        return self


def missing_secret_message(path: Path, issued: list[int], creating: bool) -> str:
    """Return what to do about a missing key, for a workspace that did or did not issue forms."""
    if not issued:
        return (
            f"{path} is missing: without it no form of this workspace can be recognised. "
            "Restore it from your backup (or run samtale from the workspace that generated "
            "the forms); 'samtale generate' creates it for a new workspace"
        )
    cycles = ", ".join(str(c) for c in issued)
    return (
        f"{path} is missing, but this workspace already issued forms (cycle {cycles}). "
        + (
            "A new key now would make every form handed out look forged, so none was made. "
            if creating
            else ""
        )
        + "Restore it from your backup (see README, 'Backups'), then run the "
        "command again. Only if the key is truly lost: 'samtale generate --new-key' makes a new "
        "one; forms recorded in the ledger stay recognised, new forms carry the new key"
    )


def read_secret(path: Path) -> bytes:
    """Return the secret stored in ``path``; raise WorkspaceError when it is damaged."""
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{path}: the secret is damaged; restore it from backup") from exc
    if len(key) < 16:
        raise WorkspaceError(f"{path}: the secret is too short; restore it from backup")
    return key


def current_cycle() -> int:
    """Return the default cycle: the current calendar year."""
    return dt.date.today().year


@contextmanager
def cycle_lock(cycle_dir: Path, command: str) -> Iterator[None]:
    """Hold an exclusive lock on ``command`` for one cycle; raise if another run holds it."""
    if not cycle_dir.is_dir():  # nothing generated yet: the command itself will say so
        yield
        return
    path = cycle_dir / f".{command}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WorkspaceError(
                f"another 'samtale {command}' is running for {cycle_dir.name}; wait for it to "
                f"finish (if none is running, delete {path})"
            ) from exc
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def seal_certificate_path(workspace: Workspace, certificate: Path | None = None) -> Path | None:
    """Return the seal's file: ``certificate`` as given, else the config's (root-relative)."""
    if certificate:
        return Path(certificate)
    configured = workspace.config().seal_certificate
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() else workspace.root / path
