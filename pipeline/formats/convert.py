"""LibreOffice conversions: .docx to PDF (optionally PDF/A-2b) and .docx re-saved by Writer.

A ``ConverterPool`` keeps one warm headless LibreOffice per worker, each with its own throw-away
profile, and drives it over UNO through ``_uno_worker.py`` running under a Python that has the
UNO bridge (Debian: ``/usr/bin/python3`` with ``python3-uno``). Without such a Python the pool
falls back to one ``soffice --convert-to`` process per document (still parallel, still timed).

Every document gets a timeout. A converter that hangs or dies is killed (its whole process
group), started again with a fresh profile, and the document is tried once more before it is
reported. Converters run in process groups of their own, so Ctrl-C reaches only us; ``close()``,
leaving the ``with`` block, interpreter exit and the death of our process all stop them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConversionError, ConversionTimeout, LibreOfficeMissing, WorkspaceError
from pipeline.state.files import PRIVATE_DIR, open_private_log, write_private

TARGET_FILTERS = {".pdf": "writer_pdf_Export", ".docx": "MS Word 2007 XML"}
TARGET_EXTENSIONS = {".pdf": "pdf", ".docx": "docx"}
SOURCE_FILTERS = {
    ".docx": "MS Word 2007 XML",
    ".doc": "MS Word 97",
    ".odt": "writer8",
    ".rtf": "Rich Text Format",
}
PDFA_OPTIONS = {"SelectPdfVersion": 2}  # 2 = PDF/A-2b
MAX_ATTEMPTS = 2
STARTUP_TIMEOUT = 60.0
RECYCLE_AFTER = 500  # conversions per warm converter before it is replaced (memory growth)
KNOWN_LOCATIONS = (
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice*/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)
UNO_PYTHONS = ("/usr/bin/python3",)
WORKER_SCRIPT = Path(__file__).with_name("_uno_worker.py")
INSTALL_HINT = (
    "install LibreOffice Writer and its Python bridge "
    "(Debian/Ubuntu: apt-get install libreoffice-writer-nogui python3-uno), "
    "or run `make demo` as root, or set SAMTALE_SOFFICE to the soffice program"
)
LOG_TAIL = 600
# LibreOffice puts its named pipes here whatever TMPDIR says; we only unlink our own names there.
PIPE_FOLDERS = ("/tmp", "/var/tmp")  # noqa: S108

_pool_numbers = itertools.count(1)


def find_soffice(search_path: str | None = None) -> str:
    """Return the path of the soffice program; raise ``LibreOfficeMissing`` when there is none."""
    # SAMTALE_SOFFICE wins; then soffice/libreoffice on search_path (default: PATH); then the
    # usual install folders (only when search_path is not given).
    chosen = os.environ.get("SAMTALE_SOFFICE", "")
    if chosen:
        if os.access(chosen, os.X_OK):
            return chosen
        raise LibreOfficeMissing(f"SAMTALE_SOFFICE={chosen} is not a program; {INSTALL_HINT}")
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name, path=search_path)
        if found:
            return found
    if search_path is None:
        for pattern in KNOWN_LOCATIONS:
            for candidate in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
                if os.access(candidate, os.X_OK):
                    return str(candidate)
    raise LibreOfficeMissing(f"LibreOffice (soffice) was not found; {INSTALL_HINT}")


@functools.lru_cache(maxsize=8)
def find_uno_python(soffice: str) -> str | None:
    """Return a Python program that can ``import uno`` for this soffice, or None."""
    chosen = os.environ.get("SAMTALE_UNO_PYTHON")
    bundled = Path(soffice).resolve().parent / "python"  # LibreOffice's own builds ship one
    candidates = [chosen] if chosen is not None else [*UNO_PYTHONS, str(bundled)]
    for python in filter(None, candidates):
        if not os.access(python, os.X_OK):
            continue
        try:
            probe = subprocess.run(
                [python, *_python_flags(python), "-c", "import uno"],
                capture_output=True,
                timeout=30,
                env=_worker_env(),
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return python
    return None


@dataclass(frozen=True)
class Conversion:
    """The outcome of converting one document; ``mode`` is "uno" (warm pool) or "cli"."""

    source: Path
    target: Path | None
    ok: bool
    error: str
    attempts: int
    seconds: float
    mode: str = "uno"


@dataclass(frozen=True)
class _Job:
    """One document to convert, checked and ready for a converter."""

    source: Path
    given: Path
    target: Path
    filter: str
    in_filter: str
    options: dict
    overwrite: bool


class _Failure(Exception):
    """One attempt failed; ``timed_out`` and ``lost`` (converter gone) say how."""

    def __init__(self, error: str, *, timed_out: bool = False, lost: bool = False):
        super().__init__(error)
        self.error = error
        self.timed_out = timed_out
        self.lost = lost


class _Closed(Exception):
    """The pool was closed while a document waited or ran."""


class _State:
    """What the converters of one pool share: its private folder, its tag, whether it closed."""

    def __init__(self, soffice: str, root: Path):
        self.soffice = soffice
        self.root = root
        self.tag = root.name
        self.closed = False
        self.owner = os.getpid()  # a forked child must not stop its parent's converters
        self.lock = threading.Lock()


def _cpu_count() -> int:
    """Return the number of CPUs this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _python_flags(python: str) -> list[str]:
    """Return the flags that keep a system Python away from our venv and user site."""
    return ["-I"] if python.startswith("/usr/") else []


