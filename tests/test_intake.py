"""The intake server in-process (Flask's test client): every field rule and limit."""

from __future__ import annotations

import io
import logging
import sqlite3

import pytest

import imagemakers
from intakekit import (ORIGIN, SECRET_EMAIL, all_text, assert_complete, config, fields,
                       make_site, photo_bytes, visible_folders)
from storywall.errors import StoryWallError
from storywall.intake import create_app

JSON = {"Origin": ORIGIN, "Accept": "application/json"}


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def make_client(site):
    def make(**overrides):
        return create_app(config(site, **overrides)).test_client()
    return make


@pytest.fixture
def client(make_client):
    return make_client()


def post(client, data, headers=JSON, photos=None):
    data = dict(data)
    for name, (filename, content) in (photos or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post("/submit", data=data, headers=headers, content_type="multipart/form-data")


def submissions(site):
    return site.root / "submissions"


def assert_nothing_written(site):
    assert visible_folders(submissions(site)) == []
    assert list((submissions(site) / ".incoming").iterdir()) == []
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    assert con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0


# --- accepted ------------------------------------------------------------------


def test_valid_story_with_photo_is_stored_whole_and_clean(client, site, tmp_path):
    r = post(client, fields(consent_photos="yes", alt_1="A new well", caption_1="Kisoro",
                            email=SECRET_EMAIL, consent_contact="yes"),
             photos={"photo_1": ("IMG_0001.JPG", photo_bytes(tmp_path))})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "pending" and body["duplicate"] is False
    assert body["thanks_url"] == f"{ORIGIN}/thanks/?id={body['id']}&initiative=water"
    folder = submissions(site) / body["id"]
    meta = assert_complete(folder)
    assert meta["photos"] == [{"file": "photo-1.jpg", "alt": "A new well", "caption": "Kisoro"}]
    assert meta["source"] == "form" and meta["consent"]["publish"] is True
    leaked = all_text(folder)
    assert SECRET_EMAIL.encode() not in leaked and b"ana.secret" not in leaked
    assert b"IMG_0001" not in leaked and b"secret comment" not in leaked
    app = client.application
    contact = app.extensions["storywall_intake"].store.contact(body["id"])
    assert contact == {"email": SECRET_EMAIL, "contact_ok": True}


def test_review_with_rating_is_accepted(client, site):
    r = post(client, fields(kind="review", rating="4"))
    assert r.status_code == 201
    assert assert_complete(submissions(site) / r.get_json()["id"])["rating"] == 4


def test_a_story_drops_a_leftover_star_choice(client, site):
    r = post(client, fields(kind="story", rating="5"))
    assert r.status_code == 201
    assert "rating" not in assert_complete(submissions(site) / r.get_json()["id"])


def test_form_post_redirects_to_thanks(client):
    r = post(client, fields(), headers={"Origin": ORIGIN})
    assert r.status_code == 303
    assert r.headers["Location"].startswith(f"{ORIGIN}/thanks/?id=")
    assert r.headers["Location"].endswith("&initiative=water")


def test_resubmission_returns_the_first_id(client, site):
    first = post(client, fields()).get_json()["id"]
    again = post(client, fields())
    assert again.status_code == 200 and again.get_json() == {**again.get_json(), "id": first,
                                                               "duplicate": True}
    assert [p.name for p in visible_folders(submissions(site))] == [first]
    assert post(client, fields(title="Why I give, again")).get_json()["id"] != first


def test_raw_html_is_kept_as_text_with_a_warning(client, site):
    r = post(client, fields(story="I <b>love</b> it"))
    assert r.status_code == 201 and r.get_json()["warnings"] == ["contains HTML markup"]


# --- field rules ---------------------------------------------------------------

FIELD_CASES = [
    ("title missing", {"title": None}, "title", "Please fill in title"),
    ("title too short", {"title": "Hi"}, "title", "too short"),
    ("title too long", {"title": "x" * 121}, "title", "limit 120"),
    ("story missing", {"story": None}, "story", "Please write your story"),
    ("story too long", {"story": "x" * 10_001}, "story", "limit 10000"),
    ("author missing", {"author": None}, "author", "Please fill in"),
    ("author too long", {"author": "x" * 61}, "author", "limit 60"),
    ("initiative missing", {"initiative": None}, "initiative", "Please fill in"),
    ("initiative unknown", {"initiative": "moon-base"}, "initiative", "Choose one of"),
    ("initiative not a slug", {"initiative": "../x"}, "initiative", "not a slug"),
    ("kind wrong", {"kind": "poem"}, "kind", "story or a review"),
    ("kind missing", {"kind": None}, "kind", "story or a review"),
    ("review without rating", {"kind": "review"}, "rating", "rating from 1 to 5"),
    ("rating too high", {"kind": "review", "rating": "6"}, "rating", "rating from 1 to 5"),
    ("rating zero", {"kind": "review", "rating": "0"}, "rating", "rating from 1 to 5"),
    ("rating not a number", {"kind": "review", "rating": "lots"}, "rating", "1 to 5"),
    ("no consent to publish", {"consent_publish": None}, "consent_publish", "Tick this box"),
    ("bad e-mail", {"email": "not-an-address", "consent_contact": "yes"}, "email",
     "does not look like"),
    ("e-mail too long", {"email": "a" * 250 + "@x.org", "consent_contact": "yes"}, "email",
     "does not look like"),
    ("e-mail without consent", {"email": SECRET_EMAIL}, "consent_contact", "Tick this box"),
    ("contact without e-mail", {"consent_contact": "yes"}, "email", "Add your e-mail"),
    ("bad phone", {"phone": "call me maybe", "consent_contact": "yes"}, "phone",
     "does not look like a mobile number"),
    ("national phone without a country code", {"phone": "07700 900123",
                                                "consent_contact": "yes"}, "phone",
     "with the country code"),
    ("phone without consent", {"phone": "+44 7700 900123"}, "consent_contact", "Tick this box"),
    ("texts without a phone", {"email": SECRET_EMAIL, "consent_contact": "yes",
                               "channel": "sms"}, "phone", "Add your mobile number"),
    ("e-mail chosen without one", {"phone": "+44 7700 900123", "consent_contact": "yes",
                                   "channel": "email"}, "email", "or choose text message"),
    ("unknown channel", {"channel": "pigeon"}, "channel", "Choose e-mail or text message"),
]


@pytest.mark.parametrize("overrides, field, words", [c[1:] for c in FIELD_CASES],
                         ids=[c[0] for c in FIELD_CASES])
def test_field_rule(client, site, overrides, field, words):
    r = post(client, fields(**overrides))
    assert r.status_code == 422, r.get_json()
    errors = r.get_json()["error"]["fields"]
    assert field in errors and words in errors[field], errors
    assert_nothing_written(site)


PHOTO_CASES = [
    ("alt missing", {}, "alt_1", "describe the photo"),
    ("alt too long", {"alt_1": "x" * 251}, "alt_1", "limit 250"),
    ("caption too long", {"alt_1": "A well", "caption_1": "x" * 301}, "caption_1", "limit 300"),
    ("no photo consent", {"alt_1": "A well", "consent_photos": None}, "consent_photos",
     "publish your photos"),
]


@pytest.mark.parametrize("overrides, field, words", [c[1:] for c in PHOTO_CASES],
                         ids=[c[0] for c in PHOTO_CASES])
def test_photo_field_rule(client, site, tmp_path, overrides, field, words):
    data = fields(**{"consent_photos": "yes", **overrides})
    r = post(client, data, photos={"photo_1": ("a.jpg", photo_bytes(tmp_path))})
    assert r.status_code == 422
    errors = r.get_json()["error"]["fields"]
    assert field in errors and words in errors[field], errors
    assert_nothing_written(site)


def test_photo_errors_name_the_right_slot(client, tmp_path):
    data = fields(consent_photos="yes", alt_1="First")
    r = post(client, data, photos={"photo_1": ("a.jpg", photo_bytes(tmp_path)),
                                   "photo_3": ("c.jpg", photo_bytes(tmp_path))})
    assert list(r.get_json()["error"]["fields"]) == ["alt_3"]


BAD_PHOTOS = [
    ("text named .jpg", imagemakers.text_as_jpg, "not-an-image"),
    ("svg named .png", imagemakers.svg_as_png, "not-an-image"),
    ("truncated jpeg", imagemakers.truncated_jpeg, "truncated"),
    ("header bomb", imagemakers.png_header_bomb, "too-many-pixels"),
    ("bmp", imagemakers.bmp, "unsupported-format"),
]


@pytest.mark.parametrize("maker, code", [c[1:] for c in BAD_PHOTOS], ids=[c[0] for c in BAD_PHOTOS])
def test_non_images_and_broken_photos_are_refused(client, site, tmp_path, maker, code):
    content = maker(tmp_path / "upload.jpg").read_bytes()
    r = post(client, fields(consent_photos="yes", alt_1="A well"),
             photos={"photo_1": ("upload.jpg", content)})
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == code and error["fields"]["photo_1"].startswith("Photo 1:")
    assert_nothing_written(site)


def test_photo_byte_limit_is_a_setting(make_client, site, tmp_path):
    client = make_client(MAX_PHOTO_BYTES=2_000)
    r = post(client, fields(consent_photos="yes", alt_1="A well"),
             photos={"photo_1": ("a.jpg", photo_bytes(tmp_path, size=(400, 300)))})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "too-large"
    assert_nothing_written(site)


def test_photo_pixel_limit_is_a_setting(make_client, site, tmp_path):
    client = make_client(MAX_PHOTO_PIXELS=1_000)
    r = post(client, fields(consent_photos="yes", alt_1="A well"),
             photos={"photo_1": ("a.jpg", photo_bytes(tmp_path))})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "too-many-pixels"


# --- request limits --------------------------------------------------------------


def test_too_many_photos(client, site, tmp_path):
    pics = {f"photo_{n}": (f"{n}.jpg", photo_bytes(tmp_path)) for n in range(1, 7)}
    pics["photo_7"] = ("7.jpg", photo_bytes(tmp_path))
    r = post(client, fields(consent_photos="yes"), photos=pics)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too-many-files"
    assert_nothing_written(site)


def test_max_photos_is_a_setting(make_client, site, tmp_path):
    client = make_client(MAX_PHOTOS=1)
    pics = {f"photo_{n}": (f"{n}.jpg", photo_bytes(tmp_path)) for n in (1, 2)}
    r = post(client, fields(consent_photos="yes", alt_1="a", alt_2="b"), photos=pics)
    assert r.status_code == 413


def test_max_photos_cannot_exceed_the_schema():
    with pytest.raises(StoryWallError, match="MAX_PHOTOS"):
        create_app({"MAX_PHOTOS": 7})


def test_request_body_limit(make_client, site, tmp_path):
    client = make_client(MAX_REQUEST_BYTES=20_000)
    r = post(client, fields(consent_photos="yes", alt_1="A well"),
             photos={"photo_1": ("a.jpg", photo_bytes(tmp_path, size=(600, 400)) * 3)})
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too-large"
    assert "MB" in r.get_json()["error"]["message"]
    assert_nothing_written(site)


def test_text_field_limit(make_client, site):
    client = make_client(MAX_FIELD_BYTES=1_000)
    r = post(client, fields(story="x" * 5_000))
    assert r.status_code == 413
    assert_nothing_written(site)


def test_form_parts_limit(make_client, site):
    client = make_client(MAX_FORM_PARTS=12)
    r = post(client, fields(**{f"extra{n}": "x" for n in range(20)}))
    assert r.status_code == 413


def test_unexpected_file_field(client, site, tmp_path):
    r = post(client, fields(), photos={"avatar": ("a.jpg", photo_bytes(tmp_path))})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unexpected-file"


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "..\\..\\boot.ini", "/etc/x.jpg",
                                  ".hidden.jpg", "a\x00b.jpg"])
