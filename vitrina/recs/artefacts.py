"""Trained recommenders in the blob store: versions, their manifests, which one is
promoted, and loading one to answer from (decision 028, "Training and serving").

Layout for a project's model ``name``::

    recs/{project}/{name}/v{n}/model.npz      the fitted model (``Recommender.save``)
    recs/{project}/{name}/v{n}/maps.npz       user ids, item ids, popularity scores
    recs/{project}/{name}/v{n}/manifest.json  name, version, metrics, trained_at, counts
    recs/{project}/{name}/v{n}/verdict.json   `vitrina recs verdicts`' verdict (decision 030)
    recs/{project}/serving.json               the promoted {"model", "version"}

A version's bytes are written first and its manifest last, so a version without a
manifest is incomplete and never listed, promoted or served.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vitrina.errors import InvalidInput, NotFound, VitrinaError
from vitrina.storage.blobs import BlobStore, validate_key

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class NoModel(NotFound):
    code = "no_model"


class NeedsExperiment(VitrinaError):
    status, code = 409, "needs_experiment"


@dataclass(frozen=True)
class Manifest:
    model: str
    version: int
    metrics: dict[str, float]
    trained_at: str
    counts: dict[str, int]
    split: str
    model_sha256: str
    format: int = MANIFEST_FORMAT
    #: the text generator behind any LLM-written feature the model was trained on
    #: ({"provider", "model"}); such a model serves only through a surface experiment,
    #: after its verdicts beat the incumbent (decision 030)
    llm: dict[str, str] | None = None


def _check(label: str, value: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise InvalidInput(f"A {label} here is 1-128 letters, digits, '.', '_' or '-'.",
                           details={label: repr(value)[:100]})
    return value


class ModelStore:
    """Versions of a project's trained models and which one serves."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def prefix(project: str, model: str | None = None) -> str:
        key = f"recs/{_check('project', project)}"
        if model is not None:
            key += f"/{_check('model name', model)}"
        return validate_key(key) + "/"

    def versions(self, project: str, model: str) -> list[int]:
        """Complete versions (with a manifest), oldest first."""
        found = set()
        prefix = self.prefix(project, model)
        for key in self.blobs.keys(prefix):
            part = key[len(prefix):].split("/")
            if len(part) == 2 and part[1] == "manifest.json" and part[0][1:].isdigit():
                found.add(int(part[0][1:]))
        return sorted(found)

    def models(self, project: str) -> list[str]:
        prefix = self.prefix(project)
        return sorted({k[len(prefix):].split("/")[0] for k in self.blobs.keys(prefix)
                       if k.endswith("/manifest.json")})

    def manifest(self, project: str, model: str, version: int) -> Manifest | None:
        key = f"{self.prefix(project, model)}v{version}/manifest.json"
        if not self.blobs.exists(key):
            return None
        try:
            return Manifest(**json.loads(self.blobs.read_bytes(key)))
        except (ValueError, TypeError, VitrinaError) as exc:
            log.warning("recommender manifest %s unreadable: %s", key, exc)
            return None

    def save(self, project: str, model: Any, maps: dict[str, np.ndarray],
             metrics: dict[str, float], counts: dict[str, int], split: str,
             llm: dict[str, str] | None = None) -> Manifest:
        """The next version of ``model``: its bytes and maps first, the manifest last."""
        prefix = self.prefix(project, model.name)
        existing = [int(k[len(prefix) + 1:].split("/")[0]) for k in self.blobs.keys(prefix + "v")
                    if k[len(prefix) + 1:].split("/")[0].isdigit()]
        version = max(existing, default=0) + 1
        data = model.save()
        buf = io.BytesIO()
        np.savez(buf, **maps)
        manifest = Manifest(model=model.name, version=version,
                            metrics={k: float(v) for k, v in metrics.items()},
                            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            counts=counts, split=split,
                            model_sha256=hashlib.sha256(data).hexdigest(), llm=llm)
        self.blobs.put_bytes(f"{prefix}v{version}/model.npz", data, durable=False)
        self.blobs.put_bytes(f"{prefix}v{version}/maps.npz", buf.getvalue(), durable=False)
        self.blobs.put_bytes(f"{prefix}v{version}/manifest.json",
                             json.dumps(asdict(manifest)).encode(), durable=False)
        return manifest

    def promote(self, project: str, model: str, version: int | None = None) -> Manifest:
        versions = self.versions(project, model)
        if not versions:
            raise NotFound(f"no trained version of {model!r} in this project",
                           details={"model": model})
        version = versions[-1] if version is None else version
        manifest = self.manifest(project, model, version)
        if manifest is None:
            raise NotFound(f"{model!r} has no version {version}; versions: {versions}",
                           details={"model": model, "version": version})
        if manifest.llm:
            raise NeedsExperiment(
                f"{model} v{version} was trained on text from a language model "
                f"({manifest.llm.get('provider')}/{manifest.llm.get('model')}): it is served only "
                "as a variant of a surface experiment, once `vitrina recs verdicts` finds it beats "
                "the incumbent", details={"model": model, "version": version})
        self.blobs.put_bytes(f"{self.prefix(project)}serving.json",
                             json.dumps({"model": model, "version": version}).encode())
        return manifest

    def serving(self, project: str) -> tuple[str, int] | None:
        key = f"{self.prefix(project)}serving.json"
        if not self.blobs.exists(key):
            return None
        try:
            data = json.loads(self.blobs.read_bytes(key))
            return str(data["model"]), int(data["version"])
        except (ValueError, KeyError, TypeError, VitrinaError):
            return None

    def load(self, project: str, model: str, version: int) -> Artefact:
        from vitrina.recs.models import load_model

        manifest = self.manifest(project, model, version)
        if manifest is None:
            raise NoModel(f"the promoted {model} v{version} is missing")
        base = f"{self.prefix(project, model)}v{version}/"
        data = self.blobs.read_bytes(base + "model.npz")
        if hashlib.sha256(data).hexdigest() != manifest.model_sha256:
            raise NoModel(f"the promoted {model} v{version} does not match its manifest")
        with np.load(io.BytesIO(self.blobs.read_bytes(base + "maps.npz")), allow_pickle=False) as z:
            maps = {k: z[k] for k in z.files}
        user_ids = [str(u) for u in maps["user_ids"]]
        item_ids = [str(i) for i in maps["item_ids"]]
        return Artefact(manifest, load_model(data), user_ids, item_ids,
                        {u: n for n, u in enumerate(user_ids)},
                        {i: n for n, i in enumerate(item_ids)},
                        maps["popularity"].astype(np.float64))


