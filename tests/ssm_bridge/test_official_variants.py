"""Every variant of the official S5 tree loads, evaluates, extracts and prunes (issue 11).

Each tree is built here from the documented layout (ANCHORS.md, ``ssm_bridge.layout``):
bidirectional S5 with ``C_init="complex_normal"`` (one ``C`` of shape (H, 2P, 2)),
``mode="last"`` pooling, padded / masked mean pooling, the two-tower retrieval model, and a
tree with an unstable mode.  Logits are checked against the official forward pass written
out in float64 numpy (``s5/ssm.py``, ``s5/layers.py``, ``s5/seq_model.py`` as documented);
``compat="released"`` kept sets against the released selection re-implemented from the raw
tree.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import mor
import ssm_bridge as sb
from ssm_bridge import (
    ConfigError,
    LayoutError,
    S5Config,
    apply,
    evaluate,
    extract,
    infer_config_fields,
    log_probabilities,
    validate_tree,
)
from ssm_bridge.layout import config_from_tree

H, P, L, D_IN, CLASSES = 6, 4, 16, 3, 5


# ----------------------------------------------------------------------- official trees
def official_tree(*, seed=0, layers=2, P=P, conj_sym=True, bidirectional=False,
                  complex_normal=False, activation="half_glu1", batchnorm=True,
                  retrieval=False, lam_re=(-0.6, -0.05)):
    """Params (and BatchNorm stats) in the official layout, float32, as a user's checkpoint."""
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def dense(n_in, n_out, scale=1.0):
        return {"kernel": (scale * rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(f32),
                "bias": (0.1 * rng.standard_normal(n_out)).astype(f32)}

    def pairs(*shape, scale):
        return (scale * rng.standard_normal((*shape, 2))).astype(f32)

    decoder = ({"layer1": dense(4 * H, H), "layer2": dense(H, CLASSES, 3.0)} if retrieval
               else dense(H, CLASSES, 3.0))
    params = {"encoder": {"encoder": dense(D_IN, H)}, "decoder": decoder}
    stats = {"encoder": {}}
    for i in range(layers):
        seq = {
            "Lambda_re": rng.uniform(*lam_re, P).astype(f32),
            "Lambda_im": rng.uniform(-4, 4, P).astype(f32),
            "B": pairs(P, H, scale=1 / np.sqrt(2 * H)),
            "D": rng.standard_normal(H).astype(f32),
            "log_step": rng.uniform(np.log(0.02), np.log(0.6), (P, 1)).astype(f32),
        }
        if bidirectional and complex_normal:
            seq["C"] = pairs(H, 2 * P, scale=np.sqrt(0.5))
        elif bidirectional:
            seq["C1"] = pairs(H, P, scale=1 / np.sqrt(2 * P))
            seq["C2"] = pairs(H, P, scale=1 / np.sqrt(2 * P))
        else:
            seq["C"] = pairs(H, P, scale=1 / np.sqrt(2 * P))
        block = {"seq": seq, "norm": {"scale": (1 + 0.1 * rng.standard_normal(H)).astype(f32),
                                      "bias": (0.1 * rng.standard_normal(H)).astype(f32)}}
        if activation == "full_glu":
            block["out1"] = dense(H, H)
        if activation != "gelu":
            block["out2"] = dense(H, H)
        params["encoder"][f"layers_{i}"] = block
        stats["encoder"][f"layers_{i}"] = {"norm": {
            "mean": (0.1 * rng.standard_normal(H)).astype(f32),
            "var": rng.uniform(0.5, 2, H).astype(f32)}}
    return {"params": params, "batch_stats": stats} if batchnorm else {"params": params}


def _gelu(v):
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))


def _complex(a):
    return a[..., 0].astype(np.float64) + 1j * a[..., 1].astype(np.float64)