def _worker_env() -> dict[str, str]:
    """Return our environment without what points a foreign Python at our venv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def _process_has_tag(pid: int, tag: str) -> bool:
    """Return whether process ``pid`` still runs with ``tag`` in its command line."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self").exists():
        return True  # no /proc (macOS): trust the pid
    try:
        return tag.encode() in cmdline.read_bytes()
    except OSError:
        return False


def _kill_group(pgid: int | None, tag: str) -> None:
    """Send SIGKILL to process group ``pgid`` if its leader is still one of ours."""
    if pgid and _process_has_tag(pgid, tag):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def single_instance_pipe(profile: Path) -> str:
    """Return the name of the pipe soffice opens for its profile (MD5 of the profile URL)."""
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le"), usedforsecurity=False).digest()
    return "SingleOfficeIPC_" + "".join(format(byte, "x") for byte in digest)


def _remove_pipes(names: Iterable[str]) -> None:
    """Remove the pipe files a killed soffice left behind (a clean exit removes them itself)."""
    uid = os.getuid()
    for folder in PIPE_FOLDERS:
        for name in names:
            with contextlib.suppress(OSError):
                Path(folder, f"OSL_PIPE_{uid}_{name}").unlink()


def _soffice_env(home: Path) -> dict[str, str]:
    """Return the environment for a soffice whose temporary files belong in ``home``."""
    return {**_worker_env(), "TMPDIR": str(home)}


def _kill_leftovers(home: Path) -> None:
    """SIGKILL every process still running with ``home`` in its command line (Linux /proc)."""
    markers = (f"{home}/".encode(), f"--home={home}\0".encode())
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if any(marker in cmdline for marker in markers):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)


def _read_tail(path: Path) -> str:
    """Return the last lines of a converter log, or "" when there is none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " ".join(text[-LOG_TAIL:].split())


def new_home(root: Path, name: str) -> Path:
    """Return a converter's new private folder ``root/name`` with its ``out`` folder."""
    # A converter's worker removes the pool's folder when it leaves it empty (it tidies up after
    # its soffice died, in case nobody else is left to): a converter started again in that
    # moment makes the pool's folder anew.
    home = root / name
    try:
        home.mkdir(mode=PRIVATE_DIR)
    except FileNotFoundError:
        root.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        home.mkdir(mode=PRIVATE_DIR)
    (home / "out").mkdir(mode=PRIVATE_DIR)
    return home


