"""The URL contract loads no image library: signing a URL from the SDK or the CLI
imports neither libvips nor numpy nor OpenCV."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pyvips", "numpy", "cv2")

SCRIPT = """
import json, sys
import vitrina.delivery, vitrina.delivery.grammar, vitrina.delivery.signing
import vitrina.client, vitrina.cli.url
from vitrina.client.images import ImageURLs
from vitrina.config import Settings
from vitrina.delivery.configured import signer_from
from vitrina.delivery.grammar import validate_presets

asset = "0123456789abcdef0123456789abcdef"
validate_presets({"card": "w_400,h_300,c_fill,g_auto"})
made = [
    ImageURLs("http://x", {"k1": "a-long-random-signing-secret-1"}).url(asset, "w_400,f_jpeg"),
    signer_from(Settings(dev=True)).url(asset, "w_10,f_auto"),
]
print(json.dumps({"made": made, "loaded": [m for m in %r if m in sys.modules]}))
"""


def test_signing_urls_loads_no_image_library(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT % (HEAVY,)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["made"][0].startswith("http://x/img/k1.")
    assert answer["made"][0].endswith("/f_jpg,w_400/0123456789abcdef0123456789abcdef")
    assert answer["made"][1] == "/img/_/f_auto,w_10/0123456789abcdef0123456789abcdef"
    assert answer["loaded"] == []
