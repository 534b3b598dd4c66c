"""Images per second through the whole pipeline against a bare loop of the same
pyvips derivative calls on the same files, measured in one run.

    .venv/bin/python bench/ingest.py [--rounds 5] [--database-url URL]

The pipeline side is everything a user waits for: streaming ingest (sha256, magic
bytes, strict decode, probe), blob writes, catalog rows, then the derivatives and
signals steps (faces and salient point included) run by a worker, one image at a
time in this process. Each round gets an empty catalog; its runtime first processes
one other photo untimed, as a long-running service has compiled its SQL already. The
bare side makes the same renditions with the same pyvips calls and keeps them in
memory. The two sides alternate image by image. Sources: the demo photos plus two camera-sized JPEGs made by upscaling real
photos.
The last line reads `pipeline/bare: N.NN` (higher is better; 1.00 = no overhead).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vitrina.config import Settings
from vitrina.media.image import available_formats


def warm_up_photo(workdir: Path) -> Path:
    """A real photo outside the measured set (the same bytes would be deduplicated)."""
    out = workdir / "warm-up.jpg"
    if not out.exists():
        pyvips.Image.new_from_file(str(ROOT / "data" / "photos" / "chelsea.png")).resize(0.5).jpegsave(str(out))
    return out


def sources(workdir: Path) -> list[Path]:
    files = sorted((ROOT / "data" / "photos").glob("*"))
    for name, scale in (("rocket.jpg", 6.25), ("coffee.png", 6.7)):
        # camera-sized uploads: real photos upscaled to about 4000 px wide
        big = pyvips.Image.new_from_file(str(ROOT / "data" / "photos" / name)).resize(scale)
        out = workdir / f"{Path(name).stem}-4000.jpg"
        big.jpegsave(str(out), Q=90)
        files.append(out)
    return files


def bare(files: list[Path], settings: Settings, formats: list[str]) -> float:
    """The same libvips work as the derivatives step, with nothing around it."""
    started = time.perf_counter()
    for path in files:
        header = pyvips.Image.new_from_file(str(path))
        width, height = header.width, header.height
        if header.get_typeof("orientation") and header.get("orientation") in (5, 6, 7, 8):
            width, height = height, width
        kept = sorted(w for w in settings.derivatives.widths if w < width) or [width]
        top = kept[-1]
        # colour-manage only tagged or CMYK sources, as the derivatives step does
        managed = "icc-profile-data" in header.get_fields() or header.interpretation == "cmyk"
        options = {"output_profile": "srgb"} if managed else {}
        base = pyvips.Image.thumbnail(str(path), top, height=round(height * top / width), size="force",
                                      **options)
        if base.interpretation != "srgb":
            base = base.colourspace("srgb")
        base = base.cast("uchar").copy_memory()
        for w in kept:
            img = base if w == top else base.resize(w / base.width).copy_memory()
            flat = img.flatten(background=[255] * (img.bands - 1)) if img.hasalpha() else img
            for fmt in formats:
                if fmt == "jpeg":
                    flat.jpegsave_buffer(Q=settings.derivatives.quality, keep="none", optimize_coding=True)
                elif fmt == "webp":
                    img.webpsave_buffer(Q=settings.derivatives.quality, keep="none")
                else:
                    img.heifsave_buffer(compression="av1", Q=settings.derivatives.quality - 15, effort=0,
                                        bitdepth=8, keep="none")
    return time.perf_counter() - started


SCHEMAS: list[tuple[str, str]] = []  # made by this run, dropped at its end


def fresh_catalog(database_url: str | None) -> str:
    """An empty catalog per round: SQLite in the round's directory, or a new PostgreSQL schema."""
    if not database_url:
        return ""
    import secrets

    import psycopg

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    SCHEMAS.append((database_url, schema))
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-csearch_path%3D{schema}"


class Pipeline:
    """One round's service: an empty catalog and a runtime that has already processed
    another photo, as a long-running service has compiled its SQL."""

    def __init__(self, database_url: str | None, workdir: Path) -> None:
        from vitrina.pipeline.worker import Worker
        from vitrina.runtime import Runtime
        from vitrina.storage.catalog.db import upgrade

        data = Path(tempfile.mkdtemp(dir=workdir))
        # the model analysers are off: bench/models.py measures them (decision 025)
        self.rt = Runtime(Settings(dev=True, data_dir=data, database_url=fresh_catalog(database_url),
                                   analysis={"models": []}))
        upgrade(self.rt.engine)
        self.ingestor, self.worker = self.rt.ingestor, Worker(self.rt)
        self.processed = 0
        self.process(warm_up_photo(workdir))

    def process(self, path: Path) -> float:
        """Seconds from upload to the asset's last step done."""
        started = time.perf_counter()
        self.ingestor.ingest_file(path)
        self.worker.run_once()  # claims the asset's first step and follows its chain to the end
        elapsed = time.perf_counter() - started
        self.processed += 1
        return elapsed

    def close(self) -> None:
        depth = self.rt.queue.depth()
        steps = len(self.rt.pipelines.steps("image"))  # every source here is a photo
        self.rt.close()
        if depth != {"done": steps * self.processed}:
            raise SystemExit(f"pipeline did not finish every step: {depth}")


def one_round(files: list[Path], settings: Settings, formats: list[str], database_url: str | None,
              workdir: Path) -> tuple[float, float]:
    """Seconds for all files on each side, the sides interleaved image by image so that
    the machine's slow and fast moments fall on both alike."""
    service = Pipeline(database_url, workdir)
    bare_s = pipeline_s = 0.0
    for i, path in enumerate(files):
        if i % 2:
            pipeline_s += service.process(path)
            bare_s += bare([path], settings, formats)
        else:
            bare_s += bare([path], settings, formats)
            pipeline_s += service.process(path)
    service.close()
    return bare_s, pipeline_s


def drop_schemas() -> None:
    import psycopg

    for url, schema in SCHEMAS:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--database-url", default=None, help="catalog for the pipeline side (default: SQLite)")
    args = parser.parse_args()

    settings = Settings(dev=True)
    formats = [f for f in settings.derivatives.formats if f in available_formats()]
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-") as tmp:
        workdir = Path(tmp)
        files = sources(workdir)
        print(f"{len(files)} images, widths {settings.derivatives.widths}, formats {formats}, "
              f"{args.rounds} rounds", flush=True)
        one_round(files[:2], settings, formats, args.database_url, workdir)  # warm libvips, OS cache
        times: dict[str, list[float]] = {"bare": [], "pipeline": []}
        for r in range(args.rounds):
            bare_s, pipeline_s = one_round(files, settings, formats, args.database_url, workdir)
            times["bare"].append(bare_s)
            times["pipeline"].append(pipeline_s)
            print(f"round {r + 1}: bare {len(files) / times['bare'][-1]:.2f} img/s, "
                  f"pipeline {len(files) / times['pipeline'][-1]:.2f} img/s", flush=True)
    drop_schemas()
    bare_ips = len(files) / statistics.median(times["bare"])
    pipe_ips = len(files) / statistics.median(times["pipeline"])
    print(f"bare: {bare_ips:.2f} img/s   pipeline: {pipe_ips:.2f} img/s (medians)")
    print(f"pipeline/bare: {pipe_ips / bare_ips:.2f}")


if __name__ == "__main__":
    main()
