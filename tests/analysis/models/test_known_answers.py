"""What the models say about real pictures: a cat is a cat, coffee is coffee, a sign's
words are read where they are."""

from __future__ import annotations

import re

import numpy

from tests.analysis.models.shared import SIGN_LINES, sign_boxes
from vitrina.analysis.models.imagenet import ImagenetAnalyser, prepare
from vitrina.analysis.models.text_embedding import embed_passages, embed_query
from vitrina.search.vectors import decode_vector

CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


def signal(models, name: str, file: str) -> dict:
    return dict(models.runtime.asset_repository.snapshot(None, models.ids[file]).signals[name].value)


def test_chelsea_is_a_cat_and_coffee_is_coffee(models):
    for file, classes in (("chelsea.png", CATS), ("coffee.png", COFFEE)):
        value = signal(models, "imagenet", file)
        tags = value["tags"]
        assert 1 <= len(tags) <= 5 and tags[0]["class_id"] in classes, (file, tags)
        assert [t["score"] for t in tags] == sorted((t["score"] for t in tags), reverse=True)
        assert all(t["score"] >= 0.05 for t in tags[1:]) and all(isinstance(t["label"], str) for t in tags)
        vector = decode_vector(value["embedding"])
        assert vector.shape == (1280,) and abs(float(numpy.linalg.norm(vector)) - 1) < 1e-5
    cat, coffee = (decode_vector(signal(models, "imagenet", f)["embedding"]) for f in ("chelsea.png", "coffee.png"))
    assert float(cat @ coffee) < 0.9  # different pictures, different directions


def test_a_batched_forward_pass_equals_one_by_one(previews):
    analyser = ImagenetAnalyser()
    batch = numpy.stack([prepare(previews[n]) for n in ("chelsea.png", "coffee.png", "rocket.jpg", "text.png")])
    features, probabilities = analyser.forward(batch)
    for i in range(len(batch)):
        f, p = analyser.forward(batch[i:i + 1])
        assert abs(features[i] - f[0]).max() < 1e-5 and abs(probabilities[i] - p[0]).max() < 1e-5


def words(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def test_the_sign_is_read_in_order_with_boxes_in_the_originals_pixels(models):
    value = signal(models, "ocr", "sign.png")
    found = words(value["text"])
    for word in ("harbour", "lighthouse", "tours", "tickets", "museum", "shop", "daily", "nine", "five"):
        assert word in found, value["text"]
    assert value["text"] == "\n".join(line["text"] for line in value["lines"])
    # the sign is 2000 px wide: OCR read a 1280 px rendition, boxes are in the original's pixels
    assert len(value["lines"]) == len(SIGN_LINES)
    for line, (left, top, right, bottom) in zip(value["lines"], sign_boxes(), strict=True):
        assert line["score"] > 0.8 and len(line["box"]) == 4
        xs, ys = [p[0] for p in line["box"]], [p[1] for p in line["box"]]
        # within a few of the 2000 px sign's pixels (a 1280 px page's would be 36 % short)
        assert abs(min(xs) - left) < 30 and abs(max(xs) - right) < 30, (line, left, right)
        assert abs(min(ys) - top) < 30 and abs(max(ys) - bottom) < 30, (line, top, bottom)
    assert words(value["lines"][0]["text"]).startswith("harbour")


def test_photos_without_text_read_little(models):
    # text.png holds handwritten maths, not words: whatever is read stays inside the picture
    for file, (width, height) in (("text.png", (448, 172)), ("chelsea.png", (451, 300))):
        value = signal(models, "ocr", file)
        assert len(value["text"]) < 20
        for line in value["lines"]:
            assert all(0 <= x <= width and 0 <= y <= height for x, y in line["box"])


def test_the_text_embedding_holds_tags_and_ocr_text(models):
    sign = signal(models, "text_embedding", "sign.png")
    tags = signal(models, "imagenet", "sign.png")["tags"]
    ocr = signal(models, "ocr", "sign.png")["text"]
    text = "\n".join([", ".join(dict.fromkeys(t["label"] for t in tags)), ocr])
    assert sign["chars"] == len(text) and sign["metadata_version"] == 0
    assert abs(decode_vector(sign["embedding"]) - embed_passages([text])[0]).max() < 1e-6
    # a query finds the asset whose text says it, with E5's query prefix
    query = embed_query("museum tickets")
    scores = {f: float(decode_vector(signal(models, "text_embedding", f)["embedding"]) @ query)
              for f in ("sign.png", "chelsea.png", "coffee.png")}
    assert max(scores, key=scores.get) == "sign.png", scores
    cat = embed_query("a photo of a cat")
    scores = {f: float(decode_vector(signal(models, "text_embedding", f)["embedding"]) @ cat)
              for f in ("sign.png", "chelsea.png", "coffee.png")}
    assert max(scores, key=scores.get) == "chelsea.png", scores


def test_an_asset_with_no_text_stores_no_vector():
    from vitrina.analysis.models.text_embedding import TextEmbeddingAnalyser
    from vitrina.kinds.image.inputs import AssetText

    analyser = TextEmbeddingAnalyser()
    items = [AssetText("", 3), AssetText("tabby cat", 1), AssetText("", 0)]
    together = analyser.analyse(items)
    assert together[0] == {"embedding": None, "chars": 0, "metadata_version": 3}
    assert together[1]["chars"] == 9 and decode_vector(together[1]["embedding"]).shape == (384,)
    assert together == [analyser.analyse([item])[0] for item in items]