def official_encoder(variables, seq_in, cfg):
    """The official StackedEncoderModel on one sequence (L, d_input), eval mode, float64."""
    p = variables["params"]

    def dense(d, v):
        return v @ d["kernel"].astype(np.float64) + d["bias"]

    h = dense(p["encoder"]["encoder"], seq_in.astype(np.float64))
    for i in range(cfg.n_layers):
        lp = p["encoder"][f"layers_{i}"]

        def norm(v, lp=lp, i=i):
            if cfg.batchnorm:
                st = variables["batch_stats"]["encoder"][f"layers_{i}"]["norm"]
                v = (v - st["mean"]) / np.sqrt(st["var"] + 1e-5)
            else:
                v = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-6)
            return v * lp["norm"]["scale"] + lp["norm"]["bias"]

        skip = h
        u = norm(h) if cfg.prenorm else h
        q = lp["seq"]
        re = q["Lambda_re"].astype(np.float64)
        lam = (np.minimum(re, -1e-4) if cfg.clip_eigs else re) + 1j * q["Lambda_im"]
        step = cfg.step_rescale * np.exp(q["log_step"][:, 0].astype(np.float64))
        if cfg.discretization == "zoh":
            lam_bar = np.exp(lam * step)
            b_bar = (1 / lam * (lam_bar - 1))[:, None] * _complex(q["B"])
        else:
            bl = 1 / (1 - step / 2 * lam)
            lam_bar = bl * (1 + step / 2 * lam)
            b_bar = (bl * step)[:, None] * _complex(q["B"])
        c_tilde = (np.concatenate([_complex(q["C1"]), _complex(q["C2"])], axis=-1)
                   if "C1" in q else _complex(q["C"]))
        bu = u @ b_bar.T
        xs = np.zeros_like(bu)
        state = np.zeros(lam.shape, complex)
        for k in range(bu.shape[0]):
            state = lam_bar * state + bu[k]
            xs[k] = state
        if cfg.bidirectional:
            xb = np.zeros_like(bu)
            state = np.zeros(lam.shape, complex)
            for k in reversed(range(bu.shape[0])):
                state = lam_bar * state + bu[k]
                xb[k] = state
            xs = np.concatenate([xs, xb], axis=-1)
        y = (2 if cfg.conj_sym else 1) * (xs @ c_tilde.T).real + q["D"] * u
        if cfg.activation == "full_glu":
            g = _gelu(y)
            y = dense(lp["out1"], g) / (1 + np.exp(-dense(lp["out2"], g)))
        elif cfg.activation == "half_glu1":
            g = _gelu(y)
            y = g / (1 + np.exp(-dense(lp["out2"], g)))
        elif cfg.activation == "half_glu2":
            y = y / (1 + np.exp(-dense(lp["out2"], _gelu(y))))
        else:
            y = _gelu(y)
        h = skip + y
        if not cfg.prenorm:
            h = norm(h)
    return h


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _pool(h, length, mode):
    if mode == "last":
        return h[-1]
    if length is None:
        return h.mean(axis=0)
    return (np.arange(h.shape[0]) < length).astype(float) @ h / length


def official_logits(variables, x, cfg, lengths=None, mode="pool"):
    """The official ClassificationModel (mode 'pool' / 'last', padded or not), log-softmax."""
    dec = variables["params"]["decoder"]
    out = []
    for i, seq_in in enumerate(x):
        pooled = _pool(official_encoder(variables, seq_in, cfg),
                       None if lengths is None else lengths[i], mode)
        out.append(pooled @ dec["kernel"] + dec["bias"])
    return _log_softmax(np.array(out))


def official_retrieval(variables, x2, lengths2, cfg):
    """The official RetrievalModel: x2 (2·bsz, L, d) (first documents, then second ones)."""
    dec = variables["params"]["decoder"]
    pooled = np.array([_pool(official_encoder(variables, s, cfg), n, "pool")
                       for s, n in zip(x2, lengths2, strict=True)])
    a, b = np.split(pooled, 2)
    features = np.concatenate([a, b, a - b, a * b], axis=-1)
    hidden = _gelu(features @ dec["layer1"]["kernel"] + dec["layer1"]["bias"])
    return _log_softmax(hidden @ dec["layer2"]["kernel"] + dec["layer2"]["bias"])


