import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mor
from mor import KeepPlan, ModalSystem, prune

SCORED = [m for m in mor.METHODS if m != "balanced_truncation"]


def stack(sizes=(6, 9, 4), seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, n in enumerate(sizes):
        poles = rng.uniform(0.1, 0.99, n) * np.exp(1j * rng.uniform(0.1, 3.0, n))
        B = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        C = rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))
        layers.append(ModalSystem(poles, B * (i + 1), C, dt=1, name=f"layer {i}"))
    return layers


@pytest.mark.parametrize("method", SCORED)
def test_ratio_zero_keeps_everything_and_one_keeps_one_per_layer(method):
    layers = stack()
    assert prune(layers, method, ratio=0.0).kept_counts == (6, 9, 4)
    assert prune(layers, method, ratio=1.0).kept_counts == (1, 1, 1)


@pytest.mark.parametrize("method", SCORED)
@pytest.mark.parametrize("ratio", np.linspace(0, 1, 21))
def test_kept_count_matches_the_ratio(method, ratio):
    layers = stack()
    plan = prune(layers, method, ratio=float(ratio))
    total = 19
    assert sum(plan.kept_counts) == max(total - math.floor(ratio * total + 0.5), 3)
    assert all(k >= 1 for k in plan.kept_counts)


@pytest.mark.parametrize("method", ["aire", "last", "lamp"])
def test_prefix_methods_keep_a_prefix_of_each_layer(method):
    layers = stack()
    for ratio in np.linspace(0, 1, 11):
        plan = prune(layers, method, ratio=float(ratio))
        for kept, local in zip(plan.keep, plan.scores, strict=True):
            order = np.lexsort((np.arange(len(local)), -np.array(local)))
            assert set(kept) == set(order[: len(kept)].tolist())
        for norm in plan.normalized_scores:
            assert max(norm) == 1.0


def test_aire_uses_energy_and_last_uses_hinf_scores():
    layers = stack()
    plan = prune(layers, "aire", ratio=0.5)
    assert np.allclose(plan.scores[1], mor.scores.energy(layers[1]))
    plan = prune(layers, "last", ratio=0.5)
    assert np.allclose(plan.scores[1], mor.scores.hinf(layers[1]))


def test_global_raw_method_can_favour_one_layer():
    layers = stack()
    plan = prune(layers, "global_energy", ratio=0.6)
    energies = [mor.scores.energy(s) for s in layers]
    kept_min = min(min(e[list(k)]) for e, k in zip(energies, plan.keep, strict=True) if len(k) > 1)
    pruned_max = max(
        (max(np.delete(e, list(k))) for e, k in zip(energies, plan.keep, strict=True)
         if len(k) < e.size),
    )
    assert kept_min >= pruned_max


def test_uniform_methods_prune_each_layer_alike():
    layers = stack((10, 20, 30))
    plan = prune(layers, "uniform_hinf", ratio=0.5)
    assert plan.kept_counts == (5, 10, 15)


def test_random_is_seeded():
    layers = stack()
    a = prune(layers, "random", ratio=0.5, seed=3)
    assert a == prune(layers, "random", ratio=0.5, seed=3)
    assert any(prune(layers, "random", ratio=0.5, seed=s).keep != a.keep for s in range(4, 9))


def test_ties_are_broken_deterministically_and_exactly():
    same = ModalSystem(np.full(5, 0.5), np.ones((5, 1)), np.ones((1, 5)), dt=1)
    plan = prune([same, same], "global_hinf", ratio=0.5)
    assert sum(plan.kept_counts) == 5
    assert plan.keep == ((0, 1, 2), (0, 1))


def test_threshold_and_budget():
    layers = stack()
    plan = prune(layers, "aire", threshold=0.2)
    for kept, norm in zip(plan.keep, plan.normalized_scores, strict=True):
        norm = np.array(norm)
        assert set(kept) == set(np.flatnonzero(norm >= 0.2)) | {int(np.argmax(norm))}
    plan = prune(layers, "last", budget=[2, 3, 1])
    assert plan.kept_counts == (2, 3, 1)


@pytest.mark.parametrize("ratio", [-0.1, 1.5, float("nan")])
def test_bad_ratio(ratio):
    with pytest.raises(mor.RatioError, match="ratio"):
        prune(stack(), "aire", ratio=ratio)


def test_bad_requests():
    with pytest.raises(mor.UnknownMethodError, match="aire"):
        prune(stack(), "nope", ratio=0.5)
    with pytest.raises(mor.RatioError, match="exactly one"):
        prune(stack(), "aire", ratio=0.5, threshold=0.1)
    with pytest.raises(mor.RatioError, match="budget"):
        prune(stack(), "aire", budget=[1, 2])
    with pytest.raises(mor.RatioError, match="layer 1"):
        prune(stack(), "aire", budget=[1, 0, 1])
    with pytest.raises(mor.RatioError):
        prune(stack(), "uniform_hinf", threshold=0.1)
    with pytest.raises(mor.EmptySystemError):
        prune([], "aire", ratio=0.5)


def test_plan_json_round_trip_and_apply(tmp_path):
    layers = stack()
    plan = prune(layers, "aire", ratio=0.5)
    again = KeepPlan.from_json(plan.to_json())
    assert again == plan
    plan.save(tmp_path / "plan.json")
    assert KeepPlan.load(tmp_path / "plan.json") == plan
    reduced = again.apply(layers)
    assert [r.nunits for r in reduced] == list(plan.kept_counts)
    for full, red, kept in zip(layers, reduced, plan.keep, strict=True):
        assert np.array_equal(red.poles, full.poles[list(kept)])


def test_plan_that_does_not_fit():
    plan = prune(stack(), "aire", ratio=0.5)
    with pytest.raises(mor.PlanMismatchError, match="3 layers"):
        plan.apply(stack()[:2])
    with pytest.raises(mor.PlanMismatchError, match="layer 0"):
        plan.apply(stack((7, 9, 4)))
    with pytest.raises(mor.PlanMismatchError):
        KeepPlan.from_json('{"method": "aire"}')
    with pytest.raises(mor.PlanMismatchError):
        KeepPlan.from_json("not json")
    with pytest.raises(mor.PlanMismatchError, match="keeps no unit"):
        KeepPlan(method="aire", keep=[()], nunits=[3])


def test_balanced_truncation_plan():
    layers = stack((4, 5))
    plan = prune(layers, "balanced_truncation", ratio=0.5)
    assert plan.kind == "balanced"
    assert plan.kept_counts == (4, 5)  # half of 8 and 10 real states
    reduced = plan.apply(layers)
    assert [r.nstates for r in reduced] == [4, 5]
    assert KeepPlan.from_json(plan.to_json()) == plan


@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.floats(0, 1))
def test_kept_count_formula(sizes, ratio):
    total = sum(sizes)
    assert mor.kept_count(sizes, ratio) == max(total - math.floor(ratio * total + 0.5), len(sizes))
