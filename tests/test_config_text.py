"""Tests for pipeline/state/config_text.py: the commented samtale.toml keeps step with config.py."""

from __future__ import annotations

import re
import tomllib

import pytest

from pipeline.state.config import CONFIG_TABLES, Config, load_config
from pipeline.state.config_text import CONFIG_SECTIONS, config_text, section_keys


def write(tmp_path, text: str):
    """Return the path of a samtale.toml holding ``text``."""
    path = tmp_path / "samtale.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("table", sorted(CONFIG_TABLES))
def test_every_setting_of_config_py_is_in_the_init_text(table):
    assert table in CONFIG_SECTIONS, f"add a [{table}] section to CONFIG_SECTIONS"
    missing = [key for key in CONFIG_TABLES[table] if key not in section_keys(table)]
    assert not missing, f"add '# key = default' lines for {missing} to CONFIG_SECTIONS[{table!r}]"


def test_the_init_text_lists_no_setting_config_py_does_not_know():
    assert set(CONFIG_SECTIONS) == set(CONFIG_TABLES)
    for table in CONFIG_SECTIONS:
        unknown = set(section_keys(table)) - set(CONFIG_TABLES[table])
        assert not unknown, f"[{table}] {unknown} are not in CONFIG_TABLES"


def test_the_text_as_written_loads_as_the_defaults(tmp_path):
    text = config_text()
    assert "[mail]" in text and text.startswith("# samtale.toml")
    assert load_config(write(tmp_path, text)) == Config()


def test_every_default_in_the_text_is_the_real_default(tmp_path):
    # Remove every '# ' in front of a setting: the file must then still mean the defaults.
    active = re.sub(r"^# ([a-z][a-z0-9_]*) = ", r"\1 = ", config_text(), flags=re.MULTILINE)
    data = tomllib.loads(active)
    assert {t: set(keys) for t, keys in data.items()} == {
        t: set(keys) for t, keys in CONFIG_TABLES.items()
    }
    assert load_config(write(tmp_path, active)) == Config()


@pytest.mark.parametrize(
    "name",
    ['Fjordlys "Energi" AS', "Sør-Øst Helse\\Bærum", "Ærlig & Ødegård-Lie\tAS", "Kontroll\x7ftegn"],
)
def test_a_given_setting_is_written_active_and_read_back_exactly(tmp_path, name):
    text = config_text({("organisation", "name"): name})
    assert load_config(write(tmp_path, text)).organisation == name
    assert re.findall(r"^(#? ?)name = ", text, re.MULTILINE) == [""]  # replaced, not added


def test_a_setting_that_is_not_listed_is_refused():
    with pytest.raises(ValueError, match="organisation"):
        config_text({("organisation", "sender"): "x"})
