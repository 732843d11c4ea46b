"""Benchmark: PDFs per second from the warm converter pool against per-file `soffice --convert-to`.

Run it with ``.venv/bin/python tools/bench_convert.py [N]`` (``make bench``). Both ways run in the
same process on the same machine, on the same kind of documents: invented minutes of an employee
review, a page or two of Norwegian text with a table.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from docx import Document

from pipeline.formats.convert import ConverterPool
from testkit.convert import convert_once

NAIVE_SAMPLE = 10
POOL_WORKERS = 2

PEOPLE = (
    ("Åse Kløvstad-Bjørnø", "Økonomi"),
    ("Pål Ærø-Haugen", "Lønn og personal"),
    ("Maria Lægreid Søndenå", "Innkjøp"),
    ("Bjørn-Åge Østerås", "Drift"),
    ("Kjærsti Håland Fjæreide-Løvås", "Kundeservice"),
)
TOPICS = (
    "Arbeidsoppgaver og trivsel",
    "Samarbeid i avdelingen",
    "Kompetanse og utvikling",
    "Mål for neste år",
    "Oppfølging fra i fjor",
)
PARAGRAPH = (
    "Vi snakket om hvordan året har vært, hva som har gått bra og hva som kan bli bedre. "
    "Den ansatte opplever at arbeidsmengden i perioder har vært høy, særlig før årsoppgjøret, "
    "men at samarbeidet med kollegaer er godt og at det er lett å be om hjelp. Lederen ga "
    "tilbakemelding på at oppgavene løses grundig og i god tid, og at kundene gir gode "
    "tilbakemeldinger. Vi ble enige om å se nærmere på fordelingen av oppgaver i høstmånedene "
    "og på muligheten for et kurs i prosjektstyring. Begge parter er fornøyde med samtalen."
)


def make_minutes(path: Path, number: int) -> Path:
    """Return ``path`` after writing one invented minutes document (about two pages)."""
    name, department = PEOPLE[number % len(PEOPLE)]
    document = Document()
    document.add_heading(f"Referat fra medarbeidersamtale – {name}", level=1)
    document.add_paragraph(f"Avdeling: {department}. Samtale nr. {number + 1}. Sted: møterom Ørn.")
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("Tema", "Avtale", "Frist"), strict=True):
        cell.text = title
    for row, topic in enumerate(TOPICS):
        cells = table.add_row().cells
        cells[0].text = topic
        cells[1].text = f"Følges opp av leder og ansatt i fellesskap (punkt {row + 1})."
        cells[2].text = f"{row + 1:02d}.0{row % 9 + 1}.2027"
    for topic in TOPICS:
        document.add_heading(topic, level=2)
        document.add_paragraph(PARAGRAPH)
        document.add_paragraph(PARAGRAPH[: 120 + number % 200])
    document.add_paragraph("Signert elektronisk av leder og ansatt. Særlige merknader: ingen.")
    document.save(path)
    return path


def bench_convert(n: int = 200, workdir: Path | None = None) -> dict:
    """Return PDFs/s of the pool (n documents) and of per-file soffice (a sample), and the ratio."""
    with tempfile.TemporaryDirectory(prefix="samtale-bench-", dir=workdir) as folder:
        root = Path(folder)
        (root / "in").mkdir()
        (root / "pool").mkdir()
        (root / "naive").mkdir()
        sources = [make_minutes(root / "in" / f"referat-{i:04d}.docx", i) for i in range(n)]
        started = time.perf_counter()
        with ConverterPool(workers=POOL_WORKERS) as pool:
            mode = pool.mode
            pool.warm_up()
            warm = time.perf_counter()
            jobs = [(source, root / "pool" / f"{source.stem}.pdf") for source in sources]
            results = pool.convert_many(jobs)
            finished = time.perf_counter()
        failed = [result.error for result in results if not result.ok]
        sample = sources[: min(NAIVE_SAMPLE, n)]
        naive_started = time.perf_counter()
        for source in sample:
            convert_once(source, root / "naive" / f"{source.stem}.pdf")
        naive_seconds = time.perf_counter() - naive_started
    pool_rate = (n - len(failed)) / (finished - started)
    naive_rate = len(sample) / naive_seconds
    return {
        "documents": n,
        "workers": POOL_WORKERS,
        "cpus": os.cpu_count(),
        "mode": mode,
        "failed": len(failed),
        "pool_seconds": round(finished - started, 2),
        "pool_startup_seconds": round(warm - started, 2),
        "pool_pdfs_per_s": round(pool_rate, 2),
        "pool_warm_pdfs_per_s": round((n - len(failed)) / (finished - warm), 2),
        "naive_documents": len(sample),
        "naive_seconds": round(naive_seconds, 2),
        "naive_pdfs_per_s": round(naive_rate, 2),
        "ratio": round(pool_rate / naive_rate, 1),
    }


def main() -> None:
    """Print the benchmark figures."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    figures = bench_convert(n)
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    print(
        f"pool {figures['pool_pdfs_per_s']} PDFs/s vs per-file soffice "
        f"{figures['naive_pdfs_per_s']} PDFs/s: {figures['ratio']}x "
        "(target: >= 10 PDFs/s on 2 cores, >= 15x)"
    )


if __name__ == "__main__":
    main()
