"""The workspace: its folders, its config file, its secret, and how we write files in it."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError, WorkspaceError

CONFIG_NAME = "samtale.toml"
SECRET_PATH = Path(".samtale") / "secret.key"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
FORM_KINDS = ("employee", "manager")
ALL_FORM_KINDS = ("employee", "manager", "minutes")
LANGUAGES = ("nb", "en")


@dataclass(frozen=True)
class MailConfig:
    """Sender, reply-to, deadline and HR contact used in emails."""

    sender_name: str = "HR"
    sender_address: str = "hr@example.invalid"
    reply_to: str = ""
    deadline: str = ""
    hr_contact: str = ""
    rate_per_second: float = 5.0


@dataclass(frozen=True)
class Config:
    """The workspace config file (``samtale.toml``), with defaults for what it leaves out."""

    organisation: str = "Organisasjonen"
    mail: MailConfig = field(default_factory=MailConfig)
    seal_certificate: str = ""
    seal_subject: str = ""


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

    def cycle_dir(self, cycle: int) -> Path:
        """Return ``output/<cycle>/``, created private on first use."""
        return ensure_private_dir(self.output_dir / str(cycle))

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
        return ensure_private_dir(self.output_dir / "archive" / str(cycle))

    def secret(self, *, create: bool = False) -> bytes:
        """Return the workspace's HMAC secret; only ``create=True`` (generate) may make it."""
        path = self.root / SECRET_PATH
        if path.exists():
            return read_secret(path)
        if not create:
            raise WorkspaceError(
                f"{path} is missing: without it no form of this workspace can be recognised. "
                "Restore it from your backup (or run samtale from the workspace that generated "
                "the forms); 'samtale generate' creates it for a new workspace"
            )
        ensure_private_dir(path.parent)
        key = secrets.token_bytes(32)
        write_private(path, key.hex().encode("ascii") + b"\n")
        return key

    def config(self) -> Config:
        """Return the workspace config, or the defaults when there is no config file."""
        return load_config(self.root / CONFIG_NAME)


def read_secret(path: Path) -> bytes:
    """Return the secret stored in ``path``; raise WorkspaceError when it is damaged."""
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{path}: the secret is damaged; restore it from backup") from exc
    if len(key) < 16:
        raise WorkspaceError(f"{path}: the secret is too short; restore it from backup")
    return key


CONFIG_TABLES = {  # table -> {key: accepted types}
    "organisation": {"name": (str,)},
    "mail": {
        "sender_name": (str,),
        "sender_address": (str,),
        "reply_to": (str,),
        "deadline": (str, dt.date),
        "hr_contact": (str,),
        "rate_per_second": (int, float),
    },
    "seal": {"certificate": (str,), "subject": (str,)},
}


def load_config(path: Path) -> Config:
    """Return the config read from ``path`` (defaults when the file is missing)."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the line it names.") from exc
    check_config(path, data)
    mail = dict(data.get("mail", {}))
    seal = data.get("seal", {})
    if isinstance(mail.get("deadline"), dt.date):
        mail["deadline"] = mail["deadline"].isoformat()
    if "rate_per_second" in mail:
        mail["rate_per_second"] = float(mail["rate_per_second"])
    return Config(
        organisation=data.get("organisation", {}).get("name", Config.organisation),
        mail=MailConfig(**mail),
        seal_certificate=seal.get("certificate", ""),
        seal_subject=seal.get("subject", ""),
    )


def check_config(path: Path, data: dict) -> None:
    """Raise ConfigError naming the first key that is unknown or has the wrong type."""
    for table, value in data.items():
        if table not in CONFIG_TABLES:
            raise ConfigError(
                f"{path}: unknown setting {table!r}. Use the tables "
                + ", ".join(f"[{t}]" for t in CONFIG_TABLES)
                + " (e.g. [organisation] then name = ...)"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {table!r} must be a table: write [{table}] on its own line")
        for key, item in value.items():
            kinds = CONFIG_TABLES[table].get(key)
            if kinds is None:
                known = ", ".join(CONFIG_TABLES[table])
                raise ConfigError(f"{path}: unknown key {key!r} in [{table}]. Known: {known}")
            if not isinstance(item, kinds) or isinstance(item, bool):
                wanted = " or ".join("a date" if k is dt.date else k.__name__ for k in kinds)
                raise ConfigError(f"{path}: [{table}] {key} must be {wanted}, not {item!r}")
    rate = data.get("mail", {}).get("rate_per_second", 1)
    if rate <= 0:
        raise ConfigError(f"{path}: [mail] rate_per_second must be above 0, e.g. 2")


def current_cycle() -> int:
    """Return the default cycle: the current calendar year."""
    return dt.date.today().year


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