def inputs(n=5, seed=1, shape=(L, D_IN)):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def assert_prunes(variables, cfg, x, *, lengths=None, method="aire", ratio=0.5):
    """extract → prune → apply (mask and remove): same logits; returns the plan."""
    systems = extract(variables, cfg)
    assert [s.nunits for s in systems] == list(cfg.nunits)
    plan = mor.prune(systems, method, ratio=ratio)
    masked, _ = apply(variables, cfg, plan, mode="mask")
    small, small_cfg = apply(variables, cfg, plan, mode="remove")
    assert small_cfg.state_sizes == plan.kept_counts
    a = log_probabilities(masked, cfg, x, batch_size=8, lengths=lengths)
    b = log_probabilities(small, small_cfg, x, batch_size=8, lengths=lengths)
    np.testing.assert_allclose(a, b, atol=2e-5)
    assert [s.nunits for s in extract(small, small_cfg)] == list(plan.kept_counts)
    return plan


# ----------------------------------------------------------------------- the variants
def test_bidirectional_complex_normal_tree_loads_evaluates_extracts_and_prunes():
    variables = official_tree(bidirectional=True, complex_normal=True)
    seq = variables["params"]["encoder"]["layers_0"]["seq"]
    assert "C1" not in seq and seq["C"].shape == (H, 2 * P, 2)
    fields = infer_config_fields(variables)
    assert fields["bidirectional"] is True and fields["c_init"] == "complex_normal"
    cfg = config_from_tree(variables, activation="half_glu1", discretization="zoh")
    assert cfg.single_output_matrix and cfg.state_sizes == (P, P)
    validate_tree(variables, cfg, require_batch_stats=True)
    x = inputs()
    ours = log_probabilities(variables, cfg, x, batch_size=8)
    np.testing.assert_allclose(ours, official_logits(variables, x, cfg), atol=2e-5, rtol=1e-5)
    systems = extract(variables, cfg)
    np.testing.assert_allclose(systems[0].C, _complex(seq["C"][:, :P]), rtol=1e-7)
    np.testing.assert_allclose(systems[0].C_backward, _complex(seq["C"][:, P:]), rtol=1e-7)
    plan = assert_prunes(variables, cfg, x)
    small, _ = apply(variables, cfg, plan, mode="remove")
    kept = plan.keep[0]
    np.testing.assert_array_equal(small["params"]["encoder"]["layers_0"]["seq"]["C"],
                                  seq["C"][:, list(kept) + [P + k for k in kept]])


def test_a_wrong_direction_or_c_init_names_the_fix():
    variables = official_tree(bidirectional=True, complex_normal=True)
    base = {k: v for k, v in infer_config_fields(variables).items() if k != "c_init"}
    with pytest.raises(LayoutError, match=r"c_init='complex_normal'"):
        validate_tree(variables, S5Config(**{**base, "bidirectional": False}))
    with pytest.raises(LayoutError, match=r"complex_normal"):
        validate_tree(variables, S5Config(**base))  # bidirectional, but C1/C2 expected
    c1c2 = official_tree(bidirectional=True)
    with pytest.raises(LayoutError, match=r"C1 and C2.*c_init"):
        validate_tree(c1c2, S5Config(**base, c_init="complex_normal"))


