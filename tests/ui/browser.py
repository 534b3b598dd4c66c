"""Driving Debian's Chromium with Playwright: the launch flags of a closed network, real
drag-and-drop of files, axe-core checks and perceptual screenshots of pages.

``VITRINA_REQUIRE_BROWSER=1`` (set by CI) fails the tests when the browser is missing
instead of skipping them. ``VITRINA_REGENERATE_SNAPSHOTS=1`` rewrites the reference
screenshots in ``references/`` from the current pages instead of comparing.
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.creative.snapshots import phash, regenerating
from vitrina.analysis.phash import phash_distance

CHROMIUM = Path(os.environ.get("VITRINA_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
HERE = Path(__file__).parent
REFERENCES = HERE / "references"
#: screenshots of the last run, for people to look at (gitignored)
ARTEFACTS = HERE / "artefacts"
AXE = HERE.parents[1] / "vitrina" / "ui" / "node_modules" / "axe-core" / "axe.min.js"
#: bits of 64 a page's screenshot may differ from its reference: layout and pictures
#: count, a timestamp or an id's text does not
MAX_DISTANCE = 10
#: width of a stored reference screenshot
REFERENCE_WIDTH = 320
#: axe-core impacts that fail a page
BLOCKING = ("serious", "critical")


def browser_missing() -> None:
    """Skip (or in CI fail) when Chromium or its driver is not installed."""
    why = None
    if not CHROMIUM.exists():
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            why = "the playwright package is not installed (make install)"
    if why is None and not AXE.exists():
        why = f"axe-core is not installed at {AXE} (make install runs npm ci)"
    if why is not None:
        if os.environ.get("VITRINA_REQUIRE_BROWSER"):
            pytest.fail(f"VITRINA_REQUIRE_BROWSER is set but {why}")
        pytest.skip(why)


def drop_files(page, selector: str, paths: list[Path]) -> None:
    """Drop ``paths`` on ``selector`` as a person would: dragenter, dragover and drop
    events carrying a DataTransfer with the files' bytes."""
    files = [{"name": p.name, "type": mimetypes.guess_type(p.name)[0] or "application/octet-stream",
              "data": base64.b64encode(p.read_bytes()).decode()} for p in paths]
    page.evaluate("""([selector, files]) => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, {type: f.type}));
        }
        const zone = document.querySelector(selector);
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
        }
    }""", [selector, files])


def axe_violations(page) -> list[dict]:
    """axe-core's violations of serious or critical impact on the page as it is now
    (injected through the debugging protocol: the page's CSP allows no inline script)."""
    page.evaluate(AXE.read_text())
    found = page.evaluate("async () => (await axe.run(document)).violations"
                          ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
                          " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return [v for v in found if v["impact"] in BLOCKING]


def assert_accessible(page) -> None:
    blocking = axe_violations(page)
    assert not blocking, json.dumps(blocking, indent=1)


def assert_looks_like(page, name: str) -> None:
    """Screenshot the page into ``artefacts/`` and compare it with its reference."""
    ARTEFACTS.mkdir(exist_ok=True)
    png = page.screenshot(full_page=True, animations="disabled")
    (ARTEFACTS / f"{name}.png").write_bytes(png)
    reference = REFERENCES / f"{name}.png"
    if regenerating():  # a small copy: the hash reads 32 x 32 pixels, the repository keeps less
        with Image.open(io.BytesIO(png)) as im:
            im.convert("RGB").resize((REFERENCE_WIDTH, round(im.height * REFERENCE_WIDTH / im.width))).save(reference)
        return
    assert reference.exists(), f"no reference {reference.name}: run with VITRINA_REGENERATE_SNAPSHOTS=1"
    distance = phash_distance(phash(reference.read_bytes()), phash(png))
    assert distance <= MAX_DISTANCE, (f"{name} looks {distance} bits away from its reference "
                                      f"(see {ARTEFACTS / name}.png)")
