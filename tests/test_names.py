"""Tests for pipeline/names.py: safe file names."""

from hypothesis import given
from hypothesis import strategies as st

from pipeline.names import WINDOWS_FORBIDDEN, ascii_slug, safe_stem


def test_readable_names_keep_letters():
    assert safe_stem("Kristine Østby-Haugland O'Neill") == "Kristine_Østby-Haugland_O'Neill"


def test_dangerous_names_are_neutralised():
    assert safe_stem("../../etc/passwd") == "etc_passwd"
    assert safe_stem("CON") == "_CON"
    assert safe_stem("") == "unnamed"
    assert safe_stem('a<b>c:"d"|e?f*g') == "a_b_c_d_e_f_g"


@given(st.text())
def test_any_text_gives_a_safe_bounded_stem(text):
    stem = safe_stem(text)
    assert stem and len(stem) <= 80
    assert not WINDOWS_FORBIDDEN.search(stem)
    assert ".." not in stem and "/" not in stem and "\\" not in stem
    assert not stem.endswith((".", " "))


def test_ascii_slug():
    assert ascii_slug("Åse Ødegård-Sæther") == "ase-odegard-saether"
