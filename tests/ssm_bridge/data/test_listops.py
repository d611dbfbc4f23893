"""ListOps (ssm_bridge/data/listops.py): the evaluator, the vocabulary and the generator."""


from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssm_bridge.data import DataError
from ssm_bridge.data import listops as lo

from ._small import _load, _rows

# --- ListOps evaluator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9),
        ("[SM 7 8 ]", 5),
        ("[MED 1 5 3 ]", 3),
        ("7", 7),
        ("[MIN 4 7 ]", 4),
        ("[MED 1 2 ]", 1),  # even count: mean of the middle two, rounded down
        ("[MED 3 8 1 6 ]", 4),
        ("[SM [MAX 9 9 ] [SM 9 9 9 ] 5 ]", 1),  # 9 + 7 + 5 = 21
        ("[MIN [MED 9 8 7 ] [MAX 0 [SM 3 3 ] ] 9 ]", 6),  # min(8, 6, 9)
        ("( ( ( [SM 7 ) 8 ) ] )", 5),  # LRA text with round brackets
    ],
)
def test_evaluator_on_hand_worked_examples(text, value):
    assert lo.evaluate(text) == value
    ids = lo.tokenize(text)
    assert lo.evaluate(ids) == value
    assert lo.evaluate(np.concatenate([ids, np.zeros(5, np.int32)])) == value  # padded


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[MAX 2", "unclosed"),
        ("]", "closes no operator"),
        ("[MAX ]", "no argument"),
        ("3 4", "after the end"),
        ("[FOO 1 ]", "unknown ListOps word"),
        ("", "empty"),
    ],
)
def test_evaluator_rejects_malformed_expressions(text, match):
    with pytest.raises(DataError, match=match):
        lo.evaluate(text)


def test_padding_inside_an_expression_is_rejected():
    with pytest.raises(DataError, match="not a digit"):
        lo.evaluate([lo.OPERATOR_OFFSET, 0, 3, lo.CLOSE])


def test_vocabulary_and_round_trip():
    assert lo.VOCAB_SIZE == 16 and lo.VOCAB[lo.PAD] == "<pad>" and lo.VOCAB[lo.CLOSE] == "]"
    text = "[MAX 2 9 [MIN 4 7 ] 0 ]"
    assert lo.detokenize(lo.tokenize(text)) == text
    assert lo.nesting_depth(lo.tokenize(text)) == 2
    assert lo.max_reachable_length(3, 2) == 2 + 2 * (2 + 2 * 1)


# --- ListOps generator ---------------------------------------------------------------------


def _argument_counts(row) -> list[int]:
    """Number of arguments of each operator of an expression."""
    counts, stack = [], []
    for i in row.tolist():
        if i == lo.PAD:
            break
        if stack and i != lo.CLOSE:
            stack[-1] += 1
        if lo.OPERATOR_OFFSET <= i < lo.CLOSE:
            stack.append(0)
        elif i == lo.CLOSE:
            counts.append(stack.pop())
    return counts


def _check_generated(tokens, labels, lengths, *, min_length, max_length, max_depth, max_args):
    assert len(set(_rows(tokens))) == tokens.shape[0]  # distinct
    for row, label, length in zip(tokens, labels, lengths, strict=True):
        assert min_length <= length <= max_length
        assert np.all(row[:length] != lo.PAD) and np.all(row[length:] == lo.PAD)
        assert lo.evaluate(row) == label
        assert lo.nesting_depth(row) <= max_depth - 1
        assert all(2 <= k <= max_args for k in _argument_counts(row))


def test_lra_sized_generation_respects_the_limits():
    tokens, labels, lengths = lo.generate(60, rng=np.random.default_rng(0))
    assert tokens.shape == (60, 2000) and tokens.dtype == np.int32
    _check_generated(
        tokens, labels, lengths, min_length=500, max_length=2000, max_depth=10, max_args=10
    )


def test_loaded_listops_train_and_test_are_disjoint_and_correct():
    d = _load("listops", seed=2)
    assert d.seq_len == 200 and d.vocab_size == 16
    assert not set(_rows(d.x_train)) & set(_rows(d.x_test))
    both = np.concatenate([d.x_train, d.x_test])
    _check_generated(
        both,
        np.concatenate([d.y_train, d.y_test]),
        np.concatenate([d.lengths_train, d.lengths_test]),
        min_length=20,
        max_length=200,
        max_depth=6,
        max_args=5,
    )
    # all four operators and all ten digits occur
    used = set(np.unique(both).tolist())
    assert set(range(1, 16)) <= used


@given(
    seed=st.integers(0, 2**32 - 1),
    max_depth=st.integers(4, 8),
    max_args=st.integers(3, 6),
    min_length=st.integers(1, 8),
    span=st.integers(0, 150),
    p_operator=st.sampled_from([0.25, 0.4, 0.6]),
    pad=st.integers(0, 5),
)
def test_generator_respects_every_limit(
    seed, max_depth, max_args, min_length, span, p_operator, pad
):
    max_length = min_length + span
    options = {
        "min_length": min_length,
        "max_length": max_length,
        "max_depth": max_depth,
        "max_args": max_args,
        "p_operator": p_operator,
        "seq_len": max_length + pad,
        "max_attempts": 200_000,
    }
    possible = set(lo.achievable_lengths(max_depth, max_args, max_length))
    if not any(ell >= min_length for ell in possible):
        with pytest.raises(DataError, match="unreachable"):
            lo.generate(8, rng=np.random.default_rng(seed), **options)
        return
    tokens, labels, lengths = lo.generate(8, rng=np.random.default_rng(seed), **options)
    assert tokens.shape == (8, max_length + pad)
    _check_generated(
        tokens,
        labels,
        lengths,
        min_length=min_length,
        max_length=max_length,
        max_depth=max_depth,
        max_args=max_args,
    )
    assert set(lengths.tolist()) <= possible
    again = lo.generate(8, rng=np.random.default_rng(seed), **options)  # same seed, same data
    np.testing.assert_array_equal(again[0], tokens)


def _lengths_by_recursion(depth: int, max_depth: int, max_args: int, cap: int) -> set[int]:
    if depth == max_depth:
        return {1}
    sub = _lengths_by_recursion(depth + 1, max_depth, max_args, cap)
    out = {1}
    sums = {0}
    for k in range(1, max_args + 1):
        sums = {a + b for a in sums for b in sub if a + b + 2 <= cap}
        if k >= 2:
            out |= {2 + a for a in sums}
    return out


@pytest.mark.parametrize(("max_depth", "max_args"), [(1, 2), (2, 2), (3, 2), (3, 4), (5, 3)])
def test_achievable_lengths_match_the_recursive_definition(max_depth, max_args):
    got = lo.achievable_lengths(max_depth, max_args, 80)
    assert set(got) == _lengths_by_recursion(1, max_depth, max_args, 80)
    assert max(lo.achievable_lengths(max_depth, max_args, 10_000)) == lo.max_reachable_length(
        max_depth, max_args
    )


def test_lra_lengths_are_all_achievable():
    possible = set(lo.achievable_lengths(10, 10, 2000))
    assert set(range(500, 2001)) <= possible
    assert 2 not in possible and 3 not in possible  # an operator takes ≥ 2 arguments


def test_generator_gives_up_with_a_clear_error():
    # depth 2, 2 arguments: only 10·10·4 = 400 distinct length-4 expressions exist
    with pytest.raises(DataError, match="found only"):
        lo.generate(
            500,
            rng=np.random.default_rng(0),
            min_length=4,
            max_length=4,
            max_depth=2,
            max_args=2,
            max_attempts=20_000,
        )
