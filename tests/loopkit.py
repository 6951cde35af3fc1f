"""A whole deployment in a folder: intake server, moderation, build, notify, invite."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import mailkit
from intakekit import ORIGIN, config, fields, make_site
from storywall import moderation
from storywall import notify as core
from storywall.build import build
from storywall.intake import create_app

THEME = Path(__file__).resolve().parent.parent / "theme"
JSON = {"Origin": ORIGIN, "Accept": "application/json"}
SITE_URL = "https://stories.example.org"
INTAKE_URL = "https://intake.example.org/submit"
PUBLISHCONF = f"""import os, sys
sys.path.append(os.curdir)
from pelicanconf import *  # noqa
SITEURL = "{SITE_URL}"
RELATIVE_URLS = False
"""
NEW_FIGURE = """- label: Wells repaired
  value: 12
  unit: wells
  as_of: {as_of}
  source: Field report, {as_of} (audited)
"""


class Loop:
    """A site with an intake server, moderation, a build and notify, like a real deployment."""

    def __init__(self, tmp_path: Path):
        self.site = make_site(tmp_path)
        self.configure()
        (self.site.root / "publishconf.py").write_text(PUBLISHCONF)
        self.site.add_initiative("water", body="We repair wells.", figures=[
            {"label": "Wells repaired", "value": 5, "unit": "wells", "as_of": "2026-01-31",
             "source": "Field report, January 2026"}])
        self.app = create_app(config(self.site))
        self.client = self.app.test_client()
        self.private = self.site.root / "private"
        self.env: dict = {}  # more environment for notify and invite (the SMS gateway)

    def configure(self, **storywall) -> None:
        """Rewrite pelicanconf.py's STORYWALL dict (organisation and intake_url, plus these)."""
        self.site.configure(THEME, {"organisation": "Test Trust", "intake_url": INTAKE_URL,
                                    **storywall})

    def submit(self, **overrides) -> str:
        r = self.client.post("/submit", data=fields(**overrides), headers=JSON,
                             content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    def approve(self, sub_id: str, told_on: str = "2026-06-01") -> str:
        result = moderation.approve(self.site.root, self.site.content, sub_id, moderator="Mo",
                                    confirm=True)
        story = result.path / "index.md"
        text = story.read_text()
        story.write_text(re.sub(r"^date: .*$", f"date: {told_on}", text, count=1, flags=re.M))
        return result.slug

    def reject(self, sub_id: str, code: str) -> None:
        moderation.reject(self.site.root, sub_id, code, moderator="Mo")

    def build(self) -> None:
        build(self.site.root, publish=True)

    def report_figure(self, as_of: str) -> None:
        path = self.site.content / "initiatives" / "water.md"
        text = path.read_text()
        head, sep, rest = text.partition("figures:\n")
        path.write_text(head + sep + NEW_FIGURE.format(as_of=as_of) + rest)

    def notify(self, port: int, **kwargs):
        kwargs.setdefault("pause", 0)
        return core.notify(self.site.root, env=mailkit.smtp_env(port, **self.env), **kwargs)

    def invite(self, csv_path: Path, port: int, **kwargs):
        from storywall import invite

        kwargs.setdefault("pause", 0)
        return invite.invite(self.site.root, csv_path, env=mailkit.smtp_env(port, **self.env),
                             **kwargs)


def local_file(loop: Loop, url: str) -> Path:
    """The output file a site URL points to (index.html for a folder)."""
    assert url.startswith(SITE_URL + "/"), url
    path = loop.site.output / urlsplit(url).path.lstrip("/")
    return path / "index.html" if url.endswith("/") else path
