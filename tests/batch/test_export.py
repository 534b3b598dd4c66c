"""`vitrina batch export`: a Parquet dataset read back with DuckDB, Polars and Spark
equals the catalog, vectors included; it is written whole or not at all."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from tests.batch.conftest import copy_catalog, settings_for
from vitrina.batch.export import export_dataset
from vitrina.errors import InvalidInput
from vitrina.pipeline.queue import ASSETS, SIGNALS
from vitrina.runtime import Runtime
from vitrina.search.vectors import encode_vector
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Signal, Tag


def test_the_export_reads_back_as_the_catalog(catalog_template, tmp_path, monkeypatch):
    data = copy_catalog(catalog_template, tmp_path)
    settings = settings_for(data)
    rt = Runtime(settings)
    rng = np.random.default_rng(7)
    with rt.sessions() as s:
        ids = sorted(s.scalars(select(Asset.id)))
    vectors = {a: rng.standard_normal(1280).astype(np.float32) for a in ids[:30]}
    with transaction(rt.sessions) as s:
        s.execute(update(ASSETS).where(ASSETS.c.id == ids[0]).values(title="A title", alt_text="Alt, \"quoted\""))
        s.add_all([Tag(asset_id=ids[0], tag="sky", source="user"), Tag(asset_id=ids[0], tag="cat", source="imagenet"),
                   Tag(asset_id=ids[1], tag="sky", source="user")])
        s.execute(SIGNALS.insert(), [{"asset_id": a, "name": "imagenet", "producer": "efficientnet@1",
                                      "version": "1", "value": {"embedding": encode_vector(v), "labels": ["x"]}}
                                     for a, v in vectors.items()])
    with rt.sessions() as s:
        assets = {a.id: a for a in s.scalars(select(Asset))}
        signals = {(r.asset_id, r.name): r for r in s.scalars(select(Signal))}
    rt.close()

    out = tmp_path / "export"
    monkeypatch.setenv("VITRINA_DEV", "1")
    monkeypatch.setenv("VITRINA_DATA_DIR", str(data))
    monkeypatch.setenv("VITRINA_ANALYSIS__MODELS", "[]")
    result = CliRunner().invoke(__import__("vitrina.cli", fromlist=["main"]).main,
                                ["batch", "export", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"48 assets, {len(signals)} signals, 30 embeddings/imagenet" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export"]  # no temp dir left

    db = duckdb.connect()
    a = db.sql(f"select * from '{out}/assets.parquet' order by id").pl()
    assert a["id"].to_list() == ids and a["bytes"].to_list() == [assets[i].size_bytes for i in ids]
    first = a.row(0, named=True)
    assert (first["title"], first["alt_text"], first["tags"]) == ("A title", 'Alt, "quoted"', ["cat", "sky"])
    assert (first["width"], first["height"], first["kind"]) == (assets[ids[0]].width, assets[ids[0]].height, "image")
    assert a.row(2, named=True)["tags"] == [] and first["created_at"] == assets[ids[0]].created_at
    assert db.execute(f"select count(*) from '{out}/signals.parquet'").fetchone()[0] == len(signals)

    s = pl.read_parquet(out / "signals.parquet")
    assert s.height == len(signals)
    for row in s.iter_rows(named=True):
        stored = signals[(row["asset_id"], row["name"])]
        assert (row["producer"], row["version"], json.loads(row["value"])) == (stored.producer, stored.version,
                                                                                stored.value)

    e = pl.read_parquet(out / "embeddings" / "imagenet.parquet")
    assert e.height == 30 and str(e.schema["vector"]) == "Array(Float32, shape=(1280,))"
    for row in e.iter_rows(named=True):
        assert np.array_equal(np.asarray(row["vector"], dtype=np.float32), vectors[row["asset_id"]])
    dim = db.execute(f"select len(vector) from '{out}/embeddings/imagenet.parquet' limit 1").fetchone()[0]
    assert dim == 1280
    _spark_reads(out, ids, len(signals), vectors)

    # project filter; an existing target is refused and left alone
    other, rt = tmp_path / "none", Runtime(settings)
    assert export_dataset(rt, other, project="nobody") == {"assets": 0, "signals": 0}
    assert pl.read_parquet(other / "assets.parquet").height == 0
    with pytest.raises(InvalidInput) as err:
        export_dataset(rt, out)
    assert err.value.code == "export_target_exists"
    rt.close()


def _spark_reads(out, ids: list[str], signals: int, vectors: dict[str, np.ndarray]) -> None:
    """A local Spark (one JVM, no UI) reads the same dataset: ids, counts and a vector."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("vitrina-export-test")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").getOrCreate())
    try:
        assets = spark.read.parquet(str(out / "assets.parquet"))
        assert sorted(r["id"] for r in assets.select("id").collect()) == ids
        assert spark.read.parquet(str(out / "signals.parquet")).count() == signals
        rows = spark.read.parquet(str(out / "embeddings" / "imagenet.parquet")).collect()
        assert len(rows) == len(vectors)
        for row in rows[:3]:
            assert np.array_equal(np.asarray(row["vector"], dtype=np.float32), vectors[row["asset_id"]])
    finally:
        spark.stop()
