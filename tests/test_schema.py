"""The one schema: every rule has a failing example with a one-line, located error."""

from __future__ import annotations

import datetime as dt

import pytest

from sitekit import document, initiative_fields, story_fields
from storywall import schema

KNOWN = {"water", "meals"}


def parse(tmp_path, text: str | bytes, files=()):
    folder = tmp_path / "stories" / "a-story"
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_bytes(b"x")
    path = folder / "index.md"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return schema.parse_story(path, initiatives=KNOWN, label="content/stories/a-story/index.md")


def errors_of(problems):
    return [p for p in problems if p.is_error]


def test_valid_story_parses_to_typed_fields(tmp_path):
    story, problems = parse(tmp_path, document(story_fields(tags=["water"]), "Hello."))
    assert errors_of(problems) == []
    assert story.title == "Why I give" and story.date == dt.date(2026, 9, 1)
    assert story.consent.publish is True and story.tags == ("water",)
    assert story.slug == "a-story" and story.is_published


def test_quoted_dates_bom_and_crlf_are_accepted(tmp_path):
    text = document(story_fields(), "Hello.").replace("2026-09-01", "'2026-09-01'")
    raw = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    story, problems = parse(tmp_path, raw)
    assert errors_of(problems) == [] and story.date == dt.date(2026, 9, 1)


BAD_STORIES = [
    # (description, overrides, expected field, expected words)
    ("missing title", {"title": None}, "title", "is missing"),
    ("title too short", {"title": "Hi"}, "title", "too short"),
    ("title too long", {"title": "x" * 121}, "title", "too long"),
    ("title wrong type", {"title": ["a", "list"]}, "title", "must be text"),
    ("kind unknown", {"kind": "poem"}, "kind", "not allowed"),
    ("author missing", {"author": None}, "author", "is missing"),
    ("author too long", {"author": "a" * 61}, "author", "too long"),
    ("bad date", {"date": "31/10/2026"}, "date", "not a date"),
    ("impossible date", {"date": "2026-02-30"}, "date", "not a date"),
    ("rating on a story", {"rating": 4}, "rating", "a story has no rating"),
    ("review without rating", {"kind": "review"}, "rating", "is missing"),
    ("rating too high", {"kind": "review", "rating": 6}, "rating", "out of range"),
    ("rating zero", {"kind": "review", "rating": 0}, "rating", "out of range"),
    ("rating not whole", {"kind": "review", "rating": 4.5}, "rating", "whole number"),
    ("rating boolean", {"kind": "review", "rating": True}, "rating", "whole number"),
    ("unknown initiative", {"initiative": "watr"}, "initiative", "does not exist"),
    ("initiative not a slug", {"initiative": "Clean Water"}, "initiative", "not a slug"),
    ("consent missing", {"consent": None}, "consent", "is missing"),
    ("consent publish false", {"consent": {"publish": False, "photos": False,
                                           "given_on": "2026-09-01"}},
     "consent.publish", "is not true"),
    ("consent publish a string", {"consent": {"publish": "true", "photos": False,
                                              "given_on": "2026-09-01"}},
     "consent.publish", "true or false"),
    ("consent withdrawn but published",
     {"consent": {"publish": True, "photos": False, "given_on": "2026-09-01",
                  "withdrawn_on": "2026-10-01"}}, "consent.withdrawn_on", "withdrawn"),
    ("consent given_on missing", {"consent": {"publish": True, "photos": False}},
     "consent.given_on", "is missing"),
    ("photos without photo consent",
     {"photos": [{"file": "a.jpg", "alt": "A pump"}]}, "consent.photos", "not true"),
    ("missing alt text",
     {"photos": [{"file": "a.jpg"}], "consent": {"publish": True, "photos": True,
                                                 "given_on": "2026-09-01"}},
     "photos[0].alt", "is missing"),
    ("empty alt text",
     {"photos": [{"file": "a.jpg", "alt": "  "}], "consent": {"publish": True, "photos": True,
                                                            "given_on": "2026-09-01"}},
     "photos[0].alt", "is empty"),
    ("path-like photo name",
     {"photos": [{"file": "../x.jpg", "alt": "A pump"}],
      "consent": {"publish": True, "photos": True, "given_on": "2026-09-01"}},
     "photos[0].file", "not a plain file name"),
    ("absolute photo path",
     {"photos": [{"file": "/etc/passwd.jpg", "alt": "A pump"}],
      "consent": {"publish": True, "photos": True, "given_on": "2026-09-01"}},
     "photos[0].file", "not a plain file name"),
    ("photo of unsupported type",
     {"photos": [{"file": "x.svg", "alt": "A pump"}],
      "consent": {"publish": True, "photos": True, "given_on": "2026-09-01"}},
     "photos[0].file", "unsupported type"),
    ("photo file absent",
     {"photos": [{"file": "gone.jpg", "alt": "A pump"}],
      "consent": {"publish": True, "photos": True, "given_on": "2026-09-01"}},
     "photos[0].file", "not in the story's folder"),
    ("too many photos",
     {"photos": [{"file": "a.jpg", "alt": "A pump"}] * 7,
      "consent": {"publish": True, "photos": True, "given_on": "2026-09-01"}},
     "photos", "limit 6"),
    ("source unknown", {"source": "tiktok"}, "source", "not allowed"),
    ("status unknown", {"status": "live"}, "status", "not allowed"),
    ("bad id", {"id": "12345"}, "id", "not a submission id"),
    ("too many tags", {"tags": [f"t{i}" for i in range(11)]}, "tags", "limit 10"),
    ("tag too long", {"tags": ["x" * 31]}, "tags[0]", "too long"),
    ("featured not boolean", {"featured": "yes please"}, "featured", "true or false"),
    ("quote too long", {"quote": "q" * 201}, "quote", "too long"),
    ("unknown field", {"colour": "red"}, "colour", "unknown field"),
    ("pelican's save_as is not allowed", {"save_as": "index.html"}, "save_as", "unknown field"),
    ("pelican's template is not allowed", {"template": "page"}, "template", "unknown field"),
    ("reply without text", {"reply": {"author": "Trust", "date": "2026-09-02"}},
     "reply.text", "is missing"),
    ("video without transcript", {"video": {"file": "v.mp4"}}, "video.transcript", "is missing"),
]


