"""A tree in the official S5 layout (names, shapes, conventions of ANCHORS.md) is imported,
evaluated, and computes what the official forward pass computes."""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge import (
    LayoutError,
    S5Config,
    evaluate,
    extract,
    infer_config_fields,
    log_probabilities,
    validate_tree,
)

H, P, L, D_IN, CLASSES, LAYERS = 6, 4, 20, 3, 5, 2


def official_tree(seed=0):
    """An S5 checkpoint as the official code stores it: ssm_size 8 with conj_sym → P = 4,
    bidirectional (C1, C2), BatchNorm, half_glu1 (out2 only), encoder/decoder Dense."""
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def dense(n_in, n_out, scale=1.0):
        return {"kernel": (scale * rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(f32),
                "bias": (0.1 * rng.standard_normal(n_out)).astype(f32)}

    params = {"encoder": {"encoder": dense(D_IN, H)}, "decoder": dense(H, CLASSES, 3.0)}
    stats = {"encoder": {}}
    for i in range(LAYERS):
        seq = {
            "Lambda_re": np.full(P, -0.5, f32) - rng.uniform(0, 0.3, P).astype(f32),
            "Lambda_im": rng.uniform(-5, 5, P).astype(f32),
            "B": (rng.standard_normal((P, H, 2)) / np.sqrt(2 * H)).astype(f32),
            "C1": (rng.standard_normal((H, P, 2)) / np.sqrt(2 * P)).astype(f32),
            "C2": (rng.standard_normal((H, P, 2)) / np.sqrt(2 * P)).astype(f32),
            "D": rng.standard_normal(H).astype(f32),
            "log_step": rng.uniform(np.log(0.01), np.log(0.5), (P, 1)).astype(f32),
        }
        params["encoder"][f"layers_{i}"] = {
            "seq": seq,
            "norm": {"scale": (1 + 0.1 * rng.standard_normal(H)).astype(f32),
                     "bias": (0.1 * rng.standard_normal(H)).astype(f32)},
            "out2": dense(H, H),
        }
        stats["encoder"][f"layers_{i}"] = {"norm": {
            "mean": (0.1 * rng.standard_normal(H)).astype(f32),
            "var": rng.uniform(0.5, 2, H).astype(f32)}}
    return {"params": params, "batch_stats": stats}


def official_forward(variables, x, step_rescale=1.0):
    """The official S5 forward pass (s5/ssm.py, s5/layers.py, s5/seq_model.py), eval mode,
    written out in float64 numpy: prenorm BatchNorm, bidirectional conj_sym ZOH, half_glu1,
    mean pooling, log-softmax."""
    p, s = variables["params"], variables["batch_stats"]

    def dense(d, v):
        return v @ d["kernel"].astype(np.float64) + d["bias"]

    def gelu(v):
        return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))

    out = []
    for seq_in in x.astype(np.float64):
        h = dense(p["encoder"]["encoder"], seq_in)
        for i in range(LAYERS):
            lp, ls = p["encoder"][f"layers_{i}"], s["encoder"][f"layers_{i}"]["norm"]
            skip = h
            h = (h - ls["mean"]) / np.sqrt(ls["var"] + 1e-5)
            h = h * lp["norm"]["scale"] + lp["norm"]["bias"]
            q = {k: v.astype(np.float64) for k, v in lp["seq"].items()}
            lam = q["Lambda_re"] + 1j * q["Lambda_im"]
            b_tilde = q["B"][..., 0] + 1j * q["B"][..., 1]
            c_tilde = np.concatenate([q["C1"][..., 0] + 1j * q["C1"][..., 1],
                                      q["C2"][..., 0] + 1j * q["C2"][..., 1]], axis=-1)
            step = step_rescale * np.exp(q["log_step"][:, 0])
            lam_bar = np.exp(lam * step)
            b_bar = (1 / lam * (lam_bar - 1))[:, None] * b_tilde
            bu = h @ b_bar.T
            xf, xb = np.zeros_like(bu), np.zeros_like(bu)
            state = np.zeros(P, complex)
            for k in range(L):
                state = lam_bar * state + bu[k]
                xf[k] = state
            state = np.zeros(P, complex)
            for k in reversed(range(L)):
                state = lam_bar * state + bu[k]
                xb[k] = state
            xs = np.concatenate([xf, xb], axis=-1)
            y = 2 * (xs @ c_tilde.T).real + q["D"] * h
            y = gelu(y)
            y = y * (1 / (1 + np.exp(-dense(lp["out2"], y))))
            h = skip + y
        logits = dense(p["decoder"], h.mean(axis=0))
        out.append(logits - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max())
    return np.array(out)


def test_official_tree_is_imported_and_computes_the_official_forward_pass():
    variables = official_tree()
    fields = infer_config_fields(variables)
    assert fields == {"d_model": H, "n_layers": LAYERS, "state_sizes": (P, P), "d_input": D_IN,
                      "n_classes": CLASSES, "bidirectional": True, "batchnorm": True}
    # the hyper-parameters that do not show in the tree, as in the official run script
    config = S5Config(**fields, conj_sym=True, discretization="zoh", activation="half_glu1",
                      prenorm=True)
    validate_tree(variables, config, require_batch_stats=True)
    x = np.random.default_rng(1).standard_normal((7, L, D_IN)).astype(np.float32)
    ours = log_probabilities(variables, config, x, batch_size=8)
    np.testing.assert_allclose(ours, official_forward(variables, x), atol=2e-5, rtol=1e-5)
    labels = np.argmax(ours, axis=-1)
    assert evaluate(variables, config, x, labels, batch_size=8).accuracy == 1.0
    assert [s.nunits for s in extract(variables, config)] == [P, P]


def test_official_tree_with_a_wrong_config_names_the_problem():
    variables = official_tree()
    fields = infer_config_fields(variables)
    with pytest.raises(LayoutError, match=r"layer 0 .*Lambda_re has shape \(4,\); expected \(8,\)"):
        validate_tree(variables, S5Config(**{**fields, "state_sizes": (8, 8)}))
    del variables["batch_stats"]
    with pytest.raises(LayoutError, match="batch_stats"):
        evaluate(variables, S5Config(**fields), np.zeros((1, L, D_IN)), np.zeros(1, int))
