"""mor.prune and its selection rules (mor/selection.py): methods, ratios, thresholds, ties,
the shared argument checks, and compat="released" (the released LAST / AIRE-Prune selection)
with layers that hold unstable units."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mor
from mor import BalancedPlan, KeepPlan, ModalSystem, prune
from mor.balanced_selection import apply_plan
from mor.exceptions import RatioError, UnknownMethodError, UnstableModeWarning

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


def test_balanced_truncation_plan():
    layers = stack((4, 5))
    plan = prune(layers, "balanced_truncation", ratio=0.5)
    assert plan.kind == "balanced"
    assert plan.kept_counts == (4, 5)  # half of 8 and 10 real states
    reduced = apply_plan(plan, layers)
    assert [r.nstates for r in reduced] == [4, 5]
    assert BalancedPlan.from_json(plan.to_json()) == plan


@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.floats(0, 1))
def test_kept_count_formula(sizes, ratio):
    total = sum(sizes)
    assert mor.kept_count(sizes, ratio) == max(total - math.floor(ratio * total + 0.5), len(sizes))


# ---------------------------------------------------------------------- shared checks (issue 10)
@pytest.mark.parametrize("good", [0, 1, 0.25, np.float32(0.5), np.float64(1.0), np.int64(0)])
def test_check_ratio_accepts_real_numbers_in_the_unit_interval(good):
    from mor.selection import check_ratio

    value = check_ratio(good)
    assert type(value) is float and value == float(good)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf, True, "0.5", None, 1j])
def test_check_ratio_refuses_the_rest_with_an_argument_error(bad):
    from mor.selection import check_ratio

    with pytest.raises(mor.ArgumentError, match=r"keep = .*\[0, 1\]"):
        check_ratio(bad, name="keep")
    with pytest.raises(mor.RatioError):  # the class the callers caught before issue 10
        check_ratio(bad)


def test_check_ratios_sorts_deduplicates_and_limits():
    from mor.selection import MAX_RATIOS, check_ratios

    assert check_ratios([0.5, 0, 0.5, np.float64(0.25)]) == [0.0, 0.25, 0.5]
    assert check_ratios(np.linspace(0, 1, 3)) == [0.0, 0.5, 1.0]
    for bad in ([], [0.5, 1.5], [math.nan], "0.5", 0.5, [True]):
        with pytest.raises(mor.ArgumentError, match=r"\[0, 1\]"):
            check_ratios(bad)
    with pytest.raises(mor.ArgumentError, match="MAX_RATIOS"):
        check_ratios(np.linspace(0, 1, MAX_RATIOS + 1))
    assert len(check_ratios(np.linspace(0, 1, MAX_RATIOS))) == MAX_RATIOS


def test_method_kinds_are_the_one_source_of_modal_methods():
    from mor.calibrated import CALIBRATED_METHODS
    from mor.selection import METHOD_KINDS, MODAL_METHODS, method_kind

    assert set(METHOD_KINDS) == set(mor.METHODS) | set(CALIBRATED_METHODS)
    assert set(METHOD_KINDS.values()) == {"modal", "balanced"}
    assert method_kind("aire") == "modal" and method_kind("aire_calibrated") == "modal"
    assert method_kind("balanced_truncation") == "balanced"
    assert method_kind("balanced_truncation_calibrated") == "balanced"
    assert MODAL_METHODS == tuple(m for m, k in METHOD_KINDS.items() if k == "modal")
    assert "balanced_truncation" not in MODAL_METHODS and "lamp" in MODAL_METHODS
    # each kind is the kind of plan the method makes
    layers = stack((3, 4))
    for method in mor.METHODS:
        assert prune(layers, method, ratio=0.5).kind == method_kind(method)
    for bad in ("AIRE", "", None):
        with pytest.raises(mor.ArgumentError, match="choose from"):
            method_kind(bad)


def test_check_methods_parses_validates_and_filters_by_kind():
    from mor.selection import check_methods

    assert check_methods("aire, last,aire") == ["aire", "last"]
    assert check_methods(["balanced_truncation_calibrated", "lamp"]) == [
        "balanced_truncation_calibrated", "lamp"]
    assert check_methods("all") == list(mor.METHODS)  # the calibrated ones need data
    assert check_methods("all", kinds=["balanced"]) == ["balanced_truncation"]
    assert "balanced_truncation" not in check_methods("all", kinds=("modal",))
    with pytest.raises(mor.UnknownMethodError, match=r"\['nope'\].*choose from.*aire"):
        check_methods("aire,nope")
    with pytest.raises(mor.ArgumentError, match="choose from"):
        check_methods("")
    with pytest.raises(mor.ArgumentError, match="balanced_truncation"):
        check_methods(["balanced_truncation"], kinds=["modal"])


# ======================================================================= compat="released"
# ``mor.prune(..., compat="released")`` reproduces the released LAST / AIRE-Prune selection,
# and layers with unstable units can be pruned (issue 11).
#
# The reference below is written from the released code's documented rules (ANCHORS.md), not
# from the library: per stored mode ``c2·b2 / gap`` with 1e-8 added to the pole gap, the
# bidirectional ``(‖C_f‖ + ‖C_b‖)/2**2``, the ascending-sort prefix normalisation, and
# ``th = sort(all)[-K]`` with ``K = max(int(N * (100 - pct) / 100), 1)``, keep ``score >= th``.


# ----------------------------------------------------------------------- the reference
def released_reference(poles, B, C, Cb, method, pct):
    """Kept indices per layer by the released rules, from raw per-layer (λ̄, B̄, C, C_b)."""
    scores = []
    for lam, b, c, cb in zip(poles, B, C, Cb, strict=True):
        b2 = np.linalg.norm(b, axis=1) ** 2
        if cb is None:
            c2 = np.linalg.norm(c, axis=0) ** 2
        else:  # the released line, operator precedence included
            c2 = (np.linalg.norm(c, axis=0) + np.linalg.norm(cb, axis=0)) / 2 **2
        if method == "last":
            gap = (1 - np.abs(lam)) ** 2 + 1e-8
        else:
            gap = (1 - np.abs(lam) ** 2) + 1e-8
        v = c2 * b2 / gap
        order = np.argsort(v, kind="stable")
        norm = np.sort(v) / np.cumsum(np.sort(v)[::-1])[::-1]
        out = np.empty_like(v)
        out[order] = norm
        scores.append(out)
    total = sum(s.size for s in scores)
    keep_count = max(int(total * (100 - pct) / 100), 1)
    th = np.sort(np.concatenate(scores))[-keep_count]
    return [tuple(np.flatnonzero(s >= th).tolist()) for s in scores]


def random_stack(sizes, *, bidirectional=False, seed=0, radius=(0.2, 0.9999)):
    rng = np.random.default_rng(seed)
    layers, raw = [], ([], [], [], [])
    for i, n in enumerate(sizes):
        r = 1 - np.exp(rng.uniform(np.log(1 - radius[1]), np.log(1 - radius[0]), n))
        poles = r * np.exp(1j * rng.uniform(0.05, 3.0, n))
        B = (rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))) * 10 ** rng.uniform(
            -2, 0, (n, 1))
        C = rng.standard_normal((3, n)) + 1j * rng.standard_normal((3, n))
        Cb = (rng.standard_normal((3, n)) + 1j * rng.standard_normal((3, n))) if bidirectional \
            else None
        layers.append(ModalSystem(poles, B, C, dt=1, pair=True, C_backward=Cb,
                                  output_after_update=True, name=f"layer {i}"))
        for store, value in zip(raw, (poles, B, C, Cb), strict=True):
            store.append(value)
    return layers, raw


CASES = [((16, 16), False, 0), ((12, 12, 12), False, 1), ((16, 16), True, 2),
         ((10, 10, 10, 10), True, 3), ((32,), False, 4), ((8, 8, 8), True, 5)]


@pytest.mark.parametrize("sizes, bidirectional, seed", CASES)
@pytest.mark.parametrize("method", ["last", "aire"])
@pytest.mark.parametrize("pct", [20, 50, 80])
def test_released_mode_reproduces_the_reference_kept_sets(sizes, bidirectional, seed, method,
                                                            pct):
    layers, raw = random_stack(sizes, bidirectional=bidirectional, seed=seed)
    plan = prune(layers, method, ratio=pct / 100, compat="released")
    assert plan.keep == tuple(released_reference(*raw, method, pct))
    assert plan.compat == "released"


def test_the_released_rules_change_the_kept_sets():
    """The four rules matter: on these stacks the toolkit's default keeps other states."""
    differs = 0
    for sizes, bidirectional, seed in CASES:
        layers, _ = random_stack(sizes, bidirectional=bidirectional, seed=seed)
        for method in ("last", "aire"):
            for pct in (20, 50, 80):
                a = prune(layers, method, ratio=pct / 100, compat="released").keep
                b = prune(layers, method, ratio=pct / 100).keep
                differs += a != b
    assert differs >= 6


