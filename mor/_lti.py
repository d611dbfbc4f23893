"""Any python-control LTI system in: the one gate that turns it into a ``StateSpace``.

A ``TransferFunction`` (or any other ``control.LTI`` with a state-space realisation) is
converted with ``control.ss``, keeping the system, input and output names; a
``FrequencyResponseData`` has no realisation and is refused with a clear error, as is
anything that is not an LTI system.  Names that python-control made up (``sys[3]``,
``u[0]``) are recognised, so that they are not passed on as if the user had chosen them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import control

from mor.exceptions import InputTypeError, StateDimensionError

__all__ = ["as_statespace", "check_labels", "chosen_name", "default_labels"]

_GENERIC_SYSTEM = re.compile(r"^sys\[\d+\]$")


def chosen_name(sys: control.InputOutputSystem) -> str | None:
    """The system name the user chose, or None for python-control's ``sys[k]``.

    Parameters
    ----------
    sys : `InputOutputSystem`

    Returns
    -------
    str or None
        Also None for names python-control derives (``$converted``, ``$copy`` ...
        suffixes are removed first).
    """
    name = getattr(sys, "name", None)
    if not isinstance(name, str) or not name:
        return None
    base = name.split("$", 1)[0]
    if not base or _GENERIC_SYSTEM.match(base):
        return None
    return base


def default_labels(prefix: str, count: int) -> tuple[str, ...]:
    """python-control's default signal names, ``prefix[0] ... prefix[count-1]``.

    Parameters
    ----------
    prefix : str
        ``"u"`` (inputs), ``"y"`` (outputs) or ``"x"`` (states).
    count : int

    Returns
    -------
    tuple of str
    """
    return tuple(f"{prefix}[{i}]" for i in range(count))


def check_labels(labels: Sequence[str] | str | None, count: int, what: str,
                 *, name: str | None = None) -> tuple[str, ...] | None:
    """Signal names as a tuple of ``count`` distinct non-empty strings (None stays None).

    Parameters
    ----------
    labels : sequence of str, str or None
        A single string names a single signal.
    count : int
        The number of signals (inputs or outputs).
    what : str
        ``"inputs"`` or ``"outputs"``, for the message.
    name : str, optional
        The system's label, for the message.

    Returns
    -------
    tuple of str, or None

    Raises
    ------
    InputTypeError
        An entry is not a string.
    StateDimensionError
        The wrong number of names, an empty name, or a name given twice.
    """
    if labels is None:
        return None
    where = f"{name}: " if name else ""
    items = (labels,) if isinstance(labels, str) else tuple(labels)
    bad = [x for x in items if not isinstance(x, str)]
    if bad:
        raise InputTypeError(
            f"{where}{what} names must be strings; got {type(bad[0]).__name__} {bad[0]!r}")
    if len(items) != count:
        raise StateDimensionError(
            f"{where}{len(items)} {what} names for {count} {what}; give one name per signal")
    if any(not x for x in items) or len(set(items)) != len(items):
        raise StateDimensionError(f"{where}{what} names {list(items)} must be distinct and "
                                  "non-empty")
    return items


def as_statespace(sys, *, what: str = "sys") -> control.StateSpace:
    """``sys`` as a python-control ``StateSpace``, names kept.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or another `LTI` with a realisation
        A ``StateSpace`` is returned as it is; a transfer function is realised by
        ``control.ss`` with its system, input and output names.
    what : str
        The argument's name, for the messages.

    Returns
    -------
    `StateSpace`

    Raises
    ------
    InputTypeError
        ``sys`` is frequency-response data (no realisation exists) or not an LTI system.
    """
    if isinstance(sys, control.StateSpace):
        return sys
    if isinstance(sys, control.FrequencyResponseData):
        raise InputTypeError(
            f"{what} is a FrequencyResponseData: measured frequency points have no "
            "state-space realisation to reduce; fit a model first (e.g. a transfer function) "
            "and pass that"
        )
    if isinstance(sys, control.LTI):
        try:
            return control.ss(sys, name=chosen_name(sys))
        except Exception as err:  # python-control raises ValueError / TypeError
            raise InputTypeError(
                f"{what}: python-control could not realise the {type(sys).__name__} as a "
                f"StateSpace ({err}); convert it with control.ss first"
            ) from err
    raise InputTypeError(
        f"{what} is a {type(sys).__name__}; expected a python-control LTI system "
        "(StateSpace, TransferFunction) or a mor.ModalSystem"
    )