def test_last_pooling_tree_matches_the_official_mode_last():
    variables = official_tree(seed=2, activation="full_glu", batchnorm=False)
    cfg = config_from_tree(variables, pooling="last", prenorm=False, discretization="bilinear")
    assert cfg.activation == "full_glu" and not cfg.batchnorm
    x = inputs(seed=3)
    ours = log_probabilities(variables, cfg, x, batch_size=8)
    np.testing.assert_allclose(ours, official_logits(variables, x, cfg, mode="last"),
                               atol=2e-5, rtol=1e-5)
    labels = np.argmax(ours, axis=-1)
    assert evaluate(variables, cfg, x, labels, batch_size=8).accuracy == 1.0
    assert_prunes(variables, cfg, x, method="last", ratio=0.25)
    with pytest.raises(ConfigError, match="padded 'last'"):
        log_probabilities(variables, cfg, x, lengths=np.full(len(x), L))


def test_masked_mean_pooling_of_padded_sequences_matches_the_official_masked_meanpool():
    variables = official_tree(seed=4, bidirectional=True, activation="half_glu2")
    cfg = config_from_tree(variables, activation="half_glu2")
    x = inputs(n=6, seed=5)
    lengths = np.array([16, 9, 1, 12, 3, 16])
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0  # right padding, as the LRA loaders write it
    ours = log_probabilities(variables, cfg, x, batch_size=4, lengths=lengths)
    np.testing.assert_allclose(ours, official_logits(variables, x, cfg, lengths=lengths),
                               atol=2e-5, rtol=1e-5)
    unmasked = log_probabilities(variables, cfg, x, batch_size=4)
    assert np.abs(unmasked[1:5] - ours[1:5]).max() > 1e-3  # the lengths matter
    np.testing.assert_allclose(unmasked[[0, 5]], ours[[0, 5]], atol=1e-6)
    labels = np.argmax(ours, axis=-1)
    res = evaluate(variables, cfg, x, labels, batch_size=4, lengths=lengths)
    assert res.accuracy == 1.0 and res.count == 6
    assert_prunes(variables, cfg, x, lengths=lengths, ratio=0.5)
    with pytest.raises(ConfigError, match=r"lengths must lie in 1\.\.16"):
        evaluate(variables, cfg, x, labels, lengths=np.zeros(6, int))


def test_retrieval_pair_matches_the_official_two_tower_model():
    variables = official_tree(seed=6, retrieval=True, bidirectional=True, layers=1)
    fields = infer_config_fields(variables)
    assert fields["head"] == "retrieval" and fields["n_classes"] == CLASSES
    cfg = config_from_tree(variables, activation="half_glu1")
    pairs = inputs(n=4, seed=7, shape=(2, L, D_IN))
    lengths = np.array([[16, 5], [7, 16], [1, 2], [16, 16]])
    ours = log_probabilities(variables, cfg, pairs, batch_size=4, lengths=lengths)
    x2 = np.concatenate([pairs[:, 0], pairs[:, 1]])  # the official (2·bsz, L, d) input
    ref = official_retrieval(variables, x2, np.concatenate([lengths[:, 0], lengths[:, 1]]), cfg)
    np.testing.assert_allclose(ours, ref, atol=2e-5, rtol=1e-5)
    labels = np.argmax(ours, axis=-1)
    assert evaluate(variables, cfg, pairs, labels, batch_size=4, lengths=lengths).accuracy == 1
    assert_prunes(variables, cfg, pairs, lengths=lengths, method="last", ratio=0.5)
    with pytest.raises(ConfigError, match=r"pairs of documents"):
        evaluate(variables, cfg, pairs[:, 0], labels)
    with pytest.raises(ConfigError, match="retrieval"):
        sb.sweep(variables, cfg, pairs, labels, ratios=[0.5])


