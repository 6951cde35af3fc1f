"""``storywall import``: CSV, JSON and .eml exports through the same checks as the form."""

from __future__ import annotations

import csv
import json
from email.message import EmailMessage

import click
import pytest
from click.testing import CliRunner

from intakekit import SECRET_EMAIL, all_text, assert_complete, make_site, photo_bytes, visible_folders
from storywall.cli import cli
from storywall.intake import load, make_intake
from storywall.intake.cli import import_command, intake_command
from storywall.intake.imports import import_file


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def intake(site):
    return make_intake(load({"SITE_DIR": site.root}))


@pytest.fixture
def storywall():
    """The main group with the two commands added, as the lead registers them."""
    group = click.Group("storywall", commands=dict(cli.commands), params=cli.params,
                        callback=cli.callback)
    group.add_command(intake_command)
    group.add_command(import_command)
    return group


def write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


ROW = {"Title": "Clean-up day", "Story": "We pulled 40 bags out of the river.",
       "Name": "Sam T.", "Initiative": "water", "Type": "review", "Stars": "5",
       "Publish": "yes", "consent_photos": "yes", "Email": SECRET_EMAIL, "contact_ok": "yes",
       "photo_1": "river.jpg", "alt_1": "Bags of litter on the bank", "Date": "2026-09-12"}


def test_csv_rows_become_submissions_with_clean_photos(intake, site, tmp_path):
    (tmp_path / "river.jpg").write_bytes(photo_bytes(tmp_path))
    bad = {**ROW, "Title": "", "photo_1": "", "alt_1": ""}
    export = write_csv(tmp_path / "export.csv", [ROW, bad])
    outcomes = import_file(intake, export)
    assert [o.ok for o in outcomes] == [True, False]
    assert "row 3" in str(outcomes[1]) and "title" in str(outcomes[1])
    folder = site.root / "submissions" / outcomes[0].id
    meta = assert_complete(folder)
    assert meta["source"] == "import" and meta["rating"] == 5 and meta["kind"] == "review"
    assert str(meta["date"]) == "2026-09-12" and meta["author"] == "Sam T."
    assert SECRET_EMAIL.encode() not in all_text(folder)
    assert intake.store.contact(outcomes[0].id)["email"] == SECRET_EMAIL


def test_reimporting_the_same_file_does_not_double(intake, site, tmp_path):
    (tmp_path / "river.jpg").write_bytes(photo_bytes(tmp_path))
    export = write_csv(tmp_path / "export.csv", [ROW])
    first = import_file(intake, export)[0]
    again = import_file(intake, export)[0]
    assert again.duplicate and again.id == first.id
    assert len(visible_folders(site.root / "submissions")) == 1


def test_photo_paths_outside_the_export_folder_are_refused(intake, site, tmp_path):
    sub = tmp_path / "exports"
    sub.mkdir()
    (tmp_path / "river.jpg").write_bytes(photo_bytes(tmp_path))
    export = write_csv(sub / "export.csv", [{**ROW, "photo_1": "../river.jpg"}])
    outcome = import_file(intake, export)[0]
    assert not outcome.ok and "not in the export's folder" in str(outcome)
    assert visible_folders(site.root / "submissions") == []


def test_json_export(intake, site, tmp_path):
    (tmp_path / "a.jpg").write_bytes(photo_bytes(tmp_path))
    items = [{"title": "Warm hub", "body": "Soup and company every Tuesday.", "author": "Lee",
              "initiative": "parks", "consent": True, "consent_photos": True,
              "photos": [{"file": "a.jpg", "alt": "Soup on a table", "caption": "Tuesday"}]}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"submissions": items}))
    outcome = import_file(intake, export)[0]
    assert outcome.ok, str(outcome)
    meta = assert_complete(site.root / "submissions" / outcome.id)
    assert meta["photos"][0]["caption"] == "Tuesday" and meta["initiative"] == "parks"


def make_eml(tmp_path, contact="yes", alt_line=True) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ana Pereira <{SECRET_EMAIL}>"
    msg["To"] = "stories@example.org"
    msg["Subject"] = "Our new tap"
    lines = ["Initiative: water", "Publish: yes", "Photos: yes", f"Contact: {contact}",
             "Name: Ana P."]
    if alt_line:
        lines.append("Alt 1: A child drinking from the new tap")
    msg.set_content("\n".join(lines) + "\n\nThe tap works and the queue is gone.\n"
                    "-- \nAna Pereira\n+44 7700 900123\n")
    msg.add_attachment(photo_bytes(tmp_path), maintype="image", subtype="jpeg",
                       filename="IMG_0042.jpg")
    msg.add_attachment(b"%PDF-1.4 not a photo", maintype="application", subtype="pdf",
                       filename="form.pdf")
    return bytes(msg)