def test_path_traversal_file_names(client, site, tmp_path, name):
    r = post(client, fields(consent_photos="yes", alt_1="A well"),
             photos={"photo_1": (name, photo_bytes(tmp_path))})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad-filename"
    assert_nothing_written(site)


def test_malformed_multipart(client, site):
    body = b"--XB\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello"  # never ends
    r = client.post("/submit", data=body, headers=JSON,
                    content_type="multipart/form-data; boundary=XB")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed"
    assert_nothing_written(site)


def test_multipart_without_boundary(client, site):
    r = client.post("/submit", data=b"x", headers=JSON, content_type="multipart/form-data")
    assert r.status_code == 400


def test_unsupported_content_type(client, site):
    r = client.post("/submit", data=b"{}", headers=JSON, content_type="application/json")
    assert r.status_code == 415


# --- abuse -------------------------------------------------------------------------


def test_filled_honeypot(client, site):
    r = post(client, fields(website="http://spam.example"))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "honeypot"
    assert_nothing_written(site)


def test_wrong_origin(client, site):
    r = post(client, fields(), headers={**JSON, "Origin": "https://evil.example"})
    assert r.status_code == 403 and "site" in r.get_json()["error"]["message"]
    assert_nothing_written(site)


def test_null_origin(client, site):
    r = post(client, fields(), headers={**JSON, "Origin": "null"})
    assert r.status_code == 403


