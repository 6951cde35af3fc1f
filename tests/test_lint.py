"""The code has no unused imports, undefined names or other mistakes pyflakes finds.

publishconf.py is left out: Pelican's convention is `from pelicanconf import *`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pyflakes_finds_nothing_in_plugins_scripts_and_tests():
    result = subprocess.run([sys.executable, "-m", "pyflakes", "plugins", "scripts", "tests",
                             "pelicanconf.py"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
