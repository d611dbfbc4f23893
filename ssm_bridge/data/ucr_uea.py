"""Real time-series classification sets of the UCR/UEA archives, read from aeon's wheel.

The ``aeon`` package (Middlehurst et al., "aeon: a Python toolkit for learning from time
series", JMLR 25(289), 2024) ships a few problems of the UCR univariate archive (Dau et
al., "The UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6), 2019) and of the UEA
multivariate archive (Bagnall et al., "The UEA multivariate time series classification
archive, 2018", arXiv:1811.00075) inside its wheel, as the archives' own ``.ts`` files
(``aeon/datasets/data/<NAME>/<NAME>_TRAIN.ts`` and ``_TEST.ts``).  This module reads those
files directly with a small parser written here: it imports nothing from aeon but its
package location, never calls aeon's loaders (which download any problem not shipped), and
never touches the network.  If aeon is not installed it raises
:class:`~ssm_bridge.data.MissingDataPackageError` with the install command.

The registered task is ``japanese_vowels`` (:func:`load_japanese_vowels`): the UEA problem
JapaneseVowels (Kudo, Toyama & Shimbo, "Multidimensional curve classification using
passing-through regions", Pattern Recognition Letters 20(11–13), 1999; UCI Japanese Vowels
data): nine male speakers say the vowels /ae/; each utterance is 7–29 frames of 12 LPC
cepstrum coefficients; the class is the speaker (9 classes); 270 training (30 per speaker)
and 370 test utterances.  :func:`load_ucr_uea` reads any of :data:`BUNDLED_PROBLEMS`.

Preprocessing (deterministic, documented in ``docs/data.md``):

- **split**: ``seed = 0`` keeps the archive's own train/test split; ``seed = k > 0`` is a
  stratified resample of the pooled series with the archive's per-class training counts
  (the "resample k" protocol of the time-series classification literature), drawn from
  ``numpy.random.default_rng(k)``.  ``n_train`` / ``n_test`` below the split sizes take a
  seeded random subset (``default_rng(seed)``);
- **scaling**: each channel is standardised with the mean and standard deviation of the
  *training* series (over their real, unpadded steps), so no test statistic leaks in;
- **padding**: series shorter than the problem's longest (over both archive files) are
  right-padded with zeros (the training mean after scaling); ``lengths_*`` hold the real
  lengths.  Models trained by :mod:`ssm_bridge.train` see the padded sequence.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._base import (
    DataError,
    MissingDataPackageError,
    TaskData,
    check_seed,
    check_split,
    split_task,
)

__all__ = ["BUNDLED_PROBLEMS", "archive_directory", "load_japanese_vowels", "load_ucr_uea"]

#: The package whose wheel holds the archive files, and how to install it.
PACKAGE = "aeon"
INSTALL_HINT = 'pip install "ssm-mor[timeseries]"  (or: pip install "aeon>=1.0")'

#: Classification problems whose TRAIN and TEST ``.ts`` files aeon 1.x ships (checked
#: offline in the aeon 1.6.0 wheel): name → (train, test, channels, classes).
BUNDLED_PROBLEMS: dict[str, tuple[int, int, int, int]] = {
    "ACSF1": (100, 100, 1, 10),
    "ArrowHead": (36, 175, 1, 3),
    "BasicMotions": (40, 40, 6, 4),
    "GunPoint": (50, 150, 1, 2),
    "ItalyPowerDemand": (67, 1029, 1, 2),
    "JapaneseVowels": (270, 370, 12, 9),
    "OSULeaf": (200, 242, 1, 6),
}
#: Size limit of one ``.ts`` file read here (the largest shipped, ACSF1, is 1.7 MB).
MAX_TS_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class _Split:
    """One archive file: ragged series (each (length, channels) float64) and class names."""

    series: tuple[np.ndarray, ...]
    labels: tuple[str, ...]
    class_names: tuple[str, ...]


def archive_directory() -> Path:
    """The folder of the archive files inside the installed aeon package.

    Returns
    -------
    Path
        ``<site-packages>/aeon/datasets/data``.

    Raises
    ------
    MissingDataPackageError
        aeon is not installed (the message gives the install command).
    DataError
        aeon is installed but holds no data folder.
    """
    try:
        import aeon  # optional: only its location is used
    except ImportError as err:
        raise MissingDataPackageError(
            f"the UCR/UEA time-series tasks read the archive files shipped inside the "
            f"'{PACKAGE}' package, which is not installed ({err}); install it with: "
            f"{INSTALL_HINT}"
        ) from err
    root = Path(aeon.__file__).resolve().parent / "datasets" / "data"
    if not root.is_dir():
        raise DataError(
            f"the installed aeon {getattr(aeon, '__version__', '?')} has no data folder at "
            f"{root}; install aeon>=1.0 ({INSTALL_HINT})"
        )
    return root


def _parse_ts(path: Path) -> _Split:
    """Read one ``.ts`` file of the UCR/UEA archives (``@`` header, then one case per line).

    A case is ``ch1_v1,ch1_v2,...:ch2_v1,...:label``: the channels are separated by ``:``,
    the values of a channel by ``,``, and the class label comes last.  ``#`` lines are
    comments.  Missing values (``?``) and time stamps are refused.
    """
    if not path.is_file():
        raise DataError(f"archive file {path} is missing from the installed aeon package")
    if path.stat().st_size > MAX_TS_BYTES:
        raise DataError(f"{path} is larger than {MAX_TS_BYTES} bytes; not an archive file")
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{path}:{number}: expected an @ header line before @data")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
            else:
                header[key] = value.strip()
            continue
        series.append(_parse_case(line, path, number, labels))
    if header.get("timestamps", "false").lower() == "true":
        raise DataError(f"{path}: time-stamped series are not supported")
    names = header.get("classlabel", "").split()
    if not names or names[0].lower() != "true":
        raise DataError(f"{path}: not a classification problem (no '@classLabel true ...')")
    class_names = _ordered_classes(names[1:])
    unknown = sorted(set(labels) - set(class_names))
    if unknown:
        raise DataError(f"{path}: labels {unknown} are not declared in @classLabel")
    if not series:
        raise DataError(f"{path}: no cases after @data")
    return _Split(tuple(series), tuple(labels), class_names)


def _parse_case(line: str, path: Path, number: int, labels: list[str]) -> np.ndarray:
    *channels, label = line.split(":")
    if not channels:
        raise DataError(f"{path}:{number}: a case needs values and a label")
    if "?" in line:
        raise DataError(f"{path}:{number}: missing values ('?') are not supported")
    try:
        values = [np.array(c.split(","), dtype=np.float64) for c in channels]
    except ValueError as err:
        raise DataError(f"{path}:{number}: {err}") from None
    if len({v.size for v in values}) != 1:
        raise DataError(f"{path}:{number}: channels of one case have different lengths")
    labels.append(label.strip())
    return np.stack(values, axis=1)


def _ordered_classes(names: list[str]) -> tuple[str, ...]:
    """Declared class names; numeric names in numeric order (``1 10 2`` → ``1 2 10``)."""
    try:
        return tuple(sorted(names, key=float))
    except ValueError:
        return tuple(names)


@functools.lru_cache(maxsize=8)
def _read_problem(problem: str) -> tuple[_Split, _Split]:
    """TRAIN and TEST of a bundled problem (cached; arrays are read-only)."""
    if problem not in BUNDLED_PROBLEMS:
        raise DataError(
            f"unknown archive problem {problem!r}; aeon ships: {', '.join(BUNDLED_PROBLEMS)}"
        )
    folder = archive_directory() / problem
    train = _parse_ts(folder / f"{problem}_TRAIN.ts")
    test = _parse_ts(folder / f"{problem}_TEST.ts")
    if train.class_names != test.class_names:
        raise DataError(f"{problem}: TRAIN and TEST declare different classes")
    for split in (train, test):
        for s in split.series:
            s.setflags(write=False)
    return train, test


def _stratified_resample(
    labels: np.ndarray, n_train_per_class: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a split keeping ``n_train_per_class[c]`` training cases of each class."""
    train, test = [], []
    for c, count in enumerate(n_train_per_class):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:count])
        test.append(idx[count:])
    return np.concatenate(train), np.concatenate(test)


