"""ListOps: nested list operations over digits, generated here (no download).

Written from the published description: Nangia & Bowman, "ListOps: A Diagnostic Dataset
for Latent Tree Learning" (NAACL SRW 2018), and the long-sequence variant of the Long
Range Arena (Tay et al., ICLR 2021, §3.1 and its ``listops.py`` generator). A sequence is a
prefix expression such as ``[MAX 2 9 [MIN 4 7 ] 0 ]``; the label is its value, a digit,
so there are 10 classes. Operators:

- ``MAX``, ``MIN``: largest / smallest argument;
- ``MED``: median, ``int(numpy.median(args))`` as in both reference generators — for an
  even number of arguments the mean of the two middle values rounded down;
- ``SM``: sum of the arguments modulo 10.

Generation (LRA's recursive process): a node at depth ``d < max_depth`` (the root has
depth 1) is an operator with probability ``p_operator`` (LRA's ``VALUE_P`` = 0.25) and a
digit otherwise; nodes at depth ``max_depth`` are digits, so brackets nest at most
``max_depth − 1`` deep. An operator takes a uniform number of arguments in
``[2, max_args]`` and is uniform over the four operators; digits are uniform over 0–9.
Expressions are drawn until ``n`` distinct ones with ``min_length ≤ length ≤ max_length``
tokens are found (LRA: 500–2,000 tokens, ``max_depth=10``, ``max_args=10``); an expression
is abandoned as soon as it passes ``max_length`` tokens, which keeps generation linear in
the number of tokens produced. Distinctness makes train and test disjoint.

Tokens (vocabulary of 16 ids): 0 padding, 1–10 the digits 0–9, 11–14 the opening
operators ``[MIN [MAX [MED [SM``, 15 the closing ``]``. Sequences are right-padded with 0
to ``seq_len`` (default ``max_length``). LRA's text files also hold round brackets; they
carry no information and are not tokens here (:func:`tokenize` drops them).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._base import DataError, TaskData, check_int, check_seed, check_split, split_task

__all__ = [
    "CLOSE",
    "DIGIT_OFFSET",
    "OPERATORS",
    "OPERATOR_OFFSET",
    "PAD",
    "VOCAB",
    "VOCAB_SIZE",
    "ListOpsShape",
    "achievable_lengths",
    "detokenize",
    "evaluate",
    "generate",
    "load_listops",
    "max_reachable_length",
    "nesting_depth",
    "tokenize",
]

#: Operator names, in token order.
OPERATORS = ("MIN", "MAX", "MED", "SM")
#: Padding id.
PAD = 0
#: Id of digit 0 (digit v has id ``DIGIT_OFFSET + v``).
DIGIT_OFFSET = 1
#: Id of the first opening operator (``[MIN``).
OPERATOR_OFFSET = 11
#: Id of the closing bracket.
CLOSE = 15
#: Text of every id, index = id.
VOCAB = ("<pad>", *(str(v) for v in range(10)), *(f"[{op}" for op in OPERATORS), "]")
#: Number of ids, padding included.
VOCAB_SIZE = len(VOCAB)

_TEXT_TO_ID = {text: i for i, text in enumerate(VOCAB) if i != PAD}


def _apply(op: int, args: list[int]) -> int:
    """Value of operator ``op`` (0 MIN, 1 MAX, 2 MED, 3 SM) on digit arguments."""
    if op == 0:
        return min(args)
    if op == 1:
        return max(args)
    if op == 2:
        s = sorted(args)
        m = len(s) // 2
        return s[m] if len(s) % 2 else (s[m - 1] + s[m]) // 2
    return sum(args) % 10


def tokenize(text: str) -> np.ndarray:
    """Token ids of a whitespace-separated ListOps expression.

    Round brackets (present in LRA's text files) are dropped.

    Parameters
    ----------
    text : str
        E.g. ``"[MAX 2 9 [MIN 4 7 ] 0 ]"``.

    Returns
    -------
    ndarray of int32, shape (length,)

    Raises
    ------
    DataError
        For a word that is not a digit, an operator or ``]``.

    Examples
    --------
    >>> tokenize("[SM 7 8 ]").tolist()
    [14, 8, 9, 15]
    """
    ids = []
    for word in text.split():
        if word in ("(", ")"):
            continue
        if word not in _TEXT_TO_ID:
            raise DataError(
                f"unknown ListOps word {word!r}; expected a digit 0-9, one of "
                f"{', '.join('[' + op for op in OPERATORS)} or ']'"
            )
        ids.append(_TEXT_TO_ID[word])
    return np.asarray(ids, dtype=np.int32)


def _as_ids(expr: str | Sequence[int] | np.ndarray) -> list[int]:
    if isinstance(expr, str):
        return tokenize(expr).tolist()
    ids = np.asarray(expr)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise DataError(f"token ids must be a 1-D integer array; got {ids.dtype} {ids.shape}")
    ids = ids.tolist()
    while ids and ids[-1] == PAD:  # right padding
        ids.pop()
    return ids


def detokenize(ids: Sequence[int] | np.ndarray) -> str:
    """The expression text of token ids (trailing padding dropped).

    Examples
    --------
    >>> detokenize([12, 3, 10, 11, 5, 8, 15, 1, 15, 0, 0])
    '[MAX 2 9 [MIN 4 7 ] 0 ]'
    """
    words = []
    for i in _as_ids(ids):
        if not 0 < i < VOCAB_SIZE:
            raise DataError(f"token id {i} is not in 1..{VOCAB_SIZE - 1} (0 pads at the end)")
        words.append(VOCAB[i])
    return " ".join(words)


def evaluate(expr: str | Sequence[int] | np.ndarray) -> int:
    """Value of a ListOps expression (its label).

    An independent evaluator (an explicit stack over the token list), used to check the
    labels the generator computes on the fly.

    Parameters
    ----------
    expr : str or sequence of int
        Text (``"[MED 1 5 3 ]"``) or token ids, optionally right-padded with 0.

    Returns
    -------
    int
        A digit 0–9.

    Raises
    ------
    DataError
        For a malformed expression (unbalanced brackets, an operator with no argument,
        padding inside, trailing tokens after the top-level expression).

    Examples
    --------
    >>> evaluate("[MAX 2 9 [MIN 4 7 ] 0 ]"), evaluate("[SM 7 8 ]"), evaluate("[MED 1 5 3 ]")
    (9, 5, 3)
    """
    ids = _as_ids(expr)
    if not ids:
        raise DataError("empty ListOps expression")
    stack: list[tuple[int, list[int]]] = []
    result: int | None = None
    for pos, i in enumerate(ids):
        if result is not None:
            raise DataError(f"tokens after the end of the expression at position {pos}")
        if DIGIT_OFFSET <= i < DIGIT_OFFSET + 10:
            value = i - DIGIT_OFFSET
        elif OPERATOR_OFFSET <= i < OPERATOR_OFFSET + len(OPERATORS):
            stack.append((i - OPERATOR_OFFSET, []))
            continue
        elif i == CLOSE:
            if not stack:
                raise DataError(f"']' at position {pos} closes no operator")
            op, args = stack.pop()
            if not args:
                raise DataError(f"[{OPERATORS[op]} closed at position {pos} with no argument")
            value = _apply(op, args)
        else:
            raise DataError(f"token id {i} at position {pos} is not a digit, operator or ']'")
        if stack:
            stack[-1][1].append(value)
        else:
            result = value
    if stack or result is None:
        raise DataError(f"{len(stack)} operator(s) left unclosed")
    return result


def nesting_depth(ids: Sequence[int] | np.ndarray) -> int:
    """Deepest bracket nesting of an expression (0 for a single digit)."""
    depth = deepest = 0
    for i in _as_ids(ids):
        if OPERATOR_OFFSET <= i < OPERATOR_OFFSET + len(OPERATORS):
            depth += 1
            deepest = max(deepest, depth)
        elif i == CLOSE:
            depth -= 1
    return deepest


def max_reachable_length(max_depth: int, max_args: int) -> int:
    """Longest expression the generator can make: ``L(d) = 2 + max_args · L(d + 1)``.

    With ``L(max_depth) = 1`` (a digit) and the root at depth 1.
    """
    length = 1
    for _ in range(max_depth - 1):
        length = 2 + max_args * length
    return length


@functools.lru_cache(maxsize=32)
def achievable_lengths(max_depth: int, max_args: int, max_length: int) -> tuple[int, ...]:
    """Every expression length ≤ ``max_length`` the generator can produce.

    Lengths of a subtree rooted at depth d: ``{1}`` (a digit) and, for d < max_depth,
    ``2 + ℓ₁ + … + ℓ_k`` with ``2 ≤ k ≤ max_args`` and each ℓᵢ a length at depth d + 1.
    Sets are Python integers used as bit sets (bit ℓ set: length ℓ achievable).

    Returns
    -------
    tuple of int
        Sorted achievable lengths.
    """
    mask = (1 << (max_length + 1)) - 1
    lengths = 1 << 1  # depth max_depth: a digit
    for _ in range(max_depth - 1):
        members = [i for i in range(max_length + 1) if lengths >> i & 1]
        sums = lengths  # sums of exactly k subtree lengths, k = 1 here
        total = 0
        for _ in range(2, max_args + 1):
            nxt = 0
            for ell in members:
                nxt |= sums << ell
            sums = nxt & mask
            total |= sums
            if not sums:
                break
        lengths = (1 << 1) | ((total << 2) & mask)
    return tuple(i for i in range(max_length + 1) if lengths >> i & 1)


def _check_options(
    min_length: int, max_length: int, max_depth: int, max_args: int, p_operator: float
) -> None:
    check_int(min_length, "min_length", minimum=1)
    check_int(max_length, "max_length", minimum=1)
    check_int(max_depth, "max_depth", minimum=1)
    check_int(max_args, "max_args", minimum=2)
    if not isinstance(p_operator, float | int) or not 0.0 < float(p_operator) <= 1.0:
        raise DataError(f"p_operator must be a probability in (0, 1]; got {p_operator!r}")
    if min_length > max_length:
        raise DataError(f"min_length={min_length} exceeds max_length={max_length}")
    possible = achievable_lengths(max_depth, max_args, max_length)
    if not any(min_length <= ell for ell in possible):
        raise DataError(
            f"lengths {min_length}..{max_length} are unreachable: with max_depth={max_depth} "
            f"and max_args={max_args} no expression has that many tokens (the longest has "
            f"{max_reachable_length(max_depth, max_args)}); raise max_depth or max_args, or "
            "widen the length range"
        )


@dataclass(frozen=True)
class ListOpsShape:
    """The shape of generated expressions: options of :func:`generate` and of the task.

    The defaults are LRA's structure; short, CPU-sized variants lower the lengths, e.g.
    ``min_length=20, max_length=128, max_depth=5, max_args=5``.  (How the tokens are padded,
    ``seq_len``, is not part of the shape.)

    Attributes
    ----------
    min_length, max_length : int
        Accepted lengths in tokens, both inclusive.
    max_depth : int
        Depth at which nodes are forced to be digits (root at depth 1; LRA's convention):
        brackets nest at most ``max_depth − 1`` deep.
    max_args : int
        Largest number of arguments of an operator (≥ 2).
    p_operator : float
        Probability that a node above ``max_depth`` is an operator.

    Raises
    ------
    DataError
        On construction, for inconsistent values (e.g. lengths no expression can have).
    """

    min_length: int = 500
    max_length: int = 2000
    max_depth: int = 10
    max_args: int = 10
    p_operator: float = 0.25

    def __post_init__(self) -> None:
        _check_options(self.min_length, self.max_length, self.max_depth, self.max_args,
                       self.p_operator)

    def padded_length(self, seq_len: int | None) -> int:
        """``seq_len`` (checked: at least ``max_length``), or ``max_length`` when None."""
        if seq_len is None:
            return self.max_length
        if check_int(seq_len, "seq_len", minimum=1) < self.max_length:
            raise DataError(f"seq_len={seq_len} is shorter than max_length={self.max_length}")
        return int(seq_len)


def generate(
    n: int,
    *,
    rng: np.random.Generator,
    seq_len: int | None = None,
    max_attempts: int | None = None,
    **shape: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` distinct random ListOps expressions, their labels and lengths.

    Parameters
    ----------
    n : int
        Number of expressions.
    rng : numpy.random.Generator
        Source of randomness (the only one).
    seq_len : int, optional
        Padded length (≥ ``max_length``); default ``max_length``.
    max_attempts : int, optional
        Expressions to draw before giving up; default ``1000 · n + 100000``.
    **shape
        The fields of :class:`ListOpsShape` (``min_length``, ``max_length``, ``max_depth``,
        ``max_args``, ``p_operator``); its defaults are LRA's.

    Returns
    -------
    tokens : ndarray of int32, shape (n, seq_len)
        Token ids, right-padded with 0.
    labels : ndarray of int32, shape (n,)
        Values of the expressions, in [0, 10).
    lengths : ndarray of int32, shape (n,)
        Tokens before the padding.

    Raises
    ------
    DataError
        For inconsistent options, or when ``max_attempts`` draws do not give ``n`` distinct
        expressions of an accepted length (the error says how many were found).
    """
    n = check_int(n, "n", minimum=0)
    form = ListOpsShape(**shape)
    min_length, max_length, max_args = form.min_length, form.max_length, form.max_args
    seq_len = form.padded_length(seq_len)
    if max_attempts is None:
        max_attempts = 1000 * n + 100_000
    p_op = float(form.p_operator)
    limit = form.max_depth - 1  # a node can be an operator while fewer than this are open

    tokens = np.zeros((n, seq_len), dtype=np.int32)
    labels = np.zeros(n, dtype=np.int32)
    lengths = np.zeros(n, dtype=np.int32)
    seen: set[bytes] = set()
    found = attempts = 0
    # Per node, four independent draws made in bulk: operator or digit (u < p_operator),
    # which operator, how many arguments, which digit. Python lists index fastest.
    chunk = 1 << 16
    pos = nbuf = 0
    is_op: list[bool] = []
    op_of: list[int] = []
    nargs_of: list[int] = []
    digit_of: list[int] = []
    while found < n:
        if attempts >= max_attempts:
            raise DataError(
                f"found only {found} of {n} distinct ListOps expressions with "
                f"{min_length} ≤ length ≤ {max_length} in {attempts} draws; widen the length "
                "range, raise max_depth / max_args / p_operator, or ask for fewer"
            )
        attempts += 1
        # One expression, depth first. Open operators: their index, argument count and
        # argument values so far; the depth of the next node is len(ops) + 1.
        seq: list[int] = []
        push = seq.append
        ops: list[int] = []
        want: list[int] = []
        args_of: list[list[int]] = []
        value = 0
        too_long = False
        while True:
            if pos == nbuf:
                is_op = (rng.random(chunk) < p_op).tolist()
                op_of = rng.integers(0, len(OPERATORS), chunk).tolist()
                nargs_of = rng.integers(2, max_args + 1, chunk).tolist()
                digit_of = rng.integers(0, 10, chunk).tolist()
                pos, nbuf = 0, chunk
            if is_op[pos] and len(ops) < limit:
                op = op_of[pos]
                push(OPERATOR_OFFSET + op)
                ops.append(op)
                want.append(nargs_of[pos])
                args_of.append([])
                pos += 1
                if len(seq) > max_length:
                    too_long = True
                    break
                continue
            value = digit_of[pos]
            pos += 1
            push(DIGIT_OFFSET + value)
            while ops:  # close every operator whose last argument this was
                args = args_of[-1]
                args.append(value)
                if len(args) < want[-1]:
                    break
                push(CLOSE)
                want.pop()
                args_of.pop()
                op = ops.pop()
                if op == 0:
                    value = min(args)
                elif op == 1:
                    value = max(args)
                elif op == 3:
                    value = sum(args) % 10
                else:
                    value = _apply(2, args)
            if len(seq) > max_length:
                too_long = True
                break
            if not ops:
                break
        if too_long or len(seq) < min_length:
            continue
        key = bytes(seq)  # ids < 256
        if key in seen:
            continue
        seen.add(key)
        tokens[found, : len(seq)] = seq
        labels[found] = value
        lengths[found] = len(seq)
        found += 1
    return tokens, labels, lengths


def load_listops(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    seq_len: int | None = None,
    **shape: Any,
) -> TaskData:
    """ListOps as token ids (LRA's structure by default: lengths 500–2,000, depth 10, 10 args).

    ``seed``, ``n_train`` and ``n_test`` are as in :func:`ssm_bridge.data.load_task`: the
    seed drives ``numpy.random.default_rng``, the generator's only randomness, and the splits
    default to 10,000 and 2,000 expressions, train and test distinct.  ``seq_len`` is as in
    :func:`generate`, and ``**shape`` are the fields of :class:`ListOpsShape`.

    Returns
    -------
    TaskData
        ``x`` int32 token ids of shape ``(n, seq_len)``, ``y`` int32 in [0, 10),
        ``vocab_size`` 16, ``lengths`` the unpadded lengths.
    """
    seed = check_seed(seed)
    n_train, n_test = check_split(n_train, n_test, default_train=10_000, default_test=2_000)
    form = ListOpsShape(**shape)
    padded = form.padded_length(seq_len)
    tokens, labels, lengths = generate(n_train + n_test, rng=np.random.default_rng(seed),
                                       seq_len=padded, **asdict(form))
    return split_task(
        "listops", tokens, labels, slice(0, n_train), slice(n_train, None), seed=seed,
        lengths=lengths, vocab_size=VOCAB_SIZE,
        description=(
            f"ListOps (MAX, MIN, MED, SM over digits; lengths {form.min_length}-"
            f"{form.max_length} tokens padded to {padded}; max_depth {form.max_depth}, "
            f"max_args {form.max_args}), 10 classes"
        ),
        options={"n_train": n_train, "n_test": n_test, **asdict(form),
                 "p_operator": float(form.p_operator), "seq_len": padded},
    )