class _UnoConverter:
    """One warm soffice driven by ``_uno_worker.py``; restarted with a fresh profile when lost."""

    mode = "uno"

    def __init__(self, state: _State, index: int, python: str):
        self.state = state
        self.index = index
        self.python = python
        self.generation = 0
        self.process: subprocess.Popen | None = None
        self.soffice_pgid: int | None = None
        self.ready = False
        self.home: Path | None = None
        self.pipe = ""
        self.log: Path | None = None
        self.buffer = b""
        self.served = 0
        self.requests = itertools.count(1)
        self.lock = threading.Lock()

    def launch(self) -> None:
        """Start the worker and its soffice (no waiting); it builds a fresh profile."""
        with self.lock:
            if self.state.closed:
                raise _Closed
            if self.process is not None:
                return
            self.generation += 1
            name = f"{self.state.tag}_w{self.index}_{self.generation}"
            self.pipe = name
            self.home = new_home(self.state.root, f"w{self.index}_{self.generation}")
            self.log = self.home / "worker.log"
            args = [
                self.python,
                *_python_flags(self.python),
                str(WORKER_SCRIPT),
                f"--soffice={self.state.soffice}",
                f"--home={self.home}",
                f"--pipe={name}",
                f"--parent={os.getpid()}",
                f"--startup-timeout={STARTUP_TIMEOUT}",
            ]
            with open_private_log(self.log) as log:
                self.process = subprocess.Popen(
                    args,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    bufsize=0,
                    start_new_session=True,
                    env=_worker_env(),
                )
            self.ready = False
            self.buffer = b""
            self.served = 0

    def kill(self) -> None:
        """Stop the worker and its soffice at once (both process groups) and drop the profile."""
        with self.lock:
            process, self.process = self.process, None
            if process is None:
                return
            _kill_group(self.soffice_pgid, self.state.tag)
            _kill_group(process.pid, self.state.tag)
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if self.home is not None:
                _kill_leftovers(self.home)  # a soffice whose group we never learned
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            self.soffice_pgid = None
            self.ready = False
            if self.home is not None:
                _remove_pipes([self.pipe, single_instance_pipe(self.home / "profile")])
                shutil.rmtree(self.home, ignore_errors=True)

    def _receive(self, deadline: float) -> dict | None:
        """Return the worker's next message, or None when the deadline passes first."""
        process = self.process
        if process is None:
            raise _Failure("converter was stopped", lost=True)
        fd = process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                readable, _, _ = select.select([fd], [], [], remaining)
            except (OSError, ValueError) as exc:
                raise _Failure("converter was stopped", lost=True) from exc
            if self.process is not process:
                raise _Failure("converter was stopped", lost=True)
            if not readable:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                tail = _read_tail(self.log) if self.log else ""
                raise _Failure(f"converter exited unexpectedly {tail}".strip(), lost=True)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def _send(self, message: dict) -> None:
        """Write one request line to the worker."""
        process = self.process
        if process is None:
            raise _Failure("converter was stopped", lost=True)
        data = json.dumps(message).encode("utf-8") + b"\n"
        try:
            while data:
                data = data[os.write(process.stdin.fileno(), data) :]
        except OSError as exc:
            raise _Failure(f"converter is gone ({exc})", lost=True) from exc

    def ensure_ready(self) -> None:
        """Start the converter if needed and wait until its soffice accepts requests."""
        if self.process is not None and self.served >= RECYCLE_AFTER:
            self.kill()
        self.launch()
        deadline = time.monotonic() + STARTUP_TIMEOUT + 5
        while not self.ready:
            message = self._receive(deadline)
            if message is None:
                raise _Failure("LibreOffice did not start in time", timed_out=True, lost=True)
            event = message.get("event")
            if event == "started":
                self.soffice_pgid = int(message["soffice_pid"])
            elif event == "ready":
                self.ready = True
            elif event == "failed":
                raise _Failure(f"LibreOffice did not start: {message['error']}", lost=True)

    def convert(self, job: _Job, timeout: float) -> bytes:
        """Return ``job.source`` converted; raise ``_Failure`` (the converter is killed if lost)."""
        try:
            self.ensure_ready()
            number = next(self.requests)
            staged = self.home / "out" / f"{number}{job.target.suffix.lower()}"
            self._send(
                {
                    "id": number,
                    "source": str(job.source),
                    "target": str(staged),
                    "filter": job.filter,
                    "in_filter": job.in_filter,
                    "options": job.options,
                }
            )
            answer = self._receive(time.monotonic() + timeout)
            if answer is None:
                raise _Failure(f"no answer within {timeout:g} s", timed_out=True, lost=True)
            if answer.get("id") != number:
                raise _Failure("converter answered out of turn", lost=True)
        except _Failure as failure:
            if failure.lost:
                self.kill()
            raise
        except BaseException:  # Ctrl-C mid-request: its answer must never reach the next one
            self.kill()
            raise
        self.served += 1
        if not answer["ok"]:
            if answer.get("fatal"):
                self.kill()
            raise _Failure(answer["error"], lost=bool(answer.get("fatal")))
        return _take(staged)


