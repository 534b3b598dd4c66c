"""A labelled set for the ``similar`` duplicate tier: bursts and heavy edits.

Real bursts come from the demo videos: frames of one shot 0.5 to 1 s apart are the
same scene a moment later, as a camera's burst mode or a re-shoot gives; frames of
different shots (the same film, the same street, the same lighting) and the photos
are different pictures. Shots are cut where ffmpeg's scene score passes 0.15, lower
than the pipeline's storyboard threshold, so that soft cuts count too (checked by eye:
``bikes.mp4`` cuts at 1.2, 3.04, 5.48, 7.48 and 9.68 s). Each photo's heavy edits (a
60 % crop, an off-centre half, an 8° turn) are the same picture found by embedding
only: the pHash tiers miss them.

Every image goes the pipeline's way: saved as an upload would be, its 320 px rendition
decoded to the preview, the registered ``phash`` and ``imagenet`` analysers run on it.

    .venv/bin/python -m tests.search.bursts      # the table and a sweep
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy
import pyvips

from tests.search.labelled import (
    PHOTOS,
    Figures,
    _centre_crop,
    _corner_crop,
    _rotate,
    pipeline_preview,
)
from vitrina.analysis.models.imagenet import ImagenetAnalyser
from vitrina.analysis.phash_regions import RegionPhashAnalyser
from vitrina.media.frames import scan
from vitrina.search.duplicates import SIMILAR, SIMILAR_COSINE, Fingerprint, fingerprint, tier_of
from vitrina.search.vectors import decode_vector

VIDEOS = Path(__file__).resolve().parents[2] / "data" / "video"
STEP, BURST = 0.5, (0.5, 1.0)  # a frame every STEP s; bursts are frames this far apart
LABEL_CUT = 0.15
HEAVY_EDITS = {"crop 60%": _centre_crop(0.6), "crop 50% off-centre": _corner_crop(0.5, "br"),
               "rotate 8°": _rotate(8)}


@dataclass(frozen=True)
class Shot:
    key: str  # "bikes.mp4@2.60" or "coffee.png/crop 60%"
    picture: str  # the shot ("bikes.mp4#2") or the photo
    time: float
    data: bytes


@dataclass(frozen=True)
class BurstPair:
    a: str
    b: str
    similar: bool
    kind: str  # "burst", "heavy edit", "other shot", "other picture"


def _frames(video: Path) -> list[Shot]:
    times = list(numpy.arange(0.1, 30.0, STEP))
    found = scan(video, "mp4", grab_times=times, grab_width=None)  # full size, as shot
    cuts = found.scene_times(LABEL_CUT)
    seen: dict[float, Shot] = {}
    for grab in found.grabs:
        if grab.time in seen:  # grabs past the end repeat the last frame
            continue
        shot = sum(grab.time >= c for c in cuts)
        image = pyvips.Image.new_from_array(grab.pixels, interpretation="srgb")
        seen[grab.time] = Shot(f"{video.name}@{grab.time:.2f}", f"{video.name}#{shot}", grab.time,
                               image.jpegsave_buffer(Q=90))
    return list(seen.values())


def _photos() -> list[Shot]:
    shots = []
    for path in sorted(PHOTOS.iterdir()):
        image = pyvips.Image.new_from_file(str(path))
        shots.append(Shot(path.name, path.name, 0.0, path.read_bytes()))
        for name, edit in HEAVY_EDITS.items():
            shots.append(Shot(f"{path.name}/{name}", path.name, 0.0, edit(image).pngsave_buffer(compression=1)))
    return shots


@functools.cache
def burst_set() -> tuple[tuple[Shot, ...], tuple[BurstPair, ...]]:
    shots = [s for v in sorted(VIDEOS.glob("*.mp4")) for s in _frames(v)] + _photos()
    pairs = []
    for a, b in itertools.combinations(shots, 2):
        if a.picture != b.picture:
            kind = "other shot" if a.picture.split("#")[0] == b.picture.split("#")[0] else "other picture"
            pairs.append(BurstPair(a.key, b.key, False, kind))
        elif "#" in a.picture:
            if BURST[0] - 1e-6 <= abs(a.time - b.time) <= BURST[1] + 1e-6:
                pairs.append(BurstPair(a.key, b.key, True, "burst"))
        elif "/" not in a.key or "/" not in b.key:  # a photo and one of its heavy edits
            pairs.append(BurstPair(a.key, b.key, True, "heavy edit"))
    return tuple(shots), tuple(pairs)


@functools.cache
def burst_fingerprints() -> dict[str, Fingerprint]:
    phash, model = RegionPhashAnalyser(), ImagenetAnalyser()
    shots, _ = burst_set()
    previews = [pipeline_preview(s.data) for s in shots]
    hashes = phash.analyse(previews)
    vectors = [decode_vector(v["embedding"]) for v in model.analyse(previews)]
    return {s.key: fingerprint(s.key, hashlib.sha256(s.data).hexdigest(), None, None, h,
                               v / numpy.linalg.norm(v))
            for s, h, v in zip(shots, hashes, vectors, strict=True)}


@dataclass(frozen=True)
class BurstCalibration:
    threshold: float
    similar: Figures  # any tier counts: the tiers nest
    per_kind: dict[str, tuple[int, int]]  # kind -> (pairs right, pairs)

    def table(self) -> str:
        f = self.similar
        lines = [f"similar cosine >= {self.threshold:.2f}",
                 (f"similar precision {f.precision:.3f} recall {f.recall:.3f} "
                 f"({f.true_positives} / {f.predicted} / {f.labelled})")]
        lines += [f"{kind:14} {ok:5} / {n}" for kind, (ok, n) in self.per_kind.items()]
        return "\n".join(lines)


def calibrate_bursts(threshold: float = SIMILAR_COSINE) -> BurstCalibration:
    prints = burst_fingerprints()
    _, pairs = burst_set()
    tp = predicted = labelled = 0
    per_kind: dict[str, list[int]] = {}
    for pair in pairs:
        said = tier_of(prints[pair.a], prints[pair.b], similar_cosine=threshold) is not None
        tp += said and pair.similar
        predicted += said
        labelled += pair.similar
        tally = per_kind.setdefault(pair.kind, [0, 0])
        tally[0] += said == pair.similar
        tally[1] += 1
    return BurstCalibration(threshold, Figures(SIMILAR, tp, predicted, labelled),
                            {k: (ok, n) for k, (ok, n) in per_kind.items()})


def main() -> None:
    print(calibrate_bursts().table())
    print("\nsweep: similar cosine, precision, recall")
    for t in numpy.arange(0.40, 0.86, 0.05):
        f = calibrate_bursts(float(t)).similar
        print(f"{t:.2f} {f.precision:.3f} {f.recall:.3f}")


if __name__ == "__main__":
    main()