@pytest.mark.parametrize("overrides,field,words",
                         [case[1:] for case in BAD_STORIES], ids=[c[0] for c in BAD_STORIES])
def test_bad_story_field_gives_one_line_error_naming_file_and_field(tmp_path, overrides, field,
                                                                   words):
    story, problems = parse(tmp_path, document(story_fields(**overrides), "Hello."),
                            files=("a.jpg",))
    assert story is None
    matching = [p for p in errors_of(problems) if p.field == field]
    assert matching, [str(p) for p in problems]
    line = str(matching[0])
    assert line.startswith(f"content/stories/a-story/index.md:{matching[0].line}: {field}: ")
    assert words in line and "\n" not in line and " — " in line
    assert matching[0].line >= 1


def test_error_points_at_the_line_of_the_field(tmp_path):
    text = document(story_fields(kind="review", rating=9), "Hello.")
    _, problems = parse(tmp_path, text)
    rating_line = text.split("\n").index("rating: 9") + 1
    assert [p.line for p in problems if p.field == "rating"] == [rating_line]


@pytest.mark.parametrize("raw,words", [
    (b"---\ntitle: !!python/object/apply:os.system ['echo hi']\n---\nx", "YAML tags"),
    (b"---\ntitle: !!python/name:os.system\n---\nx", "YAML tags"),
    (b"---\na: &x [1]\nb: *x\n---\nx", "aliases"),
    (b"---\ntitle: caf\xe9\n---\nx", "not valid UTF-8"),
    (b"\xff\xfe-\x00-\x00-\x00", "not valid UTF-8"),
    (b"title: no fences\n", "does not start"),
    (b"---\ntitle: never closed\n", "not closed"),
    (b"---\ntitle: [unclosed\n---\nx", "front matter"),
    (b"---\ntitle: One\ntitle: Two\n---\nx", "given twice"),
    (b"---\n- a list\n---\nx", "field: value"),
])
def test_unsafe_or_broken_files_give_one_line_error(tmp_path, raw, words):
    story, problems = parse(tmp_path, raw)
    assert story is None and problems
    line = str(problems[0])
    assert line.startswith("content/stories/a-story/index.md:") and "\n" not in line
    assert words in line