class _CliConverter:
    """One slot of per-document ``soffice --convert-to`` runs, with a profile of its own."""

    mode = "cli"

    def __init__(self, state: _State, index: int):
        self.state = state
        self.index = index
        self.generation = 0
        self.home: Path | None = None
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _ensure_home(self) -> Path:
        """Return this slot's folder (profile and output), created on first use."""
        with self.lock:
            if self.state.closed:
                raise _Closed
            if self.home is None:
                self.generation += 1
                self.home = new_home(self.state.root, f"c{self.index}_{self.generation}")
            return self.home

    def launch(self) -> None:
        """Do nothing: each document starts its own soffice."""

    def kill(self) -> None:
        """Stop a running soffice (its process group) and drop the profile."""
        with self.lock:
            process, self.process = self.process, None
            if process is not None:
                _kill_group(process.pid, self.state.tag)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            if self.home is not None:
                _kill_leftovers(self.home)
            if self.home is not None:
                _remove_pipes([single_instance_pipe(self.home / "profile")])
                shutil.rmtree(self.home, ignore_errors=True)
                self.home = None

    def convert(self, job: _Job, timeout: float) -> bytes:
        """Return ``job.source`` converted by one soffice run; raise ``_Failure``."""
        home = self._ensure_home()
        outdir = Path(tempfile.mkdtemp(dir=home / "out"))
        try:
            self._run(job, home, outdir, timeout)
            produced = outdir / f"{job.source.stem}{job.target.suffix.lower()}"
            if not produced.is_file():
                raise _Failure("it does not open as a document")
            return _take(produced)
        finally:
            shutil.rmtree(outdir, ignore_errors=True)

    def _run(self, job: _Job, home: Path, outdir: Path, timeout: float) -> None:
        """Run soffice --convert-to for ``job`` into ``outdir`` within ``timeout`` seconds."""
        profile = home / "profile"
        spec = f"{TARGET_EXTENSIONS[job.target.suffix.lower()]}:{job.filter}"
        if job.options:
            typed = {
                key: {"type": "long", "value": str(value)} for key, value in job.options.items()
            }
            spec += ":" + json.dumps(typed, separators=(",", ":"))
        args = [
            self.state.soffice,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            *([f"--infilter={job.in_filter}"] if job.in_filter else []),
            "--convert-to",
            spec,
            "--outdir",
            str(outdir),
            str(job.source),
        ]
        with self.lock:
            if self.state.closed:
                raise _Closed
            try:
                self.process = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    env=_soffice_env(home),
                    umask=0o077,
                )
            except OSError as exc:
                raise _Failure(f"soffice could not be started ({exc})") from exc
            process = self.process
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise _Failure(f"no answer within {timeout:g} s", timed_out=True, lost=True) from exc
        except BaseException:
            self.kill()
            raise
        with self.lock:
            self.process = None


