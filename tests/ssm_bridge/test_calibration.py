"""Calibration of a network: state moments on training data, calibrated plans, the .npz file."""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mor
import ssm_bridge as sb
from mor.calibrated import calibrated_energy
from ssm_bridge import jobs
from ssm_bridge.calibration import Calibration, CalibrationError, calibrate, make_plan
from ssm_bridge.models import make_model

S5_TINY = sb.S5Config(d_model=4, n_layers=2, state_sizes=(3, 2), d_input=2, n_classes=3,
                      bidirectional=True, dt_min=0.05, dt_max=0.5)
S4D_TINY = sb.S4DConfig(d_model=3, n_layers=2, state_sizes=(2, 2), d_input=2, n_classes=3,
                        dt_min=0.05, dt_max=0.5)


def brute_force_energies(variables, config, x):
    """Per layer and unit: the network's own readout with only that unit, squared, averaged.

    The layer input and states come from the Flax layer (float32); unit i's contribution is
    ``readout(mask = e_i) − readout(mask = 0)``.
    """
    model = make_model(config)
    h = model.apply(variables, x, method=lambda m, v: m.embed(v))
    energies = []
    for layer in range(config.n_layers):
        u, st = model.apply(variables, h,
                            method=lambda m, v, layer=layer: m.encoder.layers[layer].states(v))

        def readout(mask, u=u, st=st, layer=layer):
            return model.apply(variables, u, st, mask,
                               method=lambda m, *a: m.encoder.layers[layer].seq.readout(*a))

        n = config.nunits[layer]
        base = readout(jnp.zeros(n))
        e = [float(jnp.mean(jnp.sum((readout(jnp.eye(n)[i]) - base) ** 2, axis=-1)))
             for i in range(n)]
        energies.append(np.array(e))
        h = model.apply(variables, h, u, st,
                        method=lambda m, *a, layer=layer: m.encoder.layers[layer].finish(*a))
    return energies


@pytest.mark.parametrize("config", [S5_TINY, S4D_TINY], ids=["s5-bidirectional", "s4d"])
def test_calibrated_energy_is_the_network_units_output_energy(config):
    variables = sb.random_variables(config, seed=1)
    x = np.random.default_rng(2).standard_normal((5, 12, config.d_input)).astype(np.float32)
    cal = calibrate(variables, config, x, batch_size=2)  # padded last batch too
    assert cal.examples == 5
    systems = sb.extract(variables, config)
    brute = brute_force_energies(variables, config, jnp.asarray(x))
    for sys, m, ref in zip(systems, cal.layers, brute, strict=True):
        assert m.samples == 5 * 12
        np.testing.assert_allclose(calibrated_energy(sys, m), ref, rtol=2e-4,
                                   atol=1e-6 * ref.max())


def test_calibration_files_are_plain_arrays(tmp_path):
    variables = sb.random_variables(S5_TINY, seed=3)
    x = np.random.default_rng(4).standard_normal((3, 8, 2)).astype(np.float32)
    cal = calibrate(variables, S5_TINY, x, info={"source": "test"})
    path = tmp_path / "cal.npz"
    cal.save(path)
    with np.load(path, allow_pickle=False) as data:  # nothing needs pickle
        assert all(data[k].dtype != object for k in data.files)
    back = Calibration.load(path)
    assert back.examples == 3 and back.info["source"] == "test"
    for a, b in zip(back.layers, cal.layers, strict=True):
        for ra, rb in zip(a.blocks, b.blocks, strict=True):
            np.testing.assert_array_equal(ra, rb)
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta_json=np.array([{"x": 1}], dtype=object))
    with pytest.raises(CalibrationError):
        Calibration.load(bad)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CalibrationError):
        Calibration.load(tmp_path / "junk.npz")


def test_pruned_calibrated_checkpoints_are_reproducible(tmp_path):
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(6, 4), d_input=1, n_classes=10)
    folder = tmp_path / "ckpt"
    ckpt = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=3), cfg)
    (folder / "model.meta.json").write_text(json.dumps(
        {"task": "digits", "data_seed": 1, "task_options": {"n_train": 60, "n_test": 40}}))
    full = sb.load_checkpoint(ckpt)
    systems = sb.extract(full.variables, full.config)
    for method in ("aire_calibrated", "balanced_truncation_calibrated"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = jobs.prune_checkpoint(ckpt, method, 0.5, tmp_path / method)
        npz = tmp_path / method / "model.calibration.npz"
        assert npz.is_file()
        cal = Calibration.load(npz)
        assert cal.examples == 6  # 10 % of the 60 training examples
        assert not set(cal.info["indices"]) & set(range(60, 100))  # training indices only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = make_plan(systems, method, ratio=0.5, calibration=cal)
        assert plan == res.plan == mor.load_plan(tmp_path / method / "model.plan.json")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            small, small_cfg = sb.apply(full.variables, full.config, plan, mode="remove",
                                        calibration=cal)
        saved = sb.load_checkpoint(res.checkpoint_path)
        assert saved.config == small_cfg
        leaves = zip(jax.tree_util.tree_leaves(saved.variables),
                     jax.tree_util.tree_leaves(small), strict=True)
        assert all(np.array_equal(a, b) for a, b in leaves)
    with pytest.raises(mor.PlanMismatchError, match="calibration"):
        sb.apply(full.variables, full.config, plan, mode="remove")