def test_a_tree_with_an_unstable_mode_is_extracted_pruned_and_certified():
    from verification import certify

    variables = official_tree(seed=8, lam_re=(-0.8, -0.1))
    seq1 = variables["params"]["encoder"]["layers_1"]["seq"]
    seq1["Lambda_re"][2] = 0.04  # trained without clip_eigs: Re λ > 0
    cfg = config_from_tree(variables, activation="half_glu1", clip_eigs=False)
    x = inputs(seed=9)
    ours = log_probabilities(variables, cfg, x, batch_size=8)  # the official model runs too
    np.testing.assert_allclose(ours, official_logits(variables, x, cfg), atol=2e-5, rtol=1e-5)
    with pytest.warns(mor.UnstableModeWarning, match=r"layer 1: mode\(s\) \[2\]"):
        systems = extract(variables, cfg)
    assert systems[1].unstable.tolist() == [False, False, True, False]
    assert systems[0].is_stable
    for method in ("aire", "last", "global_hinf", "uniform_energy", "random"):
        for ratio in (0.5, 1.0):
            with pytest.warns(mor.UnstableModeWarning, match="layer 1"):
                plan = mor.prune(systems, method, ratio=ratio)
            assert 2 in plan.keep[1]
    with pytest.warns(mor.UnstableModeWarning):
        plan = mor.prune(systems, "aire", ratio=0.75)
    report = certify(systems, plan)
    layer1 = report.layers[1]
    assert any("not strictly stable" in note for note in layer1.notes)
    assert layer1.bound("modal_triangle").holds is True  # the pruned units are stable
    assert report.all_valid_bounds_hold is True
    # a plan that prunes the unstable mode has no finite error: holds is None, with the reason
    forced = mor.KeepPlan("aire", [plan.keep[0], [0, 1, 3]], plan.nunits)
    bad = certify(systems, forced).layers[1]
    assert all(b.holds is None and "not strictly stable" in b.reason for b in bad.bounds)
    with pytest.warns(mor.UnstableModeWarning):
        assert_prunes(variables, cfg, x, ratio=0.5)
    with pytest.warns(mor.UnstableModeWarning):
        balanced = mor.prune(systems, "balanced_truncation", ratio=0.5)
    assert balanced.kept_counts[1] >= 2  # the unstable pair's two real states stay whole


def test_config_from_tree_refuses_to_guess_the_activation():
    variables = official_tree()  # out2 only: half_glu1 or half_glu2
    assert "activation" not in infer_config_fields(variables)
    with pytest.raises(ConfigError, match=r"pass activation='half_glu1' or "
                                          r"activation='half_glu2'"):
        config_from_tree(variables)
    assert config_from_tree(variables, activation="half_glu2").activation == "half_glu2"
    with pytest.raises(ConfigError, match=r"contradict the tree.*bidirectional"):
        config_from_tree(variables, activation="half_glu1", bidirectional=True)
    gelu = official_tree(activation="gelu")
    assert config_from_tree(gelu).activation == "gelu"


# ----------------------------------------------------------------------- released selection
def released_kept_sets(variables, cfg, method, pct):
    """The released selection, re-implemented from the raw official tree (float64)."""
    scores = []
    for i in range(cfg.n_layers):
        q = variables["params"]["encoder"][f"layers_{i}"]["seq"]
        re = q["Lambda_re"].astype(np.float64)
        lam = (np.clip(re, None, -1e-4) if cfg.clip_eigs else re) + 1j * q["Lambda_im"]
        step = cfg.step_rescale * np.exp(q["log_step"][:, 0].astype(np.float64))
        if cfg.discretization == "zoh":
            lam_bar = np.exp(lam * step)
            b_bar = (1 / lam * (lam_bar - 1))[:, None] * _complex(q["B"])
        else:
            bl = 1 / (1 - step / 2 * lam)
            lam_bar, b_bar = bl * (1 + step / 2 * lam), (bl * step)[:, None] * _complex(q["B"])
        c_tilde = (np.concatenate([_complex(q["C1"]), _complex(q["C2"])], axis=-1)
                   if "C1" in q else _complex(q["C"]))
        n = lam.size
        if cfg.bidirectional:
            c2 = (np.linalg.norm(c_tilde[:, :n], axis=0)
                  + np.linalg.norm(c_tilde[:, -n:], axis=0)) / 2 **2
        else:
            c2 = np.linalg.norm(c_tilde, axis=0) ** 2
        gap = ((1 - np.abs(lam_bar)) ** 2 if method == "last" else 1 - np.abs(lam_bar) ** 2)
        v = c2 * np.linalg.norm(b_bar, axis=1) ** 2 / (gap + 1e-8)
        order = np.argsort(v, kind="stable")
        out = np.empty_like(v)
        out[order] = np.sort(v) / np.cumsum(np.sort(v)[::-1])[::-1]
        scores.append(out)
    flat = np.concatenate(scores)
    th = np.sort(flat)[-max(int(flat.size * (100 - pct) / 100), 1)]
    return tuple(tuple(np.flatnonzero(s >= th).tolist()) for s in scores)


