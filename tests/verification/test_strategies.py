"""The public hypothesis strategies: what they generate and how they reject bad arguments."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from verification import strategies as mst


def _draw(strategy):
    @given(strategy)
    def draw_one(value):
        pass

    draw_one()


@given(mst.modal_systems(time_domain="dt", min_gap=1e-2))
def test_dt_systems_are_strictly_stable(sys):
    assert sys.isdtime and np.all(sys.decay_gap() >= 1e-2 * (1 - 1e-12))


@given(mst.modal_systems(time_domain="ct", pairs=True, min_units=2, max_units=3))
def test_ct_pair_systems(sys):
    assert sys.isctime and np.all(sys.pair) and 2 <= sys.nunits <= 3
    assert np.all(sys.poles.real <= -1e-3)


@given(mst.modal_systems(bidirectional=True, square=True))
def test_bidirectional_square(sys):
    assert sys.bidirectional and sys.ninputs == sys.noutputs


@given(mst.modal_systems(max_units=4).flatmap(lambda s: st.tuples(st.just(s), mst.keep_plans(s))))
def test_keep_plans_fit(case):
    sys, plan = case
    plan.check_fits([sys])
    assert 1 <= len(plan.keep[0]) <= sys.nunits


@given(mst.layer_stacks(max_layers=3, max_channels=2))
def test_layer_stacks_share_channels(stack):
    assert len({(s.ninputs, s.noutputs) for s in stack}) == 1 and stack[0].isdtime


@given(mst.seeded_modal_systems(max_units=4, max_channels=2))
def test_seeded_systems_are_well_conditioned(sys):
    assert 1 <= sys.nunits <= 4 and sys.ninputs <= 2 and sys.noutputs <= 2
    if sys.isdtime:
        assert sys.dt == 1.0 and np.all(np.abs(sys.poles) < 0.995)
    else:
        assert np.all(sys.poles.real <= -1e-2) and not np.any(sys.D)


@given(mst.seeded_modal_systems(time_domain="dt", bidirectional=True, output_after_update=True))
def test_seeded_bidirectional_after_update(sys):
    assert sys.isdtime and sys.bidirectional and sys.output_after_update


@given(mst.input_signals(2, max_length=10))
def test_input_signals_shape(u):
    assert u.ndim == 2 and u.shape[1] == 2 and 1 <= u.shape[0] <= 10 and np.all(np.isfinite(u))


@pytest.mark.parametrize(
    "strategy",
    [
        mst.modal_systems(min_units=0),
        mst.modal_systems(min_units=4, max_units=2),
        mst.modal_systems(time_domain="xt"),
        mst.modal_systems(time_domain="ct", bidirectional=True),
        mst.modal_systems(min_gap=1.5),
        mst.modal_systems(square=True, min_inputs=3, max_outputs=2),
        mst.layer_stacks(min_layers=0),
        mst.seeded_modal_systems(max_units=0),
        mst.seeded_modal_systems(bidirectional=True),
        mst.seeded_modal_systems(time_domain="ct", output_after_update=True),
        mst.input_signals(0),
    ],
)
def test_invalid_arguments_raise(strategy):
    with pytest.raises(InvalidArgument):
        _draw(strategy)


def test_keep_plans_invalid():
    import mor

    s = mor.ModalSystem([0.5], [[1.0]], [[1.0]], dt=1)
    with pytest.raises(InvalidArgument):
        _draw(mst.keep_plans(s, min_pruned=1))
    with pytest.raises(InvalidArgument):
        _draw(mst.keep_plans([]))
