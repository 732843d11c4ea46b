"""One warm LibreOffice converter, driven over UNO; run by a Python that can ``import uno``.

This script is not imported by samtale: ``pipeline.formats.convert`` starts it under the system
Python (Debian's ``/usr/bin/python3`` with ``python3-uno``), because the project's own
Python usually cannot load the UNO bridge. It only uses the standard library and ``uno``.

Protocol, one JSON object per line:

* stdout, first: ``{"event": "started", "soffice_pid": N}`` once soffice runs (its process group);
  then ``{"event": "ready"}`` once the UNO connection works, or ``{"event": "failed", "error": …}``.
* stdin: ``{"id": N, "source": path, "target": path, "filter": name, "in_filter": name or "",
  "options": {name: value}}``; stdout: ``{"id": N, "ok": true}`` or
  ``{"id": N, "ok": false, "error": text, "fatal": bool}``. ``fatal`` means soffice is gone and
  this worker exits right after answering.

End of stdin, SIGTERM, or the death of the parent process stop soffice (its whole process group)
and remove this converter's home folder (profile and staging), and its parent folder when that
is then empty.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import uno
from com.sun.star.beans import PropertyValue

PARENT_POLL_SECONDS = 0.5
CONNECT_POLL_SECONDS = 0.05
NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_UPDATE = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE

# LibreOffice puts its named pipes here whatever TMPDIR says; we only unlink our own names there.
PIPE_FOLDERS = ("/tmp", "/var/tmp")  # noqa: S108

_out_lock = threading.Lock()
_soffice: subprocess.Popen | None = None
_home = ""
_pipe = ""


def answer(message: dict) -> None:
    """Write one JSON line to the parent; stop everything when the parent is gone."""
    with _out_lock:
        try:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()
        except OSError:  # BrokenPipeError: nobody listens any more
            stop_soffice_and_exit(4)


def profile_path() -> str:
    """Return the profile folder of our soffice."""
    return os.path.join(_home, "profile")


def single_instance_pipe(profile: str) -> str:
    """Return the name of the pipe soffice opens for its profile (MD5 of the profile URL)."""
    url = uno.systemPathToFileUrl(profile)
    digest = hashlib.md5(url.encode("utf-16-le"), usedforsecurity=False).digest()
    return "SingleOfficeIPC_" + "".join(format(byte, "x") for byte in digest)


def kill_leftovers() -> None:
    """SIGKILL every process still running with our profile in its command line."""
    marker = os.path.join(_home, "profile").encode()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(os.path.join(entry.path, "cmdline"), "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if marker in cmdline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)


def remove_pipes() -> None:
    """Remove the pipe files a killed soffice leaves behind."""
    names = [_pipe, single_instance_pipe(profile_path())]
    for folder in PIPE_FOLDERS:
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, f"OSL_PIPE_{os.getuid()}_{name}"))


def stop_soffice_and_exit(status: int) -> None:
    """Kill soffice's process group, remove its files and pipes, and end this process at once."""
    if _soffice is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(_soffice.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            _soffice.wait(timeout=5)
    if _home:
        kill_leftovers()  # also a soffice started a moment before we knew its pid
        remove_pipes()
        shutil.rmtree(_home, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(_home))  # the pool's folder, once every converter is gone
    os._exit(status)


def watch_parent(parent: int) -> None:
    """Stop everything when the process that started us is gone (SIGKILL, SIGTERM, crash)."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            stop_soffice_and_exit(3)


def prop(name: str, value) -> PropertyValue:
    """Return a UNO PropertyValue."""
    item = PropertyValue()
    item.Name = name
    item.Value = value
    return item


def start_soffice(soffice: str, pipe: str) -> subprocess.Popen:
    """Return the running soffice, in a process group of its own, listening on ``pipe``."""
    profile = profile_path()
    args = [
        soffice,
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nodefault",
        "--nolockcheck",
        "--nofirststartwizard",
        f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "TMPDIR": _home},  # LibreOffice's temporary files go with the profile
    )


def connect(pipe: str, deadline: float):
    """Return the soffice Desktop once the pipe accepts us; raise RuntimeError past the deadline."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    last = ""
    while time.monotonic() < deadline:
        if _soffice is not None and _soffice.poll() is not None:
            raise RuntimeError(f"soffice exited with status {_soffice.returncode} at start")
        try:
            context = resolver.resolve(url)
            return context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context
            )
        except Exception as exc:  # NoConnectException until soffice listens
            last = str(exc)
            time.sleep(CONNECT_POLL_SECONDS)
    raise RuntimeError(f"soffice did not accept a connection in time ({last})")


