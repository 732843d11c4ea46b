"""Tests for pipeline/names.py: safe file names."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.names import WINDOWS_FORBIDDEN, ascii_slug, safe_stem


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
    assert ascii_slug("Bjørn-Åge Sæther", 9) == "bjorn-age"  # no dash left at the cut


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Kari Nordmann", "kari-nordmann"),
        ("Bjørn-Åge Sæther Kvalsvik-Lindqvist", "bjorn-age-saether-kvalsvik-lindqvist"),
        ("ÆRLIG ØSTBY", "aerlig-ostby"),
        ("Jürgen Strauß-Łukasiewicz", "jurgen-strauss-lukasiewicz"),
        ("Đorđe O'Neill", "dorde-o-neill"),
        ("", "unnamed"),
        ("--", "unnamed"),
    ],
)
def test_ascii_slug_folds_names(name, slug):
    assert ascii_slug(name) == slug


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_ascii_slug_is_always_a_short_technical_name(text, max_length):
    slug = ascii_slug(text, max_length)
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug)
    assert len(slug) <= max(max_length, len("unnamed"))