RELEASED_CONFIGS = [
    dict(tree={"P": 12, "layers": 3}, hyper={}),
    dict(tree={"P": 10, "bidirectional": True}, hyper={"discretization": "bilinear"}),
    dict(tree={"P": 8, "layers": 3, "bidirectional": True, "complex_normal": True}, hyper={}),
    dict(tree={"P": 16, "conj_sym": False, "lam_re": (-0.5, 0.01)},
         hyper={"conj_sym": False, "clip_eigs": True}),
    dict(tree={"P": 9, "bidirectional": True, "lam_re": (-0.05, -1e-5)},
         hyper={"step_rescale": 0.5}),
]


@pytest.mark.parametrize("case", range(len(RELEASED_CONFIGS)))
def test_compat_released_reproduces_the_released_kept_sets_on_official_trees(case):
    spec = RELEASED_CONFIGS[case]
    variables = official_tree(seed=20 + case, **spec["tree"])
    cfg = config_from_tree(variables, activation="half_glu1", **spec["hyper"])
    systems = extract(variables, cfg)
    for method in ("last", "aire"):
        for pct in (20, 50, 80):
            plan = mor.prune(systems, method, ratio=pct / 100, compat="released")
            assert plan.keep == released_kept_sets(variables, cfg, method, pct), (method, pct)
            apply(variables, cfg, plan, mode="remove")  # a released plan is a valid plan


# ----------------------------------------------------------------------- init, checkpoints, CLI
def test_the_s5_initialiser_uses_the_official_scale():
    """B̃ = V⁻¹B₀ with B₀ LeCun (fan-in N = 2P): E|B̃_ij|² = 1/N; C̃ = C₀V with a complex C₀:
    E|C̃_ij|² = 2/N (trunc_standard_normal), 2/(N·H) (lecun_normal); complex_normal: 1.
    (The former init drew B₀ with fan-in H and a real C₀: 1/H and 1/N.)"""
    from ssm_bridge.models import _official_b, _official_c, _s5_init_arrays

    Hs, Ps = 16, 16
    _, V = _s5_init_arrays(Ps, True, 1)
    key = jax.random.PRNGKey(0)
    b = _complex(np.asarray(_official_b(key, V, Hs)))
    assert b.shape == (Ps, Hs) and np.mean(np.abs(b) ** 2) == pytest.approx(1 / 32, rel=0.15)
    for c_init, power in (("trunc_standard_normal", 2 / 32), ("lecun_normal", 2 / (32 * 16)),
                          ("complex_normal", 1.0)):
        c = _complex(np.asarray(_official_c(key, V, Hs, c_init, Ps)))
        assert c.shape == (Hs, Ps)
        assert np.mean(np.abs(c) ** 2) == pytest.approx(power, rel=0.15), c_init
    # wired into the model: a bidirectional complex_normal layer gets one C (H, 2P, 2)
    cfg = S5Config(d_model=Hs, n_layers=1, state_sizes=Ps, c_init="complex_normal",
                   bidirectional=True)
    seq = sb.init_variables(cfg, key=key)["params"]["encoder"]["layers_0"]["seq"]
    assert seq["C"].shape == (Hs, 2 * Ps, 2) and "C1" not in seq
    assert np.mean(np.abs(_complex(seq["B"])) ** 2) == pytest.approx(1 / 32, rel=0.15)
    assert np.mean(np.abs(_complex(seq["C"])) ** 2) == pytest.approx(1.0, rel=0.15)


