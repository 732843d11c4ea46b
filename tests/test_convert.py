"""LibreOffice conversions: the warm pool, its recovery from hangs and crashes, and its cleanup."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from pipeline.errors import ConversionError, ConversionTimeout, LibreOfficeMissing
from pipeline.formats import convert as convert_module
from pipeline.formats.convert import ConverterPool, find_soffice
from testkit.convert import convert_once

pytestmark = pytest.mark.libreoffice

TEXT = "Medarbeidersamtale for Ærlige Østby-Åsen: trivsel på Økonomi er god, særlig i år."


@pytest.fixture(scope="module")
def pool():
    with ConverterPool(workers=2, timeout=30) as shared:
        yield shared


def make_docx(path: Path, text: str = TEXT) -> Path:
    document = Document()
    document.add_heading("Referat", level=1)
    document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Avtale"
    table.cell(1, 0).text = "Kurs i prosjektstyring før påske"
    document.save(path)
    return path


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def xmp(path: Path) -> bytes:
    metadata = PdfReader(path).xmp_metadata
    return metadata.stream.get_data() if metadata is not None else b""


def live_pids(tag: str) -> list[int]:
    """Return processes (not zombies) whose command line contains ``tag``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if tag.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def soffice_pids(tag: str) -> list[int]:
    return [
        pid for pid in live_pids(tag) if b"soffice.bin" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def wait_until_gone(tag: str, seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := live_pids(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def leftover_pipes(tag: str) -> list[str]:
    return [name for name in os.listdir("/tmp") if name.startswith("OSL_PIPE_") and tag in name]


def test_docx_to_pdf_keeps_the_text_and_is_private(pool, tmp_path):
    target = pool.convert(make_docx(tmp_path / "referat.docx"), tmp_path / "ut" / "referat.pdf")

    assert target == tmp_path / "ut" / "referat.pdf"
    assert "Ærlige Østby-Åsen" in pdf_text(target)
    assert "Kurs i prosjektstyring før påske" in pdf_text(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert b"pdfaid" not in xmp(target)
    assert not list(tmp_path.glob(".~lock*")), "LibreOffice left a lock file next to the source"


def test_what_the_converters_write_is_owner_only(tmp_path):
    old = os.umask(0o022)  # a user's usual umask: LibreOffice's files would be open to all
    try:
        with ConverterPool(workers=1, timeout=60) as pool:
            pool.convert(make_docx(tmp_path / "a.docx"), tmp_path / "a.pdf")
            written = [p for p in pool._state.root.rglob("*") if not p.is_symlink()]
            modes = {p.name: p.stat().st_mode & 0o777 for p in written}
            open_to_others = sorted(
                f"{p} {oct(p.stat().st_mode & 0o777)}" for p in written if p.stat().st_mode & 0o077
            )
    finally:
        os.umask(old)
    assert modes.get("worker.log") == 0o600
    assert len(modes) > 20, "the converter's profile should be there while it runs"
    assert not open_to_others


def test_docx_resaved_by_writer(pool, tmp_path):
    target = pool.convert(make_docx(tmp_path / "skjema.docx"), tmp_path / "lagret.docx")

    with zipfile.ZipFile(target) as package:
        assert b"LibreOffice" in package.read("docProps/app.xml")
    assert any(p.text == TEXT for p in Document(str(target)).paragraphs)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_pdfa_flag_gives_pdfa_2b(pool, tmp_path):
    target = pool.convert(make_docx(tmp_path / "a.docx"), tmp_path / "a.pdf", pdfa=True)

    metadata = xmp(target)
    assert b"<pdfaid:part>2</pdfaid:part>" in metadata
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in metadata
    assert "Ærlige Østby-Åsen" in pdf_text(target)


def test_existing_target_is_kept_unless_overwrite(pool, tmp_path):
    source = make_docx(tmp_path / "b.docx")
    target = tmp_path / "b.pdf"
    target.write_bytes(b"gammel")

    with pytest.raises(ConversionError, match="already exists"):
        pool.convert(source, target)
    assert target.read_bytes() == b"gammel"

    pool.convert(source, target, overwrite=True)
    assert target.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("target_name", "pdfa", "message"),
    [("c.odt", False, "cannot convert to .odt"), ("c.docx", True, "PDF/A needs a .pdf")],
)
def test_unsupported_requests_are_refused(pool, tmp_path, target_name, pdfa, message):
    with pytest.raises(ConversionError, match=message):
        pool.convert(make_docx(tmp_path / "c.docx"), tmp_path / "ut" / target_name, pdfa=pdfa)


def test_corrupt_document_is_reported_and_the_batch_goes_on(pool, tmp_path):
    first = make_docx(tmp_path / "en.docx", "Første referat fra Bodø")
    corrupt = tmp_path / "ødelagt.docx"
    corrupt.write_bytes(os.urandom(4000))
    last = make_docx(tmp_path / "tre.docx", "Tredje referat fra Tromsø")
    missing = tmp_path / "finnes-ikke.docx"
    jobs = [(path, tmp_path / f"{path.stem}.pdf") for path in (first, corrupt, last, missing)]

    results = pool.convert_many(jobs)

    assert [r.source for r in results] == [first, corrupt, last, missing]
    assert [r.ok for r in results] == [True, False, True, False]
    assert "Første referat fra Bodø" in pdf_text(results[0].target)
    assert "Tredje referat fra Tromsø" in pdf_text(results[2].target)
    assert results[1].attempts == 2 and results[1].target is None
    assert "ødelagt.docx" in results[1].error and "save it again" in results[1].error
    assert not (tmp_path / "ødelagt.pdf").exists()
    assert results[3].attempts == 0 and "no such file" in results[3].error
    assert {r.mode for r in results} == {"uno"}


def test_a_converter_started_after_its_pool_folder_was_tidied_away_makes_it_anew(tmp_path):
    root = tmp_path / "samtale_lo_pool"
    root.mkdir(mode=0o700)
    root.rmdir()  # the last crashed converter's worker removed the empty pool folder
    home = convert_module.new_home(root, "w0_2")
    assert home.is_dir() and (home / "out").is_dir()
    assert stat.S_IMODE(root.stat().st_mode) == stat.S_IMODE(home.stat().st_mode) == 0o700


def test_crashed_converters_are_replaced(pool, tmp_path):
    pool.warm_up()
    crashed = soffice_pids(pool.tag)
    assert len(crashed) == pool.workers
    for pid in crashed:
        os.kill(pid, signal.SIGKILL)
    sources = [
        make_docx(tmp_path / f"k{i}.docx", f"Referat nummer {i} fra Ålesund") for i in range(4)
    ]

    results = pool.convert_many([(s, s.with_suffix(".pdf")) for s in sources])

    assert all(r.ok for r in results), [r.error for r in results]
    assert sum(r.attempts for r in results) >= len(sources) + 1
    assert all(f"nummer {i} fra Ålesund" in pdf_text(r.target) for i, r in enumerate(results))
    assert not set(crashed) & set(soffice_pids(pool.tag))


def test_hung_converter_is_killed_and_the_document_retried(tmp_path):
    source = make_docx(tmp_path / "h.docx")
    with ConverterPool(workers=1, timeout=4) as single:
        single.warm_up()
        [hung] = soffice_pids(single.tag)
        os.kill(hung, signal.SIGSTOP)  # a LibreOffice that never answers

        [result] = single.convert_many([(source, tmp_path / "h.pdf")])

        assert result.ok and result.attempts == 2 and result.seconds >= 4
        assert hung not in live_pids(single.tag)
        assert "Ærlige Østby-Åsen" in pdf_text(tmp_path / "h.pdf")

        with pytest.raises(ConversionTimeout, match=r"h\.docx.*longer than 0\.001 s"):
            single.convert(source, tmp_path / "h2.pdf", timeout=0.001)
        assert not (tmp_path / "h2.pdf").exists()
        assert "Ærlige Østby-Åsen" in pdf_text(single.convert(source, tmp_path / "h3.pdf"))


def test_close_leaves_no_soffice_profile_or_pipe():
    with ConverterPool(workers=2) as fresh:
        fresh.warm_up()
        tag = fresh.tag
        assert len(soffice_pids(tag)) == 2
        assert (Path(tempfile.gettempdir()) / tag).is_dir()
        assert stat.S_IMODE((Path(tempfile.gettempdir()) / tag).stat().st_mode) == 0o700

    assert wait_until_gone(tag) == []
    assert not (Path(tempfile.gettempdir()) / tag).exists()
    assert leftover_pipes(tag) == []
    with pytest.raises(ConversionError, match="closed"):
        fresh.convert(Path("x.docx"), Path("x.pdf"))


CHILD = textwrap.dedent(
    """
    import signal
    import sys
    from pathlib import Path
    from pipeline.formats.convert import ConverterPool

    # A program started from a terminal: Ctrl-C neither ignored nor blocked, whatever the test
    # runner's process (which starts this one) does with it; what it inherited is told on stderr.
    inherited = signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, [])
    print(f"inherited SIGINT handling: {inherited}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])

    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    with ConverterPool(workers=2, timeout=30) as pool:
        pool.warm_up()
        print(pool.tag, flush=True)
        while True:
            pool.convert_many([(source, out / f"{i}.pdf") for i in range(4)], overwrite=True)
            print("batch", flush=True)
    """
)


def start_child(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    source = make_docx(tmp_path / "barn.docx")
    child = subprocess.Popen(
        [sys.executable, str(script), str(source), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a shell job
    )
    tag = child.stdout.readline().strip()
    assert child.stdout.readline().strip() == "batch", child.stderr.read()
    assert len(soffice_pids(tag)) == 2
    return child, tag


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_program_leaves_no_soffice(tmp_path, how):
    child, tag = start_child(tmp_path)
    if how == "ctrl-c":
        os.killpg(child.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    else:
        child.terminate()
    child.communicate(timeout=30)

    assert child.returncode != 0
    assert wait_until_gone(tag) == []
    assert not (Path(tempfile.gettempdir()) / tag).exists()
    assert leftover_pipes(tag) == []


def test_fallback_without_uno_runs_soffice_per_document(tmp_path):
    with ConverterPool(workers=1, mode="cli") as cli:
        [result] = cli.convert_many([(make_docx(tmp_path / "d.docx"), tmp_path / "d.pdf")])

    assert result.ok and result.mode == "cli"
    assert "Ærlige Østby-Åsen" in pdf_text(tmp_path / "d.pdf")
    assert wait_until_gone(cli.tag) == []


def test_convert_once_is_the_plain_soffice_way(tmp_path):
    target = convert_once(make_docx(tmp_path / "e.docx"), tmp_path / "e.pdf", pdfa=True)

    assert b"<pdfaid:part>2</pdfaid:part>" in xmp(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_missing_libreoffice_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("SAMTALE_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(convert_module, "KNOWN_LOCATIONS", ())

    with pytest.raises(LibreOfficeMissing, match="apt-get install libreoffice-writer-nogui"):
        find_soffice()
    with pytest.raises(LibreOfficeMissing, match="python3-uno"):
        ConverterPool(workers=1)
    with pytest.raises(LibreOfficeMissing, match="not a program"):
        ConverterPool(workers=1, soffice=str(tmp_path / "soffice"))


@pytest.mark.parametrize(
    "arguments", [{"mode": "fast"}, {"workers": -1}, {"timeout": 0}, {"timeout": -5}]
)
def test_bad_arguments_are_refused_before_anything_starts(arguments, monkeypatch):
    # a bug in the calling code, not a user mistake: a plain ValueError, and never a pool
    # without converters that would wait forever for one
    monkeypatch.setattr(convert_module, "find_soffice", lambda: pytest.fail("started"))
    with pytest.raises(ValueError, match="mode must be|workers >= 0 and timeout > 0"):
        ConverterPool(**arguments)