def test_gap_offset_caps_scores_near_the_unit_circle():
    """Two modes 1e-7 and 1e-6 from the circle: the toolkit ranks the first far above; the
    released 1e-8 on the squared gap nearly ties them, so a smaller B̄ decides."""
    poles = np.array([1 - 1e-7, 1 - 1e-6]) * np.exp(0.5j)
    sys = ModalSystem(poles, [[1.0], [1.2]], [[1.0, 1.0]], dt=1, pair=True)
    toolkit = mor.scores.hinf(sys)
    released = mor.scores.released_score(sys, "last")
    assert toolkit[0] / toolkit[1] == pytest.approx(100 / 1.44, rel=1e-6)
    assert released[0] < released[1]
    assert prune([sys], "last", ratio=0.5).keep == ((0,),)
    assert prune([sys], "last", ratio=0.5, compat="released").keep == ((1,),)


def test_bidirectional_score_is_linear_in_the_output_norms():
    sys = ModalSystem([0.5, 0.5], [[1.0], [1.0]], [[3.0, 0.0]], dt=1, pair=True,
                      C_backward=[[0.0, 2.0]])
    # (|C_f| + |C_b|)/4: 3/4 and 2/4, against the average of squares 9/2 and 4/2
    np.testing.assert_allclose(mor.scores.released_score(sys, "aire"),
                               np.array([0.75, 0.5]) / (0.75 + 1e-8))
    np.testing.assert_allclose(mor.scores.energy(sys) / mor.scores.energy(sys)[1], [2.25, 1.0])