def test_an_aire_prune_train_state_checkpoint_loads_with_its_config(tmp_path):
    """AIRE-Prune saves ``serialization.to_bytes(TrainState)`` (params, opt_state, step and
    batch_stats): ``load_checkpoint(path, config=...)`` reads it."""
    import optax
    from flax import serialization
    from flax.training import train_state

    class TrainState(train_state.TrainState):
        batch_stats: dict

    variables = official_tree(seed=30, bidirectional=True)
    cfg = config_from_tree(variables, activation="half_glu1")
    state = TrainState.create(apply_fn=None, params=variables["params"], tx=optax.adam(1e-3),
                              batch_stats=variables["batch_stats"])
    path = tmp_path / "best_model.msgpack"
    path.write_bytes(serialization.to_bytes(state))
    # docs/ssm_bridge.md, Migrating: read the tree, build its config, load it validated
    raw = serialization.msgpack_restore(path.read_bytes())
    tree = {"params": raw["params"], "batch_stats": raw["batch_stats"]}
    assert config_from_tree(tree, activation="half_glu1") == cfg
    ckpt = sb.load_checkpoint(path, config=cfg)
    x = inputs(seed=31)
    np.testing.assert_allclose(log_probabilities(ckpt.variables, cfg, x),
                               log_probabilities(variables, cfg, x), atol=0)


def test_mor_prune_compat_released_on_the_command_line(tmp_path, capsys):
    from mor_cli.main import main

    cfg = S5Config(d_model=8, n_layers=2, state_sizes=(6, 6), d_input=1, n_classes=10,
                   bidirectional=True)
    path = sb.save_checkpoint(tmp_path / "model.msgpack", sb.random_variables(cfg, seed=3), cfg)
    (tmp_path / "model.meta.json").write_text(json.dumps(
        {"task": "digits", "data_seed": 0, "task_options": {"n_train": 32, "n_test": 32}}))
    out = tmp_path / "small"
    rc = main(["prune", str(path), "--method", "last", "--ratio", "0.5", "--compat", "released",
               "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    plan = mor.KeepPlan.load(out / "model.plan.json")
    ckpt = sb.load_checkpoint(path)
    expected = mor.prune(extract(ckpt.variables, cfg), "last", ratio=0.5, compat="released")
    assert plan.compat == "released" and plan.keep == expected.keep
    assert json.loads((out / "accuracy.json").read_text())["compat"] == "released"
    rc = main(["prune", str(path), "--method", "global_hinf", "--compat", "released",
               "--out", str(tmp_path / "x")])
    assert rc != 0 and "aire or last" in capsys.readouterr().err


def test_compare_compat_released_sweeps_aire_and_last_only(tmp_path):
    from ssm_bridge.jobs import compare_checkpoint

    cfg = S5Config(d_model=8, n_layers=2, state_sizes=(5, 5), d_input=1, n_classes=10)
    variables = sb.random_variables(cfg, seed=4)
    path = sb.save_checkpoint(tmp_path / "model.msgpack", variables, cfg)
    (tmp_path / "model.meta.json").write_text(json.dumps(
        {"task": "digits", "data_seed": 0, "task_options": {"n_train": 32, "n_test": 32}}))
    res = compare_checkpoint(path, tmp_path / "report", ratios=[0.3], compat="released",
                             speedup_ratios=(), repeats=1, progress=False)
    assert res.methods == ("aire", "last")
    assert "global_hinf" in res.skipped and "compat" in res.skipped["global_hinf"]
    systems = extract(variables, cfg)
    for m in res.methods:
        expected = mor.prune(systems, m, ratio=0.3, compat="released")
        assert res.plan(m, 0.3) == expected and expected.compat == "released"
    assert json.loads((res.out_dir / "results.json").read_text())["compat"] == "released"
