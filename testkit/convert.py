"""One conversion with its own LibreOffice process: the naive baseline of the benchmarks."""

from __future__ import annotations

from pathlib import Path

from pipeline.formats.convert import ConverterPool


def convert_once(
    source: Path,
    target: Path,
    *,
    pdfa: bool = False,
    overwrite: bool = False,
    timeout: float = 120.0,
) -> Path:
    """Return ``target`` after one ``soffice --convert-to`` run with its own temporary profile."""
    with ConverterPool(workers=1, timeout=timeout, mode="cli") as pool:
        return pool.convert(source, target, pdfa=pdfa, overwrite=overwrite)