def _take(path: Path) -> bytes:
    """Return the bytes soffice wrote to ``path`` and remove the file; raise ``_Failure``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Failure("LibreOffice wrote no file") from exc
    finally:
        path.unlink(missing_ok=True)
    if not data:
        raise _Failure("LibreOffice wrote an empty file")
    return data


def _start(converter) -> None:
    """Start ``converter`` and wait until it is ready (a no-op for per-document soffice)."""
    if isinstance(converter, _UnoConverter):
        try:
            converter.ensure_ready()
        except _Failure:
            converter.kill()
            raise


def _shutdown(state: _State, converters: list) -> None:
    """Stop every converter of a pool and remove its private folder (also run at exit)."""
    if os.getpid() != state.owner:
        return
    with state.lock:
        state.closed = True
    for converter in converters:
        converter.kill()
    shutil.rmtree(state.root, ignore_errors=True)


class ConverterPool:
    """Warm headless LibreOffice converters, one per worker, each with its own profile."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 60.0,
        *,
        soffice: str | None = None,
        mode: str = "auto",
    ):
        # Bad arguments are bugs in the calling code, not user mistakes: ValueError, no fix text.
        if mode not in ("auto", "uno", "cli"):
            raise ValueError(f"mode must be auto, uno or cli, not {mode!r}")
        if (workers or 0) < 0 or not timeout > 0:  # no workers would wait forever
            raise ValueError(f"need workers >= 0 and timeout > 0, not {workers!r}, {timeout!r}")
        self.timeout = float(timeout)
        self.soffice = soffice or find_soffice()
        if not os.access(self.soffice, os.X_OK):
            raise LibreOfficeMissing(f"{self.soffice} is not a program; {INSTALL_HINT}")
        python = find_uno_python(self.soffice) if mode != "cli" else None
        if mode == "uno" and python is None:
            raise LibreOfficeMissing(f"no Python with the UNO bridge was found; {INSTALL_HINT}")
        self.mode = "uno" if python else "cli"
        count = workers or _cpu_count()
        root = Path(tempfile.mkdtemp(prefix=f"samtale_lo_{os.getpid()}_{next(_pool_numbers)}_"))
        self._state = _State(self.soffice, root)
        if python:
            self._converters = [_UnoConverter(self._state, n, python) for n in range(count)]
        else:
            self._converters = [_CliConverter(self._state, n) for n in range(count)]
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._finalizer = weakref.finalize(self, _shutdown, self._state, self._converters)
        try:
            for converter in self._converters:
                converter.launch()
                self._idle.put(converter)
        except BaseException:
            self.close()
            raise

    @property
    def workers(self) -> int:
        """Return the number of converters."""
        return len(self._converters)

    @property
    def tag(self) -> str:
        """Return the text found in the command line of every process this pool starts."""
        return self._state.tag

    def __enter__(self) -> ConverterPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop every converter and remove the profiles; safe to call twice."""
        self._finalizer()

    def warm_up(self) -> None:
        """Wait until every converter is ready; raise ``ConversionError`` if one cannot start."""
        converters = []
        try:
            converters += [self._acquire() for _ in self._converters]
            with ThreadPoolExecutor(max_workers=len(converters)) as executor:
                list(executor.map(_start, converters))
        except _Failure as failure:
            raise ConversionError(
                f"LibreOffice could not start: {failure.error}; check that "
                f"`{self.soffice} --headless --version` works, or {INSTALL_HINT}"
            ) from failure
        except _Closed as exc:
            raise ConversionError(
                "the LibreOffice converter pool is closed; start a new one"
            ) from exc
        finally:
            for converter in converters:
                self._idle.put(converter)

    def convert(
        self,
        source: Path,
        target: Path,
        *,
        pdfa: bool = False,
        overwrite: bool = False,
        timeout: float | None = None,
    ) -> Path:
        """Return ``target`` after converting ``source`` into it (format from target's suffix)."""
        # Raises ConversionTimeout or ConversionError once the retry failed too.
        job = self._job(Path(source), Path(target), pdfa=pdfa, overwrite=overwrite)
        result, timed_out = self._run(job, self.timeout if timeout is None else timeout)
        if result.ok:
            return job.target
        raise (ConversionTimeout if timed_out else ConversionError)(result.error)

    def convert_many(
        self,
        jobs: Iterable[tuple[Path, Path]],
        *,
        pdfa: bool = False,
        overwrite: bool = False,
    ) -> list[Conversion]:
        """Return one ``Conversion`` per (source, target), in order; a bad document never raises."""
        jobs = [(Path(source), Path(target)) for source, target in jobs]
        if self._state.closed:
            raise ConversionError("the LibreOffice converter pool is closed; start a new one")
        executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="convert")
        try:
            futures = [
                executor.submit(self._one, source, target, pdfa, overwrite)
                for source, target in jobs
            ]
            results = [future.result() for future in futures]
        except BaseException:
            self.close()  # Ctrl-C: stop converters first so running documents end at once
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown()
        return results

    def _one(self, source: Path, target: Path, pdfa: bool, overwrite: bool) -> Conversion:
        """Return the outcome of one document of a batch."""
        try:
            job = self._job(source, target, pdfa=pdfa, overwrite=overwrite)
        except ConversionError as exc:
            return Conversion(source, None, False, str(exc), 0, 0.0, self.mode)
        return self._run(job, self.timeout)[0]

    def _job(self, source: Path, target: Path, *, pdfa: bool, overwrite: bool) -> _Job:
        """Return the checked job; raise ``ConversionError`` for what retrying cannot fix."""
        if self._state.closed:
            raise ConversionError("the LibreOffice converter pool is closed; start a new one")
        suffix = target.suffix.lower()
        if suffix not in TARGET_FILTERS:
            known = ", ".join(TARGET_FILTERS)
            raise ConversionError(
                f"{target}: cannot convert to {suffix or 'no suffix'}; use {known}"
            )
        if pdfa and suffix != ".pdf":
            raise ConversionError(f"{target}: PDF/A needs a .pdf target; name it .pdf")
        if not source.is_file():
            raise ConversionError(f"{source}: no such file to convert; check the path")
        if target.exists() and not overwrite:
            raise ConversionError(
                f"{target} already exists; refusing to overwrite it, move it away first"
            )
        return _Job(
            source=source.resolve(),
            given=source,
            target=target,
            filter=TARGET_FILTERS[suffix],
            in_filter=SOURCE_FILTERS.get(source.suffix.lower(), ""),
            options=dict(PDFA_OPTIONS) if pdfa else {},
            overwrite=overwrite,
        )

    def _acquire(self):
        """Return an idle converter, waiting for one; raise ``_Closed`` if the pool closes."""
        while True:
            if self._state.closed:
                raise _Closed
            with contextlib.suppress(queue.Empty):
                return self._idle.get(timeout=0.2)

    def _run(self, job: _Job, timeout: float) -> tuple[Conversion, bool]:
        """Return the outcome of ``job`` after up to two attempts, and whether it timed out."""
        started = time.monotonic()
        failure = _Failure("not tried")
        attempt = 0
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    self._attempt(job, timeout)
                except _Failure as exc:
                    failure = exc
                    continue
                except ConversionError as exc:  # the target appeared meanwhile
                    return self._result(job, False, str(exc), attempt, started), False
                return self._result(job, True, "", attempt, started), False
        except _Closed:
            failure = _Failure("stopped: the converter pool was closed")
        return self._result(job, False, self._explain(job, failure, timeout), attempt, started), (
            failure.timed_out
        )

    def _attempt(self, job: _Job, timeout: float) -> None:
        """Convert ``job`` once on an idle converter and move the result to its target."""
        converter = self._acquire()
        try:
            data = converter.convert(job, timeout)
        finally:
            self._idle.put(converter)
        try:
            write_private(job.target, data, overwrite=job.overwrite)
        except WorkspaceError as exc:
            raise ConversionError(str(exc)) from exc
        except OSError as exc:
            raise ConversionError(
                f"{job.target}: cannot be written ({exc.strerror}); check the folder's permissions"
            ) from exc

    def _result(self, job: _Job, ok: bool, error: str, attempts: int, started: float) -> Conversion:
        """Return the Conversion record for ``job``."""
        seconds = round(time.monotonic() - started, 3)
        target = job.target if ok else None
        return Conversion(job.given, target, ok, error, attempts, seconds, self.mode)

    @staticmethod
    def _explain(job: _Job, failure: _Failure, timeout: float) -> str:
        """Return the message HR reads for a document that could not be converted."""
        kind = "PDF" if job.target.suffix.lower() == ".pdf" else "Word (.docx)"
        if failure.timed_out:
            return (
                f"{job.source}: LibreOffice took longer than {timeout:g} s to convert it to "
                f"{kind} (tried {MAX_ATTEMPTS} times). Open it in Word to check it is not "
                "damaged or huge, or raise the timeout."
            )
        return (
            f"{job.source}: LibreOffice could not convert it to {kind} ({failure.error}). "
            "Open it in Word, check it is a real Word document, and save it again."
        )
