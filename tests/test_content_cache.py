"""Each file is parsed and rendered once per change: warm builds reuse the cache."""

from __future__ import annotations

import functools
import os

from storywall import build, content, schema


def count_parses(monkeypatch):
    calls = []
    real = schema.parse_story

    @functools.wraps(real)
    def counting(path, **kwargs):
        calls.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(schema, "parse_story", counting)
    return calls


def test_warm_build_parses_no_unchanged_story(site, monkeypatch):
    site.add_story("one", "First.")
    site.add_story("two", "Second.")
    build.build(site.root)
    content._cache.clear()  # a new process: only the on-disk cache remains
    calls = count_parses(monkeypatch)
    build.build(site.root)
    assert calls == []


def test_changed_story_is_parsed_again_and_rebuilt(site, monkeypatch):
    site.add_story("one", "First.")
    path = site.add_story("two", "Second.")
    build.build(site.root)
    content._cache.clear()
    calls = count_parses(monkeypatch)
    site.add_story("two", "Second, edited.")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    build.build(site.root)
    assert [p.parent.name for p in calls] == ["two"]
    assert "Second, edited." in (site.output / "stories" / "two" / "index.html").read_text()


def test_corrupt_cache_file_is_ignored(site):
    site.add_story("one", "First.")
    cache = site.root / ".cache" / "storywall"
    cache.mkdir(parents=True)
    (cache / content.CACHE_FILE).write_bytes(b"not a pickle")
    content._cache.clear()
    build.build(site.root)
    assert (site.output / "stories" / "one" / "index.html").is_file()