def test_yaml_tag_never_runs_code(tmp_path):
    marker = tmp_path / "ran"
    raw = f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\nx"
    parse(tmp_path, raw)
    assert not marker.exists()


def test_empty_body_is_an_error(tmp_path):
    _, problems = parse(tmp_path, document(story_fields(), "\n\n"))
    assert [p.field for p in errors_of(problems)] == ["body"]


def test_raw_html_in_body_is_a_warning_not_an_error(tmp_path):
    story, problems = parse(tmp_path, document(story_fields(), "Hi <b>there</b>"))
    assert story is not None
    assert [(p.field, p.severity, p.code) for p in problems] == [("body", "warning", "raw-html")]


def test_unpublished_states_are_not_published(tmp_path):
    pending, _ = parse(tmp_path, document(story_fields(status="pending"), "x"))
    assert pending is not None and not pending.is_published
    withdrawn, _ = parse(tmp_path, document(story_fields(
        status="withdrawn", consent={"publish": False, "photos": False,
                                     "given_on": "2026-09-01", "withdrawn_on": "2026-10-01"}),
        "x"))
    assert withdrawn is not None and not withdrawn.is_published


def write_initiative(tmp_path, text, name="water.md"):
    folder = tmp_path / "initiatives"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return schema.parse_initiative(path, label=f"content/initiatives/{name}")


def test_initiative_current_figure_is_newest_per_label(tmp_path):
    initiative, problems = write_initiative(tmp_path, document(initiative_fields(), "Body"))
    assert errors_of(problems) == []
    current = initiative.current_figures()
    assert [f.value for f in current] == [450]
    assert [f.value for f in initiative.history("Children with safe water")] == [210, 450]
    assert initiative.headline.value == 450


BAD_INITIATIVES = [
    ({"title": None}, "title", "is missing"),
    ({"status": "paused"}, "status", "not allowed"),
    ({"donate_url": "http://example.org/donate"}, "donate_url", "https://"),
    ({"donate_url": "javascript:alert(1)"}, "donate_url", "https://"),
    ({"figures": [{"label": "Wells", "value": "many", "unit": "wells", "as_of": "2026-01-01",
                   "source": "Report"}]}, "figures[0].value", "must be a number"),
    ({"figures": [{"label": "Wells", "value": 3, "unit": "wells", "as_of": "soon",
                   "source": "Report"}]}, "figures[0].as_of", "not a date"),
    ({"figures": [{"label": "Wells", "value": 3, "unit": "wells", "as_of": "2026-01-01"}]},
     "figures[0].source", "is missing"),
    ({"goal": {"label": "Wells", "value": -1}}, "goal.value", "out of range"),
    ({"faq": [{"q": "Why?"}]}, "faq[0].a", "is missing"),
    ({"photo": "x.jpg", "alt": None}, "photo", "not in the story's folder"),
    ({"template": "page"}, "template", "unknown field"),
]


@pytest.mark.parametrize("overrides,field,words", BAD_INITIATIVES)
def test_bad_initiative_field_gives_one_line_error(tmp_path, overrides, field, words):
    fields = initiative_fields(**{k: v for k, v in overrides.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
    initiative, problems = write_initiative(tmp_path, document(fields, "Body"))
    assert initiative is None
    line = next(str(p) for p in errors_of(problems) if p.field == field)
    assert line.startswith("content/initiatives/water.md:") and words in line


def test_initiative_file_name_must_be_a_slug(tmp_path):
    initiative, problems = write_initiative(tmp_path, document(initiative_fields(), "B"),
                                            name="Clean Water.md")
    assert initiative is None and problems[0].field == "file name"


def test_page_accepts_only_known_templates(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "about.md").write_text("---\ntitle: About us\ntemplate: evil\n---\nHi")
    page, problems = schema.parse_page(folder / "about.md")
    assert page is None and problems[0].field == "template"
