"""Plans (mor/plan.py): KeepPlan and BalancedPlan as plain data, their JSON (the old JSON of
balanced plans included), validation, and applying a plan that does or does not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mor
from mor import prune
from mor.balanced_selection import apply_plan
from mor.exceptions import PlanTypeError
from mor.plan import BalancedPlan, KeepPlan, load_plan, plan_from_dict, plan_from_json
from mor.systems import ModalSystem


def layer(n=5, *, seed=0, after=True):
    rng = np.random.default_rng(seed)
    poles = rng.uniform(0.3, 0.9, n) * np.exp(1j * rng.uniform(0.2, 2.5, n))
    return ModalSystem(poles, rng.standard_normal((n, 2)) + 0j, rng.standard_normal((2, n)) + 0j,
                       np.eye(2), 1, pair=True, output_after_update=after, name=f"layer {seed}")


# The JSON of a balanced KeepPlan as saved before issue 10 (e.g. in a pruned checkpoint).
OLD_JSON = {
    "method": "balanced_truncation", "keep": [[0, 1, 2], [0]], "nunits": [6, 4],
    "ratio": 0.5, "threshold": None, "scores": [[3.0, 2.0, 1.0, 0.5, 0.1, 0.0], [1.0, 0.5]],
    "normalized_scores": None, "seed": None, "kind": "balanced", "compat": None, "version": 1,
}


def test_old_balanced_json_loads_as_a_balanced_plan_and_writes_the_same_keys(tmp_path):
    plan = plan_from_dict(OLD_JSON)
    assert isinstance(plan, BalancedPlan) and plan.kind == "balanced"
    assert plan.orders == plan.kept_counts == (3, 1) and plan.nstates == (6, 4)
    assert plan.achieved_ratio == pytest.approx(1 - 4 / 10)
    assert plan.to_dict() == OLD_JSON
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(OLD_JSON))
    assert load_plan(path) == plan == BalancedPlan.load(path)
    assert plan_from_json(plan.to_json()) == plan
    with pytest.raises(mor.PlanMismatchError, match="kind 'balanced'"):
        KeepPlan.from_dict(OLD_JSON)  # a balanced plan is not a KeepPlan
    with pytest.raises(mor.PlanMismatchError, match="leading states"):
        plan_from_dict({**OLD_JSON, "keep": [[0, 2], [0]]})
    with pytest.raises(mor.PlanMismatchError, match="kind"):
        plan_from_dict({**OLD_JSON, "kind": "other"})


def test_modal_plans_keep_their_json_and_class_level_kind():
    plan = mor.prune([layer(seed=1)], "aire", ratio=0.4)
    data = plan.to_dict()
    assert data["kind"] == "modal" and list(data) == list(OLD_JSON)
    assert plan_from_dict(data) == plan == KeepPlan.from_dict(data)
    assert plan_from_dict({k: v for k, v in data.items() if k != "kind"}) == plan
    with pytest.raises(mor.PlanMismatchError, match="kind 'modal'"):
        BalancedPlan.from_dict(data)
    assert "kind" not in KeepPlan.__dataclass_fields__  # plain data: the type is the kind
    with pytest.raises(TypeError):
        KeepPlan("bt", ((0,),), (1,), kind="balanced")


def test_balanced_plans_validate_their_orders():
    with pytest.raises(mor.PlanMismatchError, match=r"outside 1\.\.4"):
        BalancedPlan("balanced_truncation", (5,), (4,))
    with pytest.raises(mor.PlanMismatchError, match="2 orders for 1 layers"):
        BalancedPlan("balanced_truncation", (1, 1), (4,))
    with pytest.raises(PlanTypeError):
        BalancedPlan("balanced_truncation", (1.5,), (4,))
    plan = BalancedPlan("balanced_truncation", (2,), (10,))
    with pytest.raises(mor.PlanMismatchError, match="10 states but the system has 8"):
        apply_plan(plan, [layer(4)])


def stack(sizes=(6, 9, 4), seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, n in enumerate(sizes):
        poles = rng.uniform(0.1, 0.99, n) * np.exp(1j * rng.uniform(0.1, 3.0, n))
        B = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        C = rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))
        layers.append(ModalSystem(poles, B * (i + 1), C, dt=1, name=f"layer {i}"))
    return layers


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
