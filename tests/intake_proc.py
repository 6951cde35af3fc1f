"""Run the intake app with waitress in its own process (for the SIGKILL tests).

usage: python tests/intake_proc.py CONFIG_JSON PORT
With $INTAKE_PAUSE_FILE set, every staged submission pauses just before its
rename into submissions/ (after the photos and index.md are written), and the
staging folder's path is written to that file: the test kills the process there.
"""

import json
import os
import sys
import time
from pathlib import Path

from storywall.intake import create_app
from storywall.intake.cli import serve

pause_file = os.environ.get("INTAKE_PAUSE_FILE")
if pause_file:
    real_rename = os.rename

    def paused_rename(src, dst, *args, **kwargs):
        if ".incoming" in str(src):
            Path(pause_file).write_text(str(src))
            time.sleep(60)
        return real_rename(src, dst, *args, **kwargs)

    os.rename = paused_rename

serve(create_app(json.loads(sys.argv[1])), "127.0.0.1", int(sys.argv[2]))
