"""Safe, readable file names built from people's names."""

from __future__ import annotations

import re
import unicodedata

WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}
MAX_STEM = 80
ASCII_FOLD = str.maketrans(
    {"æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L"}
)


def safe_stem(text: str, max_length: int = MAX_STEM) -> str:
    """Return ``text`` as a file-name stem Windows, macOS and Linux accept (æøå kept)."""
    text = unicodedata.normalize("NFC", text)
    text = WINDOWS_FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", "_", text.strip())
    text = re.sub(r"\.{2,}", ".", text).strip("._ ")
    text = text[:max_length].rstrip("._ ")
    if not text or text.split(".")[0].upper() in WINDOWS_RESERVED:
        text = f"_{text}" if text else "unnamed"
    return text


def ascii_slug(text: str, max_length: int = 40) -> str:
    """Return a lowercase ASCII slug of ``text`` ("Bjørn-Åge Sæther" → "bjorn-age-saether")."""
    # Letters NFKD cannot split into a base letter and an accent are folded by hand.
    text = unicodedata.normalize("NFKD", text.translate(ASCII_FOLD))
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:max_length].strip("-") or "unnamed"
