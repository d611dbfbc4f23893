"""evaluate: batched and padded correctly; sharded over 4 (CPU) devices equals 1 device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ssm_bridge import ConfigError, evaluate, log_probabilities

SHARDED = textwrap.dedent(
    """
    import json, os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax
    import numpy as np
    import mor
    from ssm_bridge import S5Config, evaluate, extract, random_variables, sweep

    assert len(jax.devices()) == 4, jax.devices()
    cfg = S5Config(d_model=8, n_layers=2, state_sizes=(5, 3), d_input=2, n_classes=3,
                   bidirectional=True, dt_min=0.01, dt_max=0.5)
    v = random_variables(cfg, seed=11)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((22, 16, 2)).astype(np.float32)
    y = rng.integers(0, 3, 22)
    one = evaluate(v, cfg, x, y, batch_size=8, devices=jax.devices()[:1])
    four = evaluate(v, cfg, x, y, batch_size=8)
    plans = [mor.prune(extract(v, cfg), m, r) for m in ("aire", "last") for r in (0.2, 0.6)]
    s1 = sweep(v, cfg, x, y, plans=plans, batch_size=8, devices=jax.devices()[:1],
               progress=False)
    s4 = sweep(v, cfg, x, y, plans=plans, batch_size=8, progress=False)
    print(json.dumps({"one": [one.accuracy, one.loss, one.count, one.ndevices],
                      "four": [four.accuracy, four.loss, four.count, four.ndevices],
                      "s1": [s1.accuracy.tolist(), s1.loss.tolist()],
                      "s4": [s4.accuracy.tolist(), s4.loss.tolist()]}))
    """
)


def test_four_device_sharded_evaluation_equals_one_device():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["one"][3] == 1 and res["four"][3] == 4
    assert res["one"][2] == res["four"][2] == 22
    assert res["one"][0] == res["four"][0]
    assert res["one"][1] == pytest.approx(res["four"][1], rel=1e-6)
    assert res["s1"][0] == res["s4"][0]
    np.testing.assert_allclose(res["s1"][1], res["s4"][1], rtol=1e-6)


def test_batching_and_padding_do_not_change_the_numbers(s5_model):
    variables, config, x, y = s5_model
    logp = log_probabilities(variables, config, x, batch_size=8)
    expected_acc = np.mean(np.argmax(logp, -1) == y)
    expected_loss = -np.mean(logp[np.arange(len(y)), y].astype(np.float64))
    for batch in (5, 24):  # uneven last batch; one batch
        r = evaluate(variables, config, x, y, batch_size=batch)
        assert r.count == len(x)
        assert r.accuracy == expected_acc == 1.0
        assert r.loss == pytest.approx(expected_loss, rel=1e-5)


def test_bad_data_is_refused(s5_model):
    variables, config, x, y = s5_model
    with pytest.raises(ConfigError, match="d_input"):
        evaluate(variables, config, x[..., :1], y)
    with pytest.raises(ConfigError, match="labels"):
        evaluate(variables, config, x, y + 10)
    with pytest.raises(ConfigError, match="batch_size"):
        evaluate(variables, config, x, y, batch_size=0)
