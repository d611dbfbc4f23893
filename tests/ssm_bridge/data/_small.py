"""Small task sizes shared by the ssm_bridge.data tests: every generator call stays cheap."""

from __future__ import annotations

import numpy as np

from ssm_bridge.data import TaskData, load_task

# Small sizes keep every generator call cheap (the whole file runs in seconds).
SMALL = {
    "digits": {},
    "digits32": {"n_train": 200, "n_test": 100},
    "mnist1d": {"n_train": 300, "n_test": 200},
    "listops": {
        "n_train": 150,
        "n_test": 50,
        "min_length": 20,
        "max_length": 200,
        "max_depth": 6,
        "max_args": 5,
    },
}



def _load(name: str, seed: int = 0) -> TaskData:
    return load_task(name, seed=seed, **SMALL[name])


def _rows(x: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in x.reshape(x.shape[0], -1)]