def test_missing_origin_refused_unless_allowed(make_client, site):
    r = post(make_client(), fields(), headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "no-origin"
    r = post(make_client(REQUIRE_ORIGIN=False), fields(), headers={"Accept": "application/json"})
    assert r.status_code == 201


def test_referer_stands_in_for_origin(client):
    r = post(client, fields(), headers={"Accept": "application/json",
                                        "Referer": ORIGIN + "/share/?initiative=water"})
    assert r.status_code == 201


def test_extra_allowed_origins(make_client):
    client = make_client(ALLOWED_ORIGINS="https://www.example.org, https://example.org")
    r = post(client, fields(), headers={**JSON, "Origin": "https://www.example.org"})
    assert r.status_code == 201
    assert r.headers["Access-Control-Allow-Origin"] == "https://www.example.org"


def test_rate_limit_per_client(make_client):
    client = make_client(RATE_LIMIT=(2, 600))
    assert post(client, fields(title="One story")).status_code == 201
    assert post(client, fields(title="Two stories")).status_code == 201
    r = post(client, fields(title="Three stories"))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_unknown_setting_is_an_error():
    with pytest.raises(StoryWallError, match="did you mean 'SITE_URL'"):
        create_app({"SITE_ULR": "https://x.example"})


# --- no JavaScript: the form comes back ----------------------------------------------


def test_rejected_form_post_renders_the_form_with_text_and_messages(client, site):
    r = post(client, fields(title="Hi", story="My <script>alert(1)</script> story",
                            email=SECRET_EMAIL, consent_contact="yes"),
             headers={"Origin": ORIGIN})
    assert r.status_code == 422 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert 'value="Hi"' in html and "My &lt;script&gt;alert(1)&lt;/script&gt; story" in html
    assert "<script>alert(1)" not in html
    assert 'id="error-title">Title is too short' in html
    assert 'aria-invalid="true"' in html and 'href="#field-title"' in html
    assert f'value="{SECRET_EMAIL}"' in html  # their own address, back to them only
    assert 'action="/submit"' in html and "Green parks" in html


def test_get_submit_shows_the_form(client):
    r = client.get("/submit")
    assert r.status_code == 200 and 'id="share-form"' in r.get_data(as_text=True)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_one_log_line_per_submission_without_personal_data(client, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="storywall")
    post(client, fields(email=SECRET_EMAIL, consent_contact="yes", author="Zebediah Q."),
         headers={**JSON, "X-Forwarded-For": "203.0.113.9"})
    post(client, fields(title="x"))
    lines = [r.getMessage() for r in caplog.records if "submission id=" in r.getMessage()]
    assert len(lines) == 2
    assert "outcome=accepted" in lines[0] and "outcome=rejected reason=too-short" in lines[1]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (SECRET_EMAIL, "Zebediah", "127.0.0.1", "203.0.113.9", "Why I give"):
        assert secret not in text


def test_without_a_theme_the_plain_form_still_keeps_the_text(make_client, tmp_path):
    client = make_client(THEME_DIR=tmp_path / "no-theme")
    r = post(client, fields(title="Hi", story="My <b>own</b> words"), headers={"Origin": ORIGIN})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "My &lt;b&gt;own&lt;/b&gt; words" in html
    assert "Title is too short" in html and 'value="Hi"' in html


def test_a_mobile_number_reaches_only_the_private_store(client, site):
    r = post(client, fields(phone="+44 7700-900 123", channel="sms",
                            consent_contact="yes"))
    assert r.status_code == 201, r.get_json()
    sub_id = r.get_json()["id"]
    assert b"7700" not in all_text(submissions(site) / sub_id)
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    assert con.execute("SELECT p.phone, p.channel, l.contact_ok FROM people p JOIN links l "
                       "ON l.person_id = p.id WHERE l.submission_id = ?",
                       (sub_id,)).fetchone() == ("+447700900123", "sms", 1)


def test_the_same_address_twice_is_one_supporter(client, site):
    first = post(client, fields(email=SECRET_EMAIL, consent_contact="yes")).get_json()["id"]
    second = post(client, fields(title="Another story", email=SECRET_EMAIL.upper(),
                                 consent_contact="yes")).get_json()["id"]
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    people = {row[0] for row in con.execute("SELECT person_id FROM links WHERE submission_id "
                                            "IN (?, ?)", (first, second))}
    assert len(people) == 1
    assert con.execute("SELECT COUNT(*) FROM people").fetchone() == (1,)


def test_a_refused_photo_leaves_no_supporter_behind(client, site):
    r = post(client, fields(email=SECRET_EMAIL, consent_contact="yes", consent_photos="yes",
                            alt_1="A well"),
             photos={"photo_1": ("well.jpg", b"this is not a photo")})
    assert r.status_code == 422, r.get_json()
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    assert con.execute("SELECT (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM links) + "
                       "(SELECT COUNT(*) FROM events)").fetchone() == (0,)