@dataclass
class Artefact:
    manifest: Manifest
    model: Any
    user_ids: list[str]
    item_ids: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]
    popularity: np.ndarray
    #: the inactive set last seen and its item indices in this model
    inactive: tuple[frozenset[str], np.ndarray] | None = None

    def inactive_indices(self, ids: frozenset[str]) -> np.ndarray:
        if self.inactive is None or self.inactive[0] is not ids:
            idx = np.fromiter((self.item_index[i] for i in ids if i in self.item_index), np.int64)
            self.inactive = (ids, np.unique(idx))
        return self.inactive[1]


def verdict_key(project: str, model: str, version: int) -> str:
    return ModelStore.prefix(project, model) + f"v{version}/verdict.json"


def read_verdict(store: BlobStore, project: str, model: str, version: int) -> dict | None:
    """The stored verdict of a model version (written by `vitrina recs verdicts`), or
    None when there is none (or it is unreadable: no verdict is the safe answer)."""
    key = verdict_key(project, model, version)
    if not store.exists(key):
        return None
    try:
        data = json.loads(store.read_bytes(key))
    except (ValueError, VitrinaError):
        return None
    return data if isinstance(data, dict) else None


def beats_incumbent(store: ModelStore, project: str, manifest: Manifest) -> bool:
    """Whether the version's stored verdict says it beat the incumbent."""
    verdict = read_verdict(store.blobs, project, manifest.model, manifest.version)
    return verdict is not None and verdict.get("beats_incumbent") is True
