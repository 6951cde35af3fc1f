"""STORYWALL = {...} is read once; an unknown key or bad value is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywall import settings
from storywall.errors import SettingsError

README = Path(__file__).parent.parent / "README.md"


def test_defaults_load_from_an_empty_dict():
    assert settings.load({}).stories_per_page == 12


def test_unknown_key_is_an_error_with_a_suggestion():
    with pytest.raises(SettingsError, match=r"unknown key 'stories_per_pag'.*stories_per_page"):
        settings.load({"stories_per_pag": 5})


@pytest.mark.parametrize("raw,words", [
    ({"stories_per_page": "12"}, "whole number"),
    ({"stories_per_page": True}, "whole number"),
    ({"stories_per_page": 0}, "at least 1"),
    ({"organisation": 5}, "must be text"),
    ({"donate_url": "http://example.org"}, "https://"),
])
def test_wrong_value_is_an_error_naming_the_key(raw, words):
    with pytest.raises(SettingsError, match=words) as err:
        settings.load(raw)
    assert f"STORYWALL['{next(iter(raw))}']" in str(err.value)


def test_settings_are_frozen():
    loaded = settings.load({"organisation": "Trust"})
    with pytest.raises(AttributeError):
        loaded.organisation = "Other"


@pytest.mark.parametrize("name", list(settings.Settings.help()))
def test_every_setting_is_documented_in_the_readme(name):
    assert f"`{name}`" in README.read_text(encoding="utf-8")
