"""evaluate: batched and padded correctly; sharded over 4 (CPU) devices equals 1 device; two
processes, each passing its own shard, get the single-process result (multi-host)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ssm_bridge import ConfigError, S5Config, evaluate, log_probabilities, random_variables, sweep

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


# ---------------------------------------------------------------- multi-host
# Multi-host evaluate: 2 processes × 2 CPU devices, each passing its own data shard.
#
# Two subprocesses join one ``jax.distributed`` run over 127.0.0.1 (gloo CPU collectives) and
# call :func:`evaluate`, :func:`log_probabilities` and :func:`sweep` as documented: same
# model and batch size everywhere, each process passing only its own shard of the data.  Every
# process must return the single-process result over the whole data set.
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
READY = "MULTIHOST-COLLECTIVES-READY"

CONFIG = S5Config(d_model=8, n_layers=2, state_sizes=(5, 3), d_input=2, n_classes=3,
                  bidirectional=True, dt_min=0.01, dt_max=0.5)
SEED, N, LENGTH, BATCH = 11, 22, 16, 8
# (examples of process 0, of process 1): 4 rows per process and step, so process 0 runs
# 4 steps and process 1 two real steps and two padding steps; then an empty shard.
SPLITS = ((15, 7), (22, 0))
SWEEP_GRID = (("aire", "last", "random"), (0.0, 0.3, 0.6))

WORKER = textwrap.dedent(
    """
    import faulthandler, json, os, sys
    faulthandler.dump_traceback_later(float(sys.argv[4]), exit=True)  # a hang: say where
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    rank, port, spec = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    import jax
    import numpy as np

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=rank, initialization_timeout=60,
                               shutdown_timeout_seconds=30)
    from jax.experimental import multihost_utils

    ranks = multihost_utils.process_allgather(np.int32(rank))  # first cross-process collective
    assert sorted(ranks.tolist()) == [0, 1], ranks
    print(spec["ready"], flush=True)

    from ssm_bridge import S5Config, evaluate, log_probabilities, random_variables

    assert jax.process_count() == 2 and len(jax.devices()) == 4, jax.devices()
    assert len(jax.local_devices()) == 2, jax.local_devices()
    kw = spec["config"]
    cfg = S5Config(**{**kw, "state_sizes": tuple(kw["state_sizes"])})
    n, batch = spec["n"], spec["batch"]
    v = random_variables(cfg, seed=spec["seed"])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, spec["length"], cfg.d_input)).astype(np.float32)
    y = rng.integers(0, cfg.n_classes, n)

    def own(first):
        return slice(0, first) if rank == 0 else slice(first, n)

    out = {"global": []}
    for first, _ in spec["splits"]:
        r = evaluate(v, cfg, x[own(first)], y[own(first)], batch_size=batch)
        out["global"].append([r.accuracy, r.loss, r.count, r.ndevices])
    first = spec["splits"][0][0]
    out["logp"] = log_probabilities(v, cfg, x[own(first)], batch_size=batch).tolist()
    r = evaluate(v, cfg, x[own(first)], y[own(first)], batch_size=batch,
                 devices=jax.local_devices())
    out["local_mesh"] = [r.accuracy, r.loss, r.count, r.ndevices]
    from ssm_bridge import sweep

    s = sweep(v, cfg, x[own(first)], y[own(first)], methods=spec["sweep_methods"],
              ratios=spec["sweep_ratios"], batch_size=batch, micro_batch=4,
              progress=False)
    out["sweep"] = [s.accuracy.tolist(), s.loss.tolist(), s.count]
    print(json.dumps(out), flush=True)
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker_env() -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy"}
    env = {k: v for k, v in os.environ.items()
           if k != "XLA_FLAGS" and k.lower() not in proxies}  # gRPC to 127.0.0.1: no proxy
    env["JAX_PLATFORMS"] = "cpu"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _spec_json() -> str:
    fields = ("d_model", "n_layers", "state_sizes", "d_input", "n_classes", "bidirectional",
              "dt_min", "dt_max")
    return json.dumps({"config": {f: getattr(CONFIG, f) for f in fields}, "seed": SEED,
                       "n": N, "length": LENGTH, "batch": BATCH, "splits": SPLITS,
                       "ready": READY, "sweep_methods": SWEEP_GRID[0],
                       "sweep_ratios": SWEEP_GRID[1]})