@pytest.mark.parametrize("ratio, total, expected", [(0.2, 10, 8), (0.29, 100, 71),
                                                    (0.8, 7, 1), (1.0, 30, 1), (0.0, 9, 9),
                                                    (0.55, 3, 1), (0.5, 3, 1)])
def test_released_kept_count_is_floor_over_the_stack(ratio, total, expected):
    assert mor.kept_count([total], ratio, compat="released") == expected
    pct = round(100 * ratio)
    assert expected == max(int(total * (100 - pct) / 100), 1)


def test_released_threshold_keeps_ties_beyond_k():
    """At a high ratio every layer's top state has normalised score exactly 1: th = 1 and
    all of them are kept, more than K (the released 'score >= th' rule)."""
    layers, _ = random_stack((6, 6, 6), seed=9)
    plan = prune(layers, "aire", ratio=0.95, compat="released")
    assert mor.kept_count([18], 0.95, compat="released") == 1
    assert plan.kept_counts == (1, 1, 1)
    assert prune(layers, "aire", ratio=0.95).kept_counts == (1, 1, 1)
    # 10 units at ratio 0.24: the toolkit keeps 10 − round(2.4) = 8, the released code
    # floor(7.6) = 7
    layers, _ = random_stack((5, 5), seed=10)
    assert sum(prune(layers, "last", ratio=0.24).kept_counts) == 8
    assert sum(prune(layers, "last", ratio=0.24, compat="released").kept_counts) == 7


def test_released_prefix_normalisation_breaks_ties_like_the_released_sort():
    v = np.array([2.0, 1.0, 2.0, 1.0])
    # ascending stable order: 1 (idx 1), 1 (idx 3), 2 (idx 0), 2 (idx 2); tails 6, 5, 4, 2
    np.testing.assert_allclose(mor.scores.released_prefix_normalize(v),
                               [2 / 4, 1 / 6, 2 / 2, 1 / 5])
    # the toolkit's rule favours the lower index among ties
    np.testing.assert_allclose(mor.scores.prefix_normalize(v), [1.0, 1 / 5, 2 / 4, 1 / 6])


def test_released_plan_round_trips_through_json_and_old_plans_still_load(tmp_path):
    layers, _ = random_stack((8, 8), seed=11)
    plan = prune(layers, "last", ratio=0.5, compat="released")
    path = tmp_path / "plan.json"
    plan.save(path)
    assert json.loads(path.read_text())["compat"] == "released"
    assert KeepPlan.load(path) == plan
    old = plan.to_dict()
    del old["compat"]  # a plan written before issue 11
    assert KeepPlan.from_dict(old).compat is None
    with pytest.raises(mor.PlanMismatchError, match="compat"):
        KeepPlan.from_dict({**old, "compat": "official"})


def test_released_mode_refuses_what_the_released_code_cannot_do():
    layers, _ = random_stack((4, 4), seed=12)
    with pytest.raises(UnknownMethodError, match="'last' or 'aire'"):
        prune(layers, "global_hinf", ratio=0.5, compat="released")
    with pytest.raises(UnknownMethodError, match="compat"):
        prune(layers, "aire", ratio=0.5, compat="paper")
    with pytest.raises(RatioError, match="budget"):
        prune(layers, "aire", budget=[2, 2], compat="released")
    with pytest.raises(RatioError, match="eps"):
        prune(layers, "aire", ratio=0.5, eps=1e-8, compat="released")
    plan = prune(layers, "aire", threshold=0.3, compat="released")
    keys = plan.normalized_scores
    assert plan.keep == tuple(tuple(i for i, k in enumerate(row) if k >= 0.3) for row in keys)


