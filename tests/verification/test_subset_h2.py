"""SubsetH2: the H2 norm of the error of pruning leading or trailing sets of units."""

import numpy as np
import pytest

import mor


@pytest.mark.parametrize(("discrete", "bidirectional", "after_update"),
                         [(True, False, True), (True, True, True), (True, True, False),
                          (False, False, False)])
def test_subset_h2_equals_h2_norm_on_leading_and_trailing_sets(discrete, bidirectional,
                                                                after_update):
    from mor.truncation import error_system
    from verification._subset_h2 import SubsetH2

    rng = np.random.default_rng(3)
    n, p, m = 7, 3, 2
    pair = np.arange(n) < 4
    if discrete:
        poles = rng.uniform(0.3, 0.999, n) * np.where(pair, np.exp(1j * rng.uniform(0, 3, n)),
                                                      rng.choice([-1, 1], n))
    else:
        poles = -rng.uniform(0.01, 2, n) + 1j * np.where(pair, rng.uniform(0.1, 5, n), 0)

    def cplx(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    B = np.where(pair[:, None], cplx((n, m)), rng.standard_normal((n, m)))
    C = np.where(pair[None], cplx((p, n)), rng.standard_normal((p, n)))
    Cb = np.where(pair[None], cplx((p, n)), rng.standard_normal((p, n))) if bidirectional \
        else None
    s = mor.ModalSystem(poles, B, C, None, 1.0 if discrete else 0, pair=pair, C_backward=Cb,
                        output_after_update=after_update)
    order = [int(u) for u in rng.permutation(n)]
    subsets = SubsetH2(s, order)
    for k in range(1, n + 1):
        for units in (order[:k], order[n - k:]):
            exact = mor.h2_norm(error_system(s, sorted(units)))
            assert subsets.value(units) == pytest.approx(exact, rel=1e-12)
            assert subsets.value(units, -3) == pytest.approx(exact / 8, rel=1e-12)
    assert subsets.value([order[1]]) is None  # neither leading nor trailing
