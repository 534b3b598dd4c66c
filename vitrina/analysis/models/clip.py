"""A slot for a joint image-text model (CLIP-like) as two local ONNX files.

Configured with ``analysis.clip_image_model``, ``analysis.clip_text_model`` and
``analysis.clip_vocab`` (all three or none); without them the ``clip`` analyser is not
registered. The contract of the files:

- image model: one float32 input ``[batch, 3, S, S]`` (S from the model's input shape,
  224 when it is not fixed), RGB scaled to 0..1 and normalised with CLIP's mean and
  standard deviation; the first output is ``[batch, dim]``.
- text model: one int64 input ``[batch, analysis.clip_max_tokens]`` of token ids, 0
  padding after the tokens; the first output is ``[batch, dim]`` in the same space.
- vocabulary: UTF-8, one token a line, a token's id its line number (line 0 is the
  padding token). A text is lower-cased and split into words and single punctuation
  marks; tokens not in the vocabulary are dropped.

Both outputs are L2-normalised here, so a dot product is the cosine. The analyser
stores ``{"embedding": ...}`` per image (reading the 256 px preview); search embeds a
query with :func:`encode_text`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from vitrina.analysis.base import check_image
from vitrina.analysis.models.loading import THREADS, cached
from vitrina.analysis.models.square import centre_square
from vitrina.errors import ConfigError, InvalidInput
from vitrina.kinds.image.inputs import PREVIEW

MEAN = numpy.array([0.48145466, 0.4578275, 0.40821073], dtype=numpy.float32)
STD = numpy.array([0.26862954, 0.26130258, 0.27577711], dtype=numpy.float32)
DEFAULT_SIZE = 224
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _problem(setting: str, path: Path, what: str) -> ConfigError:
    return ConfigError(f"analysis.{setting}: {path} {what}", details={"setting": f"analysis.{setting}",
                                                                       "path": str(path)})


def check_files(settings: Any) -> None:
    """At boot: each configured file exists (what it holds is checked when loaded)."""
    for setting in ("clip_image_model", "clip_text_model", "clip_vocab"):
        path = getattr(settings, setting)
        if path is not None and not Path(path).is_file():
            raise _problem(setting, Path(path), "does not exist or is not a file")


@dataclass(frozen=True)
class Session:
    session: Any  # onnxruntime.InferenceSession
    input: str
    shape: tuple[Any, ...]


def _session(setting: str, path: Path) -> Session:
    def make() -> Session:
        import onnxruntime

        if not path.is_file():
            raise _problem(setting, path, "does not exist or is not a file")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = THREADS, 1
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  (ONNX Runtime's errors derive from Exception alone)
            raise _problem(setting, path, f"is not a model ONNX Runtime can load: {str(exc)[:300]}") from None
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise _problem(setting, path, f"has {len(inputs)} inputs; one is expected")
        return Session(session, inputs[0].name, tuple(inputs[0].shape))

    return cached(("onnx", str(path.resolve())), make)


def _vocabulary(path: Path) -> dict[str, int]:
    def make() -> dict[str, int]:
        try:
            tokens = path.read_text("utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise _problem("clip_vocab", path, f"cannot be read as UTF-8 text: {exc}") from None
        vocab = {t: i for i, t in reversed(list(enumerate(tokens))) if t and i > 0}
        if not vocab:
            raise _problem("clip_vocab", path, "holds no tokens")
        return vocab

    return cached(("vocab", str(path.resolve())), make)


def _normalised(vectors: numpy.ndarray) -> numpy.ndarray:
    vectors = numpy.asarray(vectors, dtype=numpy.float32)
    norms = numpy.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / numpy.where(norms > 0, norms, 1.0)


class ClipAnalyser:
    name = "clip"
    version = "1"
    input = PREVIEW
    batch_size = 16

    def __init__(self, settings: Any) -> None:
        """``settings``: the analysis section, with the three files set."""
        check_files(settings)
        self.image_path = Path(settings.clip_image_model)
        self.text_path = Path(settings.clip_text_model)
        self.vocab_path = Path(settings.clip_vocab)
        self.max_tokens = settings.clip_max_tokens
        self.model = f"clip-onnx@{self.image_path.stem[:40] or 'model'}"
        self._lock = threading.Lock()

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        if not images:
            return []
        from vitrina.search.vectors import encode_vector

        return [{"embedding": encode_vector(v)} for v in self.encode_images(images)]

    def encode_images(self, images: Sequence[numpy.ndarray]) -> numpy.ndarray:
        model = _session("clip_image_model", self.image_path)
        size = model.shape[-1] if isinstance(model.shape[-1], int) and model.shape[-1] > 0 else DEFAULT_SIZE
        batch = numpy.stack([prepare(check_image(image), size) for image in images])
        return _normalised(self._run(model, "clip_image_model", self.image_path, batch, len(images)))

    def tokens(self, text: str) -> numpy.ndarray:
        """The 1 x max_tokens int64 ids of ``text`` (0 after its tokens)."""
        vocab = _vocabulary(self.vocab_path)
        ids = [vocab[t] for t in _TOKEN.findall(text.lower()) if t in vocab][: self.max_tokens]
        out = numpy.zeros((1, self.max_tokens), dtype=numpy.int64)
        out[0, : len(ids)] = ids
        return out

    def encode_text(self, query: str) -> numpy.ndarray:
        """A query's vector in the images' space (L2-normalised float32)."""
        if not isinstance(query, str):
            raise InvalidInput("a query is a string")
        model = _session("clip_text_model", self.text_path)
        return _normalised(self._run(model, "clip_text_model", self.text_path, self.tokens(query), 1))[0]

    def _run(self, model: Session, setting: str, path: Path, batch: numpy.ndarray, rows: int) -> numpy.ndarray:
        try:
            with self._lock:
                out = model.session.run(None, {model.input: batch})[0]
        except Exception as exc:  # noqa: BLE001  (a model whose input is not what this slot documents)
            raise _problem(setting, path, f"cannot run on a {batch.dtype} input of shape {list(batch.shape)} "
                                          f"(see vitrina.analysis.models.clip): {str(exc)[:300]}") from None
        out = numpy.asarray(out)
        if out.ndim != 2 or out.shape[0] != rows:
            raise _problem(setting, path, f"gave an output of shape {list(out.shape)}; [batch, dim] is expected")
        return out


def prepare(image: numpy.ndarray, size: int) -> numpy.ndarray:
    """3 x size x size float32 with CLIP's normalisation."""
    return centre_square(image, size, MEAN, STD)


def encode_text(settings: Any, query: str) -> numpy.ndarray:
    """A query's vector for image search with the configured joint model; ConfigError
    when none is configured. ``settings``: the Settings or their analysis section."""
    analysis = getattr(settings, "analysis", settings)
    if analysis.clip_text_model is None:
        raise ConfigError("analysis.clip_text_model: no joint image-text model is configured",
                          details={"setting": "analysis.clip_text_model"})
    return ClipAnalyser(analysis).encode_text(query)