def _run_two_processes(tmp_path: Path) -> list[tuple[int | None, str, str]]:
    """(return code or None on timeout, stdout, stderr) of both processes."""
    port = _free_port()
    procs, files = [], []
    try:
        for rank in (0, 1):
            out = open(tmp_path / f"out{rank}.txt", "w+")  # closed below
            err = open(tmp_path / f"err{rank}.txt", "w+")
            files.append((out, err))
            procs.append(subprocess.Popen(
                [sys.executable, "-c", WORKER, str(rank), str(port), _spec_json(),
                 str(TIMEOUT_S - 20)],
                stdout=out, stderr=err, text=True, env=_worker_env(), cwd=ROOT))
        deadline = time.monotonic() + TIMEOUT_S
        codes: list[int | None] = []
        for proc in procs:
            try:
                codes.append(proc.wait(timeout=max(deadline - time.monotonic(), 0.1)))
            except subprocess.TimeoutExpired:
                codes.append(None)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = []
    for code, (out, err) in zip(codes, files, strict=True):
        out.seek(0)
        err.seek(0)
        results.append((code, out.read(), err.read()))
        out.close()
        err.close()
    return results


def _report(results) -> str:
    parts = []
    for rank, (code, out, err) in enumerate(results):
        status = "timed out" if code is None else f"exit code {code}"
        parts.append(f"--- process {rank} ({status}) stdout:\n{out[-2000:]}\n"
                     f"--- process {rank} stderr:\n{err[-4000:]}")
    return "\n".join(parts)


def _last_error_line(err: str) -> str:
    """The exception line of a traceback (else the last line) of a worker's stderr."""
    lines = [ln.strip() for ln in err.splitlines() if ln.strip() and "[Gloo]" not in ln]
    errors = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b", ln)]
    return (errors or lines or ["(no stderr)"])[-1]


def test_each_process_passes_its_shard_and_gets_the_global_result(tmp_path):
    results = _run_two_processes(tmp_path)
    if any(READY not in out for _, out, _ in results):
        failed = [(rank, code, err) for rank, (code, out, err) in enumerate(results)
                  if READY not in out]
        if any(code is None or "Timeout (" in err for _, code, err in failed):
            pytest.fail("jax.distributed.initialize or the first collective hung\n"
                        + _report(results))
        pytest.skip("multi-process CPU collectives (jax.distributed + gloo) unavailable: "
                    + "; ".join(f"process {rank}: {_last_error_line(err)}"
                                for rank, _, err in failed))
    assert all(code == 0 for code, _, _ in results), _report(results)
    res = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]

    v = random_variables(CONFIG, seed=SEED)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, LENGTH, CONFIG.d_input)).astype(np.float32)
    y = rng.integers(0, CONFIG.n_classes, N)
    whole = evaluate(v, CONFIG, x, y, batch_size=BATCH)
    assert 0 < whole.accuracy < 1  # random labels: a non-trivial accuracy to compare

    for rank in (0, 1):
        for split, (acc, loss, count, ndevices) in zip(SPLITS, res[rank]["global"],
                                                       strict=True):
            where = f"process {rank}, shards {split}"
            assert (count, ndevices) == (N, 4), where
            assert acc == whole.accuracy, where
            assert loss == pytest.approx(whole.loss, rel=1e-6), where
    # every process returns the very same numbers (summed in process order)
    assert res[0]["global"] == res[1]["global"]

    # log_probabilities: each process gets the rows of its own examples, in order
    logp = np.concatenate([np.asarray(res[0]["logp"]), np.asarray(res[1]["logp"])])
    np.testing.assert_allclose(logp, log_probabilities(v, CONFIG, x, batch_size=BATCH),
                               rtol=1e-5, atol=1e-6)

    # a mesh of local devices only: each process evaluates its shard alone
    first = SPLITS[0][0]
    for rank, own in ((0, slice(0, first)), (1, slice(first, N))):
        alone = evaluate(v, CONFIG, x[own], y[own], batch_size=BATCH)
        acc, loss, count, ndevices = res[rank]["local_mesh"]
        assert (count, ndevices) == (alone.count, 2)
        assert acc == alone.accuracy
        assert loss == pytest.approx(alone.loss, rel=1e-6)

    # sweep (two micro-batches per step): every process gets the sweep of the whole data set
    whole_sweep = sweep(v, CONFIG, x, y, methods=SWEEP_GRID[0], ratios=SWEEP_GRID[1],
                        batch_size=BATCH, progress=False)
    for rank in (0, 1):
        acc, loss, count = res[rank]["sweep"]
        assert count == N
        np.testing.assert_array_equal(acc, whole_sweep.accuracy)
        np.testing.assert_allclose(loss, whole_sweep.loss, rtol=1e-6)