def _pad(series: list[np.ndarray], seq_len: int, channels: int) -> np.ndarray:
    out = np.zeros((len(series), seq_len, channels), dtype=np.float64)
    for i, s in enumerate(series):
        out[i, : s.shape[0]] = s
    return out


def load_ucr_uea(
    problem: str, *, seed: int = 0, n_train: int | None = None, n_test: int | None = None
) -> TaskData:
    """A classification problem of the UCR/UEA archives shipped inside aeon, named ``problem``.

    ``seed``, ``n_train`` and ``n_test`` are as in :func:`ssm_bridge.data.load_task`: seed 0
    keeps the archive's train/test split, k > 0 draws stratified resample k (module
    docstring), and the seed also draws the order of each split and any subset; the sizes
    default to the whole split.

    Parameters
    ----------
    problem : str
        One of :data:`BUNDLED_PROBLEMS` (archive spelling, e.g. ``"JapaneseVowels"``).

    Returns
    -------
    TaskData
        ``x`` float32 ``(n, seq_len, channels)``, standardised per channel with training
        statistics and zero-padded to the problem's longest series; ``y`` int32 class
        indices in the order of the file's ``@classLabel`` (numeric names sorted
        numerically); ``lengths_*`` the real lengths.

    Raises
    ------
    MissingDataPackageError
        aeon is not installed (an :class:`ImportError` too; the message says how to
        install it).
    DataError
        Unknown problem, a negative seed, subset sizes larger than the split, or an
        archive file that cannot be parsed.
    """
    seed = check_seed(seed)
    train, test = _read_problem(problem)
    classes = train.class_names
    index = {name: i for i, name in enumerate(classes)}
    series = list(train.series) + list(test.series)
    labels = np.array([index[v] for v in train.labels + test.labels], dtype=np.int64)
    n_arch_train = len(train.series)
    rng = np.random.default_rng(seed)
    if seed == 0:
        tr_idx, te_idx = np.arange(n_arch_train), np.arange(n_arch_train, len(series))
    else:
        counts = np.bincount(labels[:n_arch_train], minlength=len(classes))
        tr_idx, te_idx = _stratified_resample(labels, counts, rng)
    tr_idx, te_idx = rng.permutation(tr_idx), rng.permutation(te_idx)
    n_train, n_test = check_split(n_train, n_test, default_train=int(tr_idx.size),
                                  default_test=int(te_idx.size))
    if n_train > tr_idx.size or n_test > te_idx.size:
        raise DataError(
            f"{problem} has {tr_idx.size} training and {te_idx.size} test series; "
            f"n_train = {n_train}, n_test = {n_test} asks for more"
        )
    tr_idx, te_idx = tr_idx[:n_train], te_idx[:n_test]

    seq_len = max(s.shape[0] for s in series)
    channels = series[0].shape[1]
    steps = np.concatenate([series[i] for i in tr_idx], axis=0)
    mean = steps.mean(axis=0)
    std = steps.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled = [(s - mean) / std for s in series]
    lengths = np.array([s.shape[0] for s in series], dtype=np.int32)
    how = "the archive's split" if seed == 0 else f"stratified resample {seed}"
    return split_task(
        problem, _pad(scaled, seq_len, channels).astype(np.float32), labels, tr_idx,
        te_idx, seed=seed, lengths=lengths, n_classes=len(classes),
        description=(
            f"UCR/UEA archive problem {problem} read from aeon's bundled .ts files ({how}; "
            f"length ≤ {seq_len}, {channels} channel(s) standardised with training "
            f"statistics, zero-padded), {len(classes)} classes"
        ),
        options={"n_train": int(n_train), "n_test": int(n_test)},
    )


def load_japanese_vowels(
    *, seed: int = 0, n_train: int | None = None, n_test: int | None = None
) -> TaskData:
    """UEA JapaneseVowels: 12 channels, lengths 7–29 (padded to 29), 9 speakers.

    270 training / 370 test utterances with ``seed = 0`` (the archive's split); see
    :func:`load_ucr_uea` for the parameters, preprocessing and errors.

    Examples
    --------
    >>> d = load_japanese_vowels()  # doctest: +SKIP
    >>> d.x_train.shape, d.x_test.shape, d.n_classes  # doctest: +SKIP
    ((270, 29, 12), (370, 29, 12), 9)
    """
    data = load_ucr_uea("JapaneseVowels", seed=seed, n_train=n_train, n_test=n_test)
    return dataclasses.replace(data, name="japanese_vowels")