# ----------------------------------------------------------------------- unstable units
def unstable_stack():
    good = ModalSystem([0.9 * np.exp(0.3j), 0.5, 0.7j], [[1.0], [2.0], [1.0]],
                       [[1.0, 1.0, 0.5]], dt=1, name="layer 0")
    bad = ModalSystem([0.95 * np.exp(0.2j), 1.01 * np.exp(1j), 0.3, 1.0],
                      [[1.0], [1e-3], [1.0], [1e-3]], [[1.0, 1e-3, 1.0, 1.0]], dt=1,
                      pair=[True, True, False, False], allow_unstable=True, name="layer 1")
    return [good, bad]


def test_unstable_units_score_infinity_and_are_always_kept():
    layers = unstable_stack()
    assert layers[1].unstable.tolist() == [False, True, False, True]
    assert np.isinf(mor.scores.energy(layers[1])[[1, 3]]).all()
    assert np.isinf(mor.scores.hinf_gain(layers[1])[[1, 3]]).all()
    assert np.isfinite(mor.scores.magnitude(layers[1])).all()
    for method in [m for m in mor.METHODS if m != "balanced_truncation"]:
        for ratio in (0.0, 0.5, 1.0):
            with pytest.warns(UnstableModeWarning, match=r"layer 1: unit\(s\) \[1, 3\]"):
                plan = prune(layers, method, ratio=ratio)
            assert {1, 3} <= set(plan.keep[1]), (method, ratio)
            assert len(plan.keep[0]) >= 1
    with pytest.warns(UnstableModeWarning):
        assert prune(layers, "aire", budget=[1, 1]).keep[1] == (1, 3)
    with pytest.warns(UnstableModeWarning):
        assert {1, 3} <= set(prune(layers, "aire", threshold=0.99).keep[1])


def test_unstable_plan_serialises_infinite_scores_as_null():
    with pytest.warns(UnstableModeWarning):
        plan = prune(unstable_stack(), "last", ratio=0.5)
    data = json.loads(plan.to_json())
    assert data["scores"][1][1] is None and data["normalized_scores"][1][3] is None
    again = KeepPlan.from_json(plan.to_json())
    assert again == plan and math.isinf(again.scores[1][1])


def test_prefix_normalisation_of_stable_units_ignores_the_unstable_ones():
    v = np.array([np.inf, 4.0, 1.0])
    np.testing.assert_allclose(mor.scores.prefix_normalize(v), [np.inf, 1.0, 0.2])


def test_norms_refuse_and_balanced_methods_reduce_the_stable_part_only():
    layer = unstable_stack()[1]
    with pytest.raises(mor.UnstableSystemError, match="layer 1: unit"):
        mor.h2_norm(layer)
    with pytest.raises(mor.UnstableSystemError):
        mor.hinf_norm(layer)
    assert layer.stable_part().nunits == 2
    full = layer.to_statespace()  # 6 states, 3 of them unstable (a pair and a real mode)
    reduced = mor.balanced_truncation(layer, 4)
    assert reduced.nstates == 4
    eig = np.abs(np.linalg.eigvals(reduced.A))
    assert np.sum(eig >= 1) == 3  # the unstable part is kept whole
    with pytest.raises(mor.StateDimensionError, match="unstable part"):
        mor.balanced_truncation(layer, 2)
    # at full order the reduction is exact
    exact = mor.balanced_truncation(layer, full.nstates)
    z = np.exp(1j * np.linspace(0.1, 3.0, 9))
    np.testing.assert_allclose(exact(z), full(z), atol=1e-9)
    with pytest.warns(UnstableModeWarning):
        plan = prune([layer], "balanced_truncation", ratio=0.5)
    assert plan.keep[0] == tuple(range(3))  # max(6 − 3, 3 unstable states)
    (modal,) = apply_plan(plan, [layer])
    assert modal.unstable.sum() == 2  # one unstable pair and the real unit at 1


def test_unstable_systems_need_allow_unstable():
    with pytest.raises(mor.UnstableSystemError, match="allow_unstable"):
        ModalSystem([1.0], [[1.0]], [[1.0]], dt=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sys = ModalSystem([1.0], [[1.0]], [[1.0]], dt=1, allow_unstable=True)
    assert sys.unstable.tolist() == [True] and sys.stable_part() is None
    assert sys.subsystem([0]).allow_unstable and sys.standard_form().allow_unstable
    assert mor.scores.finite_horizon_energy(sys, 5)[0] == pytest.approx(5.0)