def filter_data(options: dict):
    """Return the FilterData property value for ``options`` (an empty dict gives none)."""
    values = tuple(prop(name, value) for name, value in options.items())
    return uno.Any("[]com.sun.star.beans.PropertyValue", values)


def convert(desktop, request: dict) -> None:
    """Load ``source`` hidden and read-only, store it as ``target`` with the given filter."""
    load = [
        prop("Hidden", True),
        prop("ReadOnly", True),
        prop("MacroExecutionMode", NEVER_EXECUTE),
        prop("UpdateDocMode", NO_UPDATE),
    ]
    if request.get("in_filter"):
        load.append(prop("FilterName", request["in_filter"]))
    source_url = uno.systemPathToFileUrl(request["source"])
    document = desktop.loadComponentFromURL(source_url, "_blank", 0, tuple(load))
    if document is None:
        raise ValueError("it does not open as a document")
    try:
        store = [prop("FilterName", request["filter"]), prop("Overwrite", True)]
        if request.get("options"):
            store.append(prop("FilterData", filter_data(request["options"])))
        target_url = uno.systemPathToFileUrl(request["target"])
        uno.invoke(document, "storeToURL", (target_url, tuple(store)))
    finally:
        try:
            document.close(True)
        except Exception:
            document.dispose()


def soffice_alive() -> bool:
    """Return whether our soffice process is still running."""
    return _soffice is not None and _soffice.poll() is None


def bridge_alive(desktop) -> bool:
    """Return whether soffice still answers over the UNO bridge."""
    try:
        desktop.getComponents()
    except Exception:
        return False
    return True


def serve(desktop) -> None:
    """Answer conversion requests from stdin until it ends."""
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            convert(desktop, request)
        except Exception as exc:
            fatal = not soffice_alive() or not bridge_alive(desktop)
            text = getattr(exc, "Message", "") or str(exc) or type(exc).__name__
            answer({"id": request["id"], "ok": False, "error": text.strip(), "fatal": fatal})
            if fatal:
                stop_soffice_and_exit(2)
            continue
        answer({"id": request["id"], "ok": True})


def main() -> None:
    """Run the converter; whatever ends it (end of input, error, signal) also ends soffice."""
    try:
        run()
    finally:
        stop_soffice_and_exit(0)  # the profile is thrown away, so no graceful shutdown is needed


def run() -> None:
    """Start soffice, connect, then convert what the parent asks for."""
    global _soffice, _home, _pipe
    parser = argparse.ArgumentParser()
    parser.add_argument("--soffice", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--pipe", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    args = parser.parse_args()
    os.umask(0o077)
    _home = args.home
    _pipe = args.pipe
    signal.signal(signal.SIGTERM, lambda *_: stop_soffice_and_exit(143))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C reaches it
    threading.Thread(target=watch_parent, args=(args.parent,), daemon=True).start()
    if os.getppid() != args.parent:
        stop_soffice_and_exit(3)
    _soffice = start_soffice(args.soffice, args.pipe)
    answer({"event": "started", "soffice_pid": _soffice.pid})
    try:
        desktop = connect(args.pipe, time.monotonic() + args.startup_timeout)
    except Exception as exc:
        answer({"event": "failed", "error": str(exc)})
        stop_soffice_and_exit(1)
    answer({"event": "ready"})
    serve(desktop)


if __name__ == "__main__":
    main()
