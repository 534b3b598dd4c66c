"""Assignment: deterministic, the same one at a time and vectorised, faithful to
weights, sticky under the documented changes, honouring layers, holdout,
targeting, rollouts and the kill switch."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vitrina.errors import InvalidInput
from vitrina.experiments.assignment import Assigner, Reason, assign
from vitrina.experiments.definitions import (
    Experiment,
    Holdout,
    LayerSlot,
    RolloutSchedule,
    RolloutStage,
    Status,
    Variant,
    check_layer,
    feature_flag,
)
from vitrina.experiments.errors import InvalidExperiment
from vitrina.experiments.stats import srm_check
from vitrina.experiments.targeting import Condition

IDS = np.array([f"user-{i:07d}" for i in range(200_000)])
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _exp(**kw) -> Experiment:
    base = {"key": "hero-image", "variants": (Variant("control", 1), Variant("b", 1),
                                            Variant("c", 2))}
    return Experiment(**{**base, **kw})


def test_split_follows_weights():
    batch = Assigner(_exp()).assign_many(IDS)
    counts = batch.counts()
    assert sum(counts.values()) == len(IDS)
    check = srm_check(list(counts.values()), [1, 1, 2])
    assert check.status == "ok", counts


def test_one_call_equals_vectorised_with_every_rule():
    exp = _exp(traffic=0.6, layer=LayerSlot("homepage", 1000, 8000),
               targeting=(Condition("country", "in", ["FR", "DE"]),
                          Condition("age", "gte", 18)))
    assigner = Assigner(exp, Holdout("global", 0.1))
    rng = np.random.default_rng(1)
    ids = IDS[:20_000]
    country = rng.choice(["FR", "DE", "US"], len(ids))
    age = rng.integers(10, 60, len(ids))
    batch = assigner.assign_many(ids, {"country": country, "age": age})
    reasons = set()
    for i in range(0, len(ids), 7):
        one = assigner.assign(str(ids[i]), {"country": str(country[i]), "age": int(age[i])})
        assert one.variant == batch.variants[batch.variant_index[i]]
        assert one.reason == batch.reason[i]
        reasons.add(one.reason)
    assert reasons == {Reason.ASSIGNED, Reason.HOLDOUT, Reason.NOT_TARGETED,
                       Reason.OUTSIDE_LAYER, Reason.OUTSIDE_TRAFFIC}


def test_deterministic_across_instances_and_salted_by_key():
    a = Assigner(_exp()).assign_many(IDS[:5000]).variant_index
    b = Assigner(Experiment.from_dict(_exp().to_dict())).assign_many(IDS[:5000]).variant_index
    other = Assigner(_exp(key="other")).assign_many(IDS[:5000]).variant_index
    assert np.array_equal(a, b)
    assert np.mean(a == other) < 0.5


def test_ramping_traffic_keeps_every_variant():
    before = Assigner(_exp(traffic=0.05)).assign_many(IDS)
    after = Assigner(_exp(traffic=0.5)).assign_many(IDS)
    was_in = before.in_experiment
    assert after.in_experiment[was_in].all()
    assert np.array_equal(before.variant_index[was_in], after.variant_index[was_in])
    assert 0.48 < after.in_experiment.mean() < 0.52


def test_reweighting_moves_only_boundary_units():
    before = Assigner(_exp(variants=(Variant("control", 1), Variant("b", 1)))).assign_many(IDS)
    after = Assigner(_exp(variants=(Variant("control", 6), Variant("b", 4)))).assign_many(IDS)
    moved = before.variant_index != after.variant_index
    # only b -> control moves, for the 10% of buckets that changed hands
    assert np.all(before.variant_index[moved] == 1) and np.all(after.variant_index[moved] == 0)
    assert 0.09 < moved.mean() < 0.11


def test_layers_are_mutually_exclusive():
    a = _exp(key="exp-a", layer=LayerSlot("checkout", 0, 5000))
    b = _exp(key="exp-b", layer=LayerSlot("checkout", 5000, 10000))
    in_a = Assigner(a).assign_many(IDS).in_experiment
    in_b = Assigner(b).assign_many(IDS).in_experiment
    assert not np.any(in_a & in_b)
    assert 0.48 < in_a.mean() < 0.52 and np.all(in_a | in_b)
    check_layer([a, b])
    with pytest.raises(InvalidExperiment):
        check_layer([a, _exp(key="exp-c", layer=LayerSlot("checkout", 4000, 6000))])


def test_global_holdout_sees_no_experiment():
    holdout = Holdout("h2025", 0.05)
    first = Assigner(_exp(key="e1"), holdout).assign_many(IDS)
    second = Assigner(_exp(key="e2"), holdout).assign_many(IDS)
    held = first.reason == Reason.HOLDOUT
    assert np.array_equal(held, second.reason == Reason.HOLDOUT)
    assert 0.045 < held.mean() < 0.055
    assert np.all(first.variant_index[held] == 0)
    exempt = Assigner(_exp(key="e1", in_holdout_scope=False), holdout).assign_many(IDS)
    assert exempt.in_experiment.all()


def test_kill_switch_and_status():
    killed = assign(_exp(killed=True), "user-1")
    assert (killed.variant, killed.in_experiment, killed.reason) == ("control", False,
                                                                     Reason.KILLED)
    assert assign(_exp(status=Status.STOPPED), "user-1").reason == Reason.NOT_RUNNING
    batch = Assigner(_exp(killed=True)).assign_many(IDS[:100])
    assert not batch.in_experiment.any() and np.all(batch.variant_index == 0)


def test_rollout_schedule_ramps_by_time():
    stages = tuple(RolloutStage(T0 + timedelta(days=i), share)
                   for i, share in enumerate((0.01, 0.05, 0.25, 0.5)))
    flag = feature_flag("new-player", rollout=RolloutSchedule(stages))
    assigner = Assigner(flag)
    shares = [assigner.assign_many(IDS, now=T0 + timedelta(days=d, hours=1)).in_experiment
              for d in range(4)]
    for got, want in zip(shares, (0.01, 0.05, 0.25, 0.5)):
        assert abs(got.mean() - want) < 0.01
    for earlier, later in itertools.pairwise(shares):
        assert later[earlier].all()
    assert not assigner.assign_many(IDS[:1000], now=T0 - timedelta(days=1)).in_experiment.any()
    on = assigner.assign("user-0000001", now=T0 + timedelta(days=9))
    assert on.value in (True, False) and on.variant == ("on" if on.value else "off")


def test_feature_flag_values():
    flag = feature_flag("dark-mode", 0.3, on_value={"theme": "dark"}, off_value=None)
    batch = Assigner(flag).assign_many(IDS)
    assert abs(batch.in_experiment.mean() - 0.3) < 0.01
    assert set(batch.variant_names()[batch.in_experiment]) == {"on"}
    one = assign(flag, str(IDS[np.argmax(batch.in_experiment)]))
    assert one.value == {"theme": "dark"}


def test_definitions_round_trip_as_json():
    exp = _exp(traffic=0.25, layer=LayerSlot("l1", 0, 10),
               targeting=(Condition("plan", "in", ["pro", "team"]),),
               rollout=RolloutSchedule((RolloutStage(T0, 0.1),)), tags=("hero",))
    again = Experiment.from_dict(json.loads(json.dumps(exp.to_dict())))
    assert again == exp
    assert Assigner(again).assign("u-1", {"plan": "pro"}, now=T0) == \
        Assigner(exp).assign("u-1", {"plan": "pro"}, now=T0)


@pytest.mark.parametrize("bad", [
    {"key": "bad key"},
    {"variants": ()},
    {"variants": (Variant("a", 0), Variant("b", 0))},
    {"variants": (Variant("a"), Variant("a"))},
    {"traffic": 1.5},
])
def test_invalid_definitions_are_refused(bad):
    with pytest.raises(InvalidExperiment):
        _exp(**bad)


def test_unknown_fields_and_operators_are_errors():
    data = _exp().to_dict()
    with pytest.raises(InvalidInput) as err:
        Experiment.from_dict({**data, "trafic": 0.5})
    assert err.value.code == "invalid_input"
    with pytest.raises(InvalidExperiment):
        Condition("country", "like", "F%")
    with pytest.raises(InvalidExperiment):
        RolloutSchedule((RolloutStage(T0, 0.1), RolloutStage(T0, 0.2)))
    with pytest.raises(InvalidExperiment):
        RolloutStage(datetime(2025, 1, 1), 0.1)


def test_targeting_missing_and_mismatched_attributes():
    exp = _exp(targeting=(Condition("age", "gte", 18),))
    assert assign(exp, "u", {}).reason == Reason.NOT_TARGETED
    assert assign(exp, "u", {"age": "old"}).reason == Reason.NOT_TARGETED
    assert assign(_exp(targeting=(Condition("beta", "not_exists"),)), "u", {}).reason != \
        Reason.NOT_TARGETED


def test_bucket_thresholds_equal_bucket_arithmetic():
    """The vectorised path compares hashes with thresholds instead of computing
    buckets: the same answer for every 16-bit value and every cut."""
    from vitrina.experiments.assignment import _hash_cut

    values = np.arange(1 << 16, dtype=np.int64)
    buckets = (values * 10_000) >> 16
    for cut in range(0, 10_001, 37):
        assert np.array_equal(buckets < cut, values < _hash_cut(cut))


def test_zero_weight_variants_get_no_one():
    exp = _exp(variants=(Variant("control", 1), Variant("b", 1), Variant("off", 0)))
    batch = Assigner(exp).assign_many(IDS[:20_000])
    assert batch.counts()["off"] == 0
    assert all(Assigner(exp).assign(str(i)).variant != "off" for i in IDS[:2000])
