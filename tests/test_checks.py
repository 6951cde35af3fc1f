"""`storywall check`: every moderation rule has a failing case, with the right annotation."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import imagemakers
from storywall import checks
from storywall.cli import cli

GIVEN = dt.date(2026, 9, 1)
CLEAN = ("I gave because the well in our village kept failing every summer, and now the "
         "children fetch water in five minutes instead of an hour.")


def submit(site, sub_id="2026-09-01-abcdef", body=CLEAN, **fields):
    fields.setdefault("status", "pending")
    fields.setdefault("id", sub_id)
    return site.add_story(sub_id, body, folder="submissions", **fields)


def problems_for(site, path=None, **kwargs):
    return checks.check_paths(site.root, site.content, [path] if path else None, **kwargs)


def codes(problems):
    return {p.code for p in problems}


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, [str(p) for p in problems]
    return found[0]


def test_clean_submission_passes_quietly(site):
    submit(site)
    assert problems_for(site) == []


def test_schema_error_is_located(site):
    path = submit(site, date="someday")
    problem = only(problems_for(site, path), "bad-date")
    assert problem.is_error and problem.field == "date" and problem.line > 1


def test_unknown_initiative_is_an_error(site):
    problem = only(problems_for(site, submit(site, initiative="nowhere")), "unknown-initiative")
    assert problem.is_error


def test_missing_consent_is_an_error_in_the_inbox(site):
    path = submit(site, consent={"publish": False, "photos": False, "given_on": GIVEN})
    problem = only(problems_for(site, path), "missing-consent")
    assert problem.is_error and problem.field == "consent.publish"
    assert "missing-consent" in problem.hint


@pytest.mark.parametrize("text, what", [
    ("Ring me on 07700 900123.", "a phone number"),
    ("My number is +44 20 7946 0958.", "a phone number"),
    ("Call +1 (555) 123-4567 after six.", "a phone number"),
    ("Text 0033 6 12 34 56 78.", "a phone number"),
    ("Write to ana.p@example.org please.", "an e-mail address"),
    ("We live at 12 High Street, Leeds.", "a street address"),
    ("Our post goes to LS1 4AB.", "a postcode"),
    ("My neighbour John Smith drove me.", "the full name of someone else"),
    ("Mrs Jane Doe at the centre was kind.", "the full name of someone else"),
])
def test_personal_data_is_a_warning_a_moderator_confirms(site, text, what):
    path = submit(site, body=f"{CLEAN}\n\n{text}\n")
    problem = only(problems_for(site, path), "personal-data")
    assert problem.severity == "warning" and what in problem.message
    assert problem.line == 17 and problem.field == "body"


@pytest.mark.parametrize("text", [
    "We raised £1,500,000 in 2026.", "On 2026-07-10 we met 70 to 90 children.",
    "Between 1998 and 2004 I gave 12 times.", "Ana P. thanks my friend Sam.",
])
def test_ordinary_numbers_and_first_names_are_not_personal_data(site, text):
    assert problems_for(site, submit(site, body=f"{CLEAN} {text}")) == []


def test_the_authors_own_name_is_not_a_third_party(site):
    path = submit(site, author="Jane Doe", body=f"{CLEAN} Mrs Jane Doe, that's me.")
    assert problems_for(site, path) == []


def test_personal_data_in_front_matter_points_at_its_line(site):
    path = submit(site, quote="Call me on 07700 900123")
    problem = only(problems_for(site, path), "personal-data")
    assert problem.field == "quote"
    assert path.read_text().splitlines()[problem.line - 1].startswith("quote:")


def test_published_stories_are_not_rescanned_for_personal_data(site):
    site.add_story("approved", f"{CLEAN} Ring me on 07700 900123.")
    assert problems_for(site) == []


def test_word_list_from_the_site(site):
    (site.root / "moderation").mkdir()
    (site.root / "moderation" / "words.txt").write_text("# words to look at\nscam*\nidiot\n")
    path = submit(site, body=f"{CLEAN} What a scammer, total idiot.")
    found = [p for p in problems_for(site, path) if p.code == "word-list"]
    assert {p.message.split("'")[1] for p in found} == {"scammer", "idiot"}
    assert all(p.severity == "warning" for p in found)


def test_word_list_can_be_passed_in(site):
    path = submit(site, title="Darn good work")
    assert codes(problems_for(site, path, words=["darn"])) == {"word-list"}


@pytest.mark.parametrize("body, target", [
    ("See [this](javascript:alert(1)).", "javascript:alert(1"),
    ("Mail <ana@example.org>.", "ana@example.org"),
    ("A [relative](../admin/) link.", "../admin/"),
    ("![pixel](//tracker.example/p.gif)", "//tracker.example/p.gif"),
    ("Ref [here][r].\n\n[r]: ftp://files.example/x", "ftp://files.example/x"),
    ("Raw <data:text/html,hi>.", "data:text/html,hi"),
])
def test_links_must_be_http_or_https(site, body, target):
    problem = only(problems_for(site, submit(site, body=f"{CLEAN}\n\n{body}")), "bad-link")
    assert problem.is_error and target in problem.message


def test_https_links_are_fine(site):
    # (an <http://…> autolink is fine here too, but the schema warns about it as raw HTML)
    path = submit(site, body=f"{CLEAN} See [the report](https://example.org/report) "
                             "and [ours](http://example.org/).")
    assert problems_for(site, path) == []


def test_bad_links_in_published_stories_are_errors_too(site):
    site.add_story("approved", "[x](javascript:alert(1))")
    assert codes(problems_for(site)) == {"bad-link"}


def test_exact_duplicate_of_a_published_story_is_an_error(site):
    site.add_story("the-well", CLEAN)
    path = submit(site, body=CLEAN.upper().replace(",", ""))
    problem = only(problems_for(site, path), "duplicate")
    assert problem.is_error and "stories/the-well" in problem.message


def test_near_duplicate_is_a_warning(site):
    site.add_story("the-well", CLEAN)
    retold = CLEAN.replace("every summer", "each summer").replace("an hour", "a whole hour")
    problem = only(problems_for(site, submit(site, body=retold)), "near-duplicate")
    assert problem.severity == "warning" and "stories/the-well" in problem.message


def test_a_different_story_is_not_a_duplicate(site):
    site.add_story("the-well", CLEAN)
    other = ("The breakfast club at my school means my son starts the day fed and calm, "
             "and his teacher says he concentrates much better in the mornings now.")
    assert problems_for(site, submit(site, body=other)) == []


def test_already_approved_and_mismatched_id(site):
    site.add_story("the-well", "Something else entirely, told in other words.",
                   id="2026-09-01-abcdef")
    path = submit(site)
    assert {"already-approved"} <= codes(problems_for(site, path))
    wrong = submit(site, sub_id="2026-09-03-zzzzzz", id="2026-09-03-yyyyyy")
    assert only(problems_for(site, wrong), "id-mismatch").is_error


def test_a_slug_that_would_collide_is_a_notice(site):
    site.add_story("why-i-give", "Another story with the same title, in other words.")
    path = submit(site)  # title "Why I give"
    problem = only(problems_for(site, path), "slug-taken")
    assert problem.severity == "notice" and not problem.is_error
    assert checks.github_annotation(problem).startswith("::notice file=")


def test_alt_text_must_describe_the_photo(site):
    folder = submit(site).parent
    imagemakers.jpeg(folder / "p1.jpg")
    path = submit(site, photos=[{"file": "p1.jpg", "alt": "IMG_1234.jpg"}],
                  consent={"publish": True, "photos": True, "given_on": GIVEN})
    problem = only(problems_for(site, path), "alt-text")
    assert problem.severity == "warning" and problem.field == "photos[0].alt"


def test_missing_alt_text_is_a_schema_error(site):
    folder = submit(site).parent
    imagemakers.jpeg(folder / "p1.jpg")
    path = submit(site, photos=[{"file": "p1.jpg"}],
                  consent={"publish": True, "photos": True, "given_on": GIVEN})
    problem = next(p for p in problems_for(site, path) if p.field == "photos[0].alt")
    assert problem.is_error and "missing" in problem.message


def test_photo_with_metadata_is_an_error_in_the_inbox(site):
    folder = submit(site).parent
    imagemakers.jpeg_with_everything(folder / "p1.jpg")
    path = submit(site, photos=[{"file": "p1.jpg", "alt": "Children at the new well"}],
                  consent={"publish": True, "photos": True, "given_on": GIVEN})
    problem = only(problems_for(site, path), "photo-metadata")
    assert problem.is_error and "GPS" in problem.message and problem.field == "photos[0].file"


@pytest.mark.parametrize("make, code", [
    (imagemakers.truncated_jpeg, "photo-truncated"),
    (imagemakers.text_as_jpg, "photo-not-an-image"),
    (imagemakers.png_header_bomb, "photo-too-many-pixels"),
])
def test_broken_or_over_limit_photos_are_errors(site, make, code):
    folder = submit(site).parent
    name = "p1.png" if make is imagemakers.png_header_bomb else "p1.jpg"
    make(folder / name)
    path = submit(site, photos=[{"file": name, "alt": "Children at the new well"}],
                  consent={"publish": True, "photos": True, "given_on": GIVEN})
    assert only(problems_for(site, path), code).is_error


def test_photo_file_not_listed_is_a_warning(site):
    folder = submit(site).parent
    imagemakers.jpeg(folder / "stray.jpg")
    assert only(problems_for(site, folder), "unlisted-photo").severity == "warning"


def test_github_format_from_the_command_line(site):
    submit(site, body=f"{CLEAN}\n\nRing me on 07700 900123.")
    submit(site, sub_id="2026-09-02-abcdef",
           consent={"publish": False, "photos": False, "given_on": GIVEN})
    result = CliRunner().invoke(cli, ["--site", str(site.root), "check", "--format", "github"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert ("::warning file=submissions/2026-09-01-abcdef/index.md,line=17,title=body::"
            "may contain a phone number ('07700 900123')") in "\n".join(lines)
    assert any(l.startswith("::error file=submissions/2026-09-02-abcdef/index.md,line=")
               and "title=consent.publish::" in l for l in lines)


def test_warnings_alone_exit_0(site):
    submit(site, body=f"{CLEAN}\n\nRing me on 07700 900123.")
    result = CliRunner().invoke(cli, ["--site", str(site.root), "check"])
    assert result.exit_code == 0
    assert "submissions/2026-09-01-abcdef/index.md:17: body: may contain a phone number" \
        in result.output


def test_annotation_escapes_newlines_and_commas():
    from storywall.errors import Problem

    line = checks.github_annotation(Problem("a,b:c.md", 3, "body", "one\ntwo", "", "warning"))
    assert line == "::warning file=a%2Cb%3Ac.md,line=3,title=body::one%0Atwo"


def test_slugify_is_readable_and_ascii():
    assert checks.slugify("Why I give — to São Paulo's well!") == "why-i-give-to-sao-paulos-well"
    assert checks.slugify("!!!") == "story"
    assert len(checks.slugify("word " * 40)) <= 60


def test_two_waiting_copies_of_one_story_are_warnings(site):
    submit(site)
    submit(site, sub_id="2026-09-02-abcdef", body=CLEAN.replace("every summer", "each summer"))
    found = [p for p in problems_for(site) if p.code == "duplicate-submission"]
    assert len(found) == 2 and all(p.severity == "warning" for p in found)
    assert "submissions/2026-09-02-abcdef" in found[0].message
