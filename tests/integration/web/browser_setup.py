"""What every browser test module launches Chromium with, and where its screenshots go.

Debian's Chromium (never a downloaded browser) with the launch options DEVELOPERS.md names.
Screenshots go to a temporary folder, or to docs/screenshots/ when CHARTKEEPER_SCREENSHOTS=1
(so a test run never changes the checkout unless asked to).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("CHARTKEEPER_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="ck-screenshots-"))
)
