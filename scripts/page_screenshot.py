"""Take the README's screenshot of the run-history page: `make run`'s demo estate, in chromium (`make screenshot`).

Runs the demo in a scratch folder (whose passes write its page, `page: page.html`), and has Debian's chromium
(driven by Playwright) photograph it at a laptop's width, keyboard focus on a failed run so that its tip shows. Writes
docs/page-demo.png.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from failstreak.app.cli import main

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "page-demo.png"


def take() -> int:
    chromium = os.environ.get("FAILSTREAK_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("no chromium: run `make browser`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        demo = Path(scratch) / "demo"
        with contextlib.redirect_stdout(io.StringIO()):
            main(["demo", "--dir", str(demo)])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
            page.goto((demo / "page.html").as_uri())
            page.locator("#matrix tr[data-alerting] [data-status=failed]").nth(3).focus()
            page.screenshot(path=str(OUT))
            browser.close()
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(take())
