"""Model analysers: milliseconds per image, one image per call against one batched call
(decision 025). Run on demand (not part of `make test`):

    .venv/bin/python bench/models.py              # 3 rounds over the 8 demo photos + a sign
    .venv/bin/python bench/models.py --rounds 5

The inputs are made the way the pipeline makes them (a runtime with every model
analyser on ingests and processes the photos first, untimed; the text input then reads
the stored tags and OCR text); each analyser is warmed up (model loaded) before the
clock. Printed per analyser: the best round's ms/image (other work on a shared machine
only ever adds time) for one-by-one calls and for calls of ``batch_size`` inputs, and
their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis.models.shared import make_sign
from tests.conftest import PHOTOS, make_settings
from vitrina.config import MODEL_ANALYSERS
from vitrina.pipeline.steps import StepContext
from vitrina.testing import make_runtime, process_all


def measure(rounds: int) -> list[tuple[str, int, float, float]]:
    """(analyser, batch size, best ms/image one by one, best ms/image batched) per model
    analyser, after printing the table."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-models-") as tmp:
        directory = Path(tmp)
        settings = make_settings(directory, f"sqlite:///{directory / 'catalog.db'}",
                                 analysis={"models": list(MODEL_ANALYSERS)})
        rt = make_runtime(settings)
        paths = [*sorted(PHOTOS.iterdir()), make_sign(directory / "sign.png")]
        ids = [rt.ingestor.ingest_file(p).asset_id for p in paths]
        process_all(rt)
        print(f"{len(ids)} images, {rounds} rounds, ms per image (best round)")
        print(f"{'analyser':<16}{'batch':>6}{'one by one':>12}{'batched':>10}{'ratio':>8}")
        for name in MODEL_ANALYSERS:
            analyser = rt.registries.analysers.get(name)
            items = [analyser.input.load(StepContext(rt.asset_repository.snapshot(None, i), rt.store,
                                                     rt.settings, attempt=1)) for i in ids]
            analyser.analyse(items[:2])  # load the model
            single, batched = [], []
            for _ in range(rounds):
                t = time.perf_counter()
                for item in items:
                    analyser.analyse([item])
                single.append((time.perf_counter() - t) * 1000 / len(items))
                t = time.perf_counter()
                for start in range(0, len(items), analyser.batch_size):
                    analyser.analyse(items[start:start + analyser.batch_size])
                batched.append((time.perf_counter() - t) * 1000 / len(items))
            s, b = min(single), min(batched)
            print(f"{name:<16}{analyser.batch_size:>6}{s:>12.1f}{b:>10.1f}{s / b:>8.2f}")
            rows.append((name, analyser.batch_size, s, b))
        rt.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    measure(parser.parse_args().rounds)


if __name__ == "__main__":
    main()