def test_eml_with_a_photo_attachment(intake, site, tmp_path):
    path = tmp_path / "story.eml"
    path.write_bytes(make_eml(tmp_path))
    outcome = import_file(intake, path)[0]
    assert outcome.ok, str(outcome)
    folder = site.root / "submissions" / outcome.id
    meta = assert_complete(folder)
    assert meta["source"] == "email" and meta["author"] == "Ana P." and meta["title"] == "Our new tap"
    text = (folder / "index.md").read_text()
    assert "The tap works" in text and "Initiative:" not in text
    blob = all_text(folder)
    for secret in (SECRET_EMAIL.encode(), b"7700 900123", b"Pereira", b"IMG_0042"):
        assert secret not in blob
    assert intake.store.contact(outcome.id)["email"] == SECRET_EMAIL


def test_eml_without_contact_consent_keeps_no_address(intake, tmp_path):
    path = tmp_path / "story.eml"
    path.write_bytes(make_eml(tmp_path, contact="no"))
    outcome = import_file(intake, path)[0]
    assert outcome.ok and intake.store.contact(outcome.id) is None


def test_eml_photo_without_alt_is_refused(intake, site, tmp_path):
    path = tmp_path / "story.eml"
    path.write_bytes(make_eml(tmp_path, alt_line=False))
    outcome = import_file(intake, path)[0]
    assert not outcome.ok and "alt_1" in str(outcome)
    assert visible_folders(site.root / "submissions") == []


def test_import_command(storywall, site, tmp_path):
    (tmp_path / "river.jpg").write_bytes(photo_bytes(tmp_path))
    export = write_csv(tmp_path / "export.csv", [ROW])
    result = CliRunner().invoke(storywall, ["--site", str(site.root), "import", str(export)])
    assert result.exit_code == 0, result.output
    assert "accepted as 20" in result.output and "1 of 1 imported" in result.output
    bad = write_csv(tmp_path / "bad.csv", [{**ROW, "Initiative": "nope"}])
    result = CliRunner().invoke(storywall, ["--site", str(site.root), "import", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "initiative: Choose one of the initiatives" in result.output


def test_intake_command_help(storywall):
    result = CliRunner().invoke(storywall, ["intake", "--help"])
    assert result.exit_code == 0 and "--git" in result.output and "--port" in result.output


def test_csv_json_and_eml_bring_a_video_in_stripped_like_the_form(intake, site, tmp_path):
    from email.message import EmailMessage

    import videomakers
    from intakekit import video_bytes
    from storywall import video

    clip = video_bytes(tmp_path)
    assert b"SecretPhone" in clip
    (tmp_path / "clip.mov").write_bytes(clip)
    row = {"Title": "The well on film", "Story": "Our new well.", "Name": "Sam T.",
           "Initiative": "water", "Publish": "yes", "consent_photos": "yes",
           "video": "clip.mov", "transcript": "Here is the new well."}
    csv_out = import_file(intake, write_csv(tmp_path / "export.csv", [row]))[0]
    item = {**{k: v for k, v in row.items() if k not in ("video", "transcript")},
            "Title": "The well on film, again",
            "video": {"file": "clip.mov", "transcript": "The well again."}}
    (tmp_path / "export.json").write_text(json.dumps([item]))
    json_out = import_file(intake, tmp_path / "export.json")[0]
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "Sam <sam@example.net>", "A film of the well"
    msg.set_content("Initiative: water\nPublish: yes\nPhotos: yes\n"
                    "Transcript: Look, clean water.\n\nWe filmed it.")
    msg.add_attachment(clip, maintype="video", subtype="quicktime", filename="IMG_7.MOV")
    (tmp_path / "film.eml").write_bytes(msg.as_bytes())
    eml_out = import_file(intake, tmp_path / "film.eml")[0]
    for outcome, transcript in ((csv_out, "Here is the new well."),
                                (json_out, "The well again."), (eml_out, "Look, clean water.")):
        assert outcome.ok, str(outcome)
        folder = site.root / "submissions" / outcome.id
        meta = assert_complete(folder)
        assert meta["video"]["transcript"] == transcript
        stored = folder / meta["video"]["file"]
        assert b"SecretPhone" not in stored.read_bytes() and video.inspect_video(stored) == []
        tags = videomakers.all_tags(stored)
        assert not [k for k in tags if "location" in k.lower() or "make" in k.lower()], tags


def test_a_video_outside_the_export_folder_is_refused(intake, tmp_path):
    export = write_csv(tmp_path / "export.csv", [{"Title": "Sneaky one", "Story": "x" * 20,
                                                  "Name": "Sam", "Initiative": "water",
                                                  "Publish": "yes", "video": "../etc.mp4",
                                                  "transcript": "Words."}])
    outcome = import_file(intake, export)[0]
    assert not outcome.ok and "not in the export's folder" in str(outcome)
