"""Every page of the built demo site passes the Nu HTML checker (npm vnu-jar) with no errors."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from browserkit import ROOT, VNU_JAR, require

pytestmark = pytest.mark.slow


def test_nu_html_checker_finds_no_errors_in_the_built_site(built_site):
    require(VNU_JAR.is_file(), f"{VNU_JAR.relative_to(ROOT)} not found: run `npm ci`")
    java = shutil.which("java")
    require(java is not None, "java not found: the Nu HTML checker needs a JRE (default-jre-headless)")
    pages = list(built_site.output.rglob("*.html"))
    assert len(pages) >= 40
    # one invocation for the whole site: the JVM start-up dominates (about 5 s)
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--skip-non-html", str(built_site.output)],
        capture_output=True, text=True, timeout=300, check=False)
    report = (result.stderr + result.stdout).replace(str(built_site.output), "output")
    assert result.returncode == 0, report
