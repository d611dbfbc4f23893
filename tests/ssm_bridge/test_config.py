"""Configs: validation with clear errors, JSON round trip."""

from __future__ import annotations

import pytest

from ssm_bridge import ConfigError, S4DConfig, S5Config, config_from_dict, load_config


def test_json_round_trip(tmp_path):
    for cfg in (S5Config(d_model=8, n_layers=3, state_sizes=(4, 2, 3), bidirectional=True,
                         activation="full_glu", blocks=2),
                S4DConfig(d_model=4, n_layers=2, state_sizes=5, conj_sym=False)):
        cfg.save(tmp_path / "c.json")
        assert load_config(tmp_path / "c.json") == cfg
        assert config_from_dict(cfg.to_dict()) == cfg


def test_state_sizes_per_layer_and_units():
    cfg = S5Config(d_model=8, n_layers=2, state_sizes=4)
    assert cfg.state_sizes == (4, 4) and cfg.nunits == (4, 4)
    assert S4DConfig(d_model=3, n_layers=2, state_sizes=(2, 5)).nunits == (6, 15)
    assert cfg.with_state_sizes((3, 1)).state_sizes == (3, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"state_sizes": (4,)}, "one state size per layer"),
        ({"state_sizes": (4, 0)}, r"state_sizes\[1\]"),
        ({"activation": "relu"}, "activation"),
        ({"discretization": "euler"}, "discretization"),
        ({"d_model": 0}, "d_model"),
        ({"dt_min": 0.5, "dt_max": 0.1}, "dt_min"),
        ({"conj_sym": 1}, "conj_sym"),
    ],
)
def test_invalid_configs_are_refused(kwargs, match):
    base = {"d_model": 4, "n_layers": 2, "state_sizes": 3}
    with pytest.raises(ConfigError, match=match):
        S5Config(**{**base, **kwargs})


def test_bad_config_data():
    with pytest.raises(ConfigError, match="model"):
        config_from_dict({"model": "mamba", "d_model": 4})
    with pytest.raises(ConfigError, match="unknown fields"):
        config_from_dict({**S5Config(d_model=4, n_layers=1, state_sizes=2).to_dict(), "x": 1})
