"""Flax (linen) modules of S5 and S4D classification stacks with per-layer state sizes.

The modules hold parameters; the arithmetic lives in :mod:`ssm_bridge.ssm`.  The
parameter tree of :class:`S5Model` is the official S5 tree
(``encoder/encoder``, ``encoder/layers_{l}/{seq,norm,out1,out2}``, ``decoder``; see
:mod:`ssm_bridge.layout`), so a checkpoint trained with the official S5 code loads given
its hyper-parameters.  Unlike the official model, each layer may have its own state size
(``config.state_sizes``), so a layer-adaptively pruned stack is a real, smaller model.

Inputs are batched: ``x`` of shape (batch, L, d_input) → log-probabilities of shape
(batch, n_classes), as the official ``BatchClassificationModel``.  BatchNorm normalises
over batch and time, exactly as the official ``nn.vmap(..., axis_name="batch")``.
Pooling (``config.pooling``): the mean over time (official ``mode="pool"``), or, given
``lengths``, over each sequence's first ``length`` steps (the official padded
``masked_meanpool``, for variable-length tasks); or the last step (``mode="last"``).
``config.head = "retrieval"`` is the official two-tower ``RetrievalModel`` (LRA AAN):
``x`` of shape (batch, 2, L, d_input), ``lengths`` (batch, 2).

Initialisation
--------------
S5, as the official code (``s5/ssm.py``, ``s5/ssm_init.py``): HiPPO-N (LegS normal part)
eigenvalues, ``config.blocks`` blocks, ``B = V⁻¹ B₀`` with B₀ (N × H) LeCun-normal
(truncated normal, fan-in N), C by ``config.c_init``: ``"trunc_standard_normal"`` (the
official default; each row of the complex C₀ (H × N) LeCun-normal with fan-in N) or
``"lecun_normal"`` (fan-in N·H), then ``C = C₀ V``; ``"complex_normal"``: C sampled
directly, real and imaginary parts N(0, 1/2), no V.  ``D ~ N(0, 1)``, ``log Δ`` uniform
in ``[log dt_min, log dt_max]``.  (Before issue 11 the toolkit drew B₀ with fan-in H and a
real C₀, which put √(N/H) times the official scale on B and 1/√2 on C; the bundled
checkpoints were trained that way.)  S4D: S4D-Lin (``λ_n = −1/2 + jπn``), B = 1,
``C ~ CN(0, 1)``, one Δ per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ssm_bridge import scan
from ssm_bridge import ssm as ssm_math
from ssm_bridge.config import S4DConfig, S5Config, StackConfig
from ssm_bridge.errors import ConfigError

__all__ = [
    "S4DSSM",
    "S5SSM",
    "S4DModel",
    "S5Model",
    "SequenceLayer",
    "StackModel",
    "hippo_n_init",
    "make_model",
    "random_variables",
]


def hippo_n_init(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the normal part of HiPPO-LegS (S5's HiPPO-N init).

    ``S = A + p pᵀ`` with the LegS matrix A and ``p_i = sqrt(i + 1/2)``; S is −1/2·I plus
    a skew-symmetric matrix, so ``Λ = −1/2 + j·eig(−jS_skew)`` with unitary V
    (Smith et al. 2023, §4.3 and ``s5/ssm_init.py``).

    Returns
    -------
    Lambda : complex ndarray, shape (n,), ascending imaginary part
    V : complex ndarray, shape (n, n)
    """
    q = np.sqrt(1.0 + 2.0 * np.arange(n))
    A = -(np.tril(q[:, None] * q[None, :]) - np.diag(np.arange(n)))
    p = np.sqrt(np.arange(n) + 0.5)
    S = A + p[:, None] * p[None, :]
    lam_re = np.mean(np.diagonal(S)) * np.ones(n)
    lam_im, V = np.linalg.eigh(S * -1j)
    return lam_re + 1j * lam_im, V


def _s5_init_arrays(P: int, conj_sym: bool, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """(Λ (P,), V (N, P)) of the HiPPO-N init for P stored modes (N = 2P with conj_sym)."""
    full = 2 * P if conj_sym else P
    if blocks < 1 or full % blocks or (conj_sym and (full // blocks) % 2):
        blocks = 1
    size = full // blocks
    lam, V = hippo_n_init(size)
    if conj_sym:
        lam, V = lam[: size // 2], V[:, : size // 2]
    return np.tile(lam, blocks), scipy.linalg.block_diag(*([V] * blocks))


def _official_b(key, V: np.ndarray, H: int):
    """B̃ = V⁻¹ B₀ (P, H, 2) with B₀ (N, H) LeCun-normal (fan-in N), as the official init."""
    b0 = jax.nn.initializers.lecun_normal()(key, (V.shape[0], H))
    vb = jnp.asarray(V.conj().T, jnp.complex64) @ b0.astype(jnp.complex64)
    return jnp.stack([vb.real, vb.imag], axis=-1)


def _official_c(key, V: np.ndarray, H: int, c_init: str, columns: int):
    """C̃ (H, columns, 2) by the official ``C_init`` (``columns`` = P, or 2P for the single C
    of a bidirectional ``complex_normal`` layer)."""
    N = V.shape[0]
    if c_init == "complex_normal":
        return jax.nn.initializers.normal(stddev=0.5**0.5)(key, (H, columns, 2))
    if c_init == "lecun_normal":
        c0 = jax.nn.initializers.lecun_normal()(key, (H, N, 2))
    else:  # trunc_standard_normal: each row LeCun-normal over (1, N, 2), one key per row
        rows = []
        for _ in range(H):
            key, sub = jax.random.split(key)
            rows.append(jax.nn.initializers.lecun_normal()(sub, (1, N, 2)))
        c0 = jnp.concatenate(rows, axis=0)
    cv = jax.lax.complex(c0[..., 0], c0[..., 1]) @ jnp.asarray(V, jnp.complex64)
    return jnp.stack([cv.real, cv.imag], axis=-1)


def _log_step_init(dt_min: float, dt_max: float):
    def init(key, shape):
        u = jax.random.uniform(key, shape)
        return u * (np.log(dt_max) - np.log(dt_min)) + np.log(dt_min)

    return init


class _DiagonalSSM(nn.Module):
    """What the S5 and S4D layers share: the fields, C̃ (one or two), and the forward pass
    ``y = readout(u, states(u))``.  Subclasses create the parameters and ``discrete()``."""

    d_model: int
    state_size: int
    conj_sym: bool = True
    bidirectional: bool = False
    discretization: str = "zoh"
    clip_eigs: bool = False
    step_rescale: float = 1.0
    dt_min: float = 0.001
    dt_max: float = 0.1
    scan_method: str = "auto"
    single_output_matrix: bool = False

    states_fn = staticmethod(ssm_math.s5_states)
    readout_fn = staticmethod(ssm_math.s5_readout)

    def _output_params(self, init, shape) -> None:
        if self.single_output_matrix:  # official bidirectional complex_normal: one C (H, 2P, 2)
            self.C = self.param("C", init, (shape[0], 2 * shape[1], shape[2]))
        elif self.bidirectional:
            self.C1 = self.param("C1", init, shape)
            self.C2 = self.param("C2", init, shape)
        else:
            self.C = self.param("C", init, shape)

    def discrete(self):
        raise NotImplementedError

    def output_matrices(self):
        """(C̃ forward, C̃ backward or None), complex."""
        if self.single_output_matrix:
            half = self.C.shape[1] // 2
            return ssm_math.to_complex(self.C[:, :half]), ssm_math.to_complex(self.C[:, half:])
        if self.bidirectional:
            return ssm_math.to_complex(self.C1), ssm_math.to_complex(self.C2)
        return ssm_math.to_complex(self.C), None

    def states(self, u):
        """State features (L, batch, F) of u (batch, L, H) (:mod:`ssm_bridge.ssm`)."""
        lambda_bar, b_bar = self.discrete()
        return self.states_fn(lambda_bar, b_bar, u, bidirectional=self.bidirectional,
                              method=self.scan_method)

    def readout(self, u, states, mask=None):
        """``f·Re(C̃ x) + D ⊙ u``, with ``mask`` over units multiplying the columns of C̃."""
        c_fwd, c_bwd = self.output_matrices()
        return self.readout_fn(states, c_fwd, c_bwd, self.D, u, conj_sym=self.conj_sym,
                               mask=mask)

    def __call__(self, u, mask=None):
        """``y = SSM(u)``: u (batch, L, H) → (batch, L, H); ``mask`` over units."""
        return self.readout(u, self.states(u), mask)


class S5SSM(_DiagonalSSM):
    """The S5 SSM of one layer (the official ``seq`` sub-tree), on batches (batch, L, H).

    Units are the P stored modes; ``blocks`` sets the block-diagonal HiPPO-N init and
    ``c_init`` the official initialisation of C (module docstring).
    """

    blocks: int = 1
    c_init: str = "trunc_standard_normal"

    def setup(self) -> None:
        H, P = self.d_model, self.state_size
        lam0, V = _s5_init_arrays(P, self.conj_sym, self.blocks)
        self.Lambda_re = self.param(
            "Lambda_re", lambda k, s: jnp.asarray(lam0.real, jnp.float32), (P,)
        )
        self.Lambda_im = self.param(
            "Lambda_im", lambda k, s: jnp.asarray(lam0.imag, jnp.float32), (P,)
        )

        def b_init(key, shape):
            return _official_b(key, V, H)

        def c_init(key, shape):
            return _official_c(key, V, H, self.c_init, shape[1])

        self.B = self.param("B", b_init, (P, H, 2))
        self._output_params(c_init, (H, P, 2))
        self.D = self.param("D", nn.initializers.normal(stddev=1.0), (H,))
        self.log_step = self.param(
            "log_step", _log_step_init(self.dt_min, self.dt_max), (P, 1)
        )

    def discrete(self):
        """(λ̄ (P,), B̄ (P, H)) as the forward pass uses them."""
        lam = ssm_math.continuous_lambda(self.Lambda_re, self.Lambda_im, clip_eigs=self.clip_eigs)
        step = self.step_rescale * jnp.exp(self.log_step[:, 0])
        return ssm_math.discretize(lam, ssm_math.to_complex(self.B), step, self.discretization)


class S4DSSM(_DiagonalSSM):
    """An S4D layer: H independent SISO diagonal SSMs with N stored modes each.

    Units are the H·N (channel, mode) pairs, channel-major.
    """

    states_fn = staticmethod(ssm_math.s4d_states)
    readout_fn = staticmethod(ssm_math.s4d_readout)

    def setup(self) -> None:
        H, N = self.d_model, self.state_size
        self.Lambda_re = self.param("Lambda_re", nn.initializers.constant(-0.5), (H, N))
        self.Lambda_im = self.param(
            "Lambda_im",
            lambda k, s: jnp.broadcast_to(jnp.pi * jnp.arange(N, dtype=jnp.float32), s),
            (H, N),
        )
        self.B = self.param(
            "B", lambda k, s: jnp.zeros(s).at[..., 0].set(1.0), (H, N, 2)
        )
        self._output_params(nn.initializers.normal(stddev=float(np.sqrt(0.5))), (H, N, 2))
        self.D = self.param("D", nn.initializers.normal(stddev=1.0), (H,))
        self.log_step = self.param(
            "log_step", _log_step_init(self.dt_min, self.dt_max), (H, 1)
        )

    def discrete(self):
        """(λ̄ (H, N), B̄ (H, N))."""
        lam = ssm_math.continuous_lambda(self.Lambda_re, self.Lambda_im, clip_eigs=self.clip_eigs)
        step = self.step_rescale * jnp.exp(self.log_step)
        lambda_bar, b_bar = ssm_math.discretize(
            lam, ssm_math.to_complex(self.B)[..., None], step, self.discretization
        )
        return lambda_bar, b_bar[..., 0]


def _make_ssm(config: StackConfig, layer: int, scan_method: str) -> nn.Module:
    common = {
        "d_model": config.d_model,
        "state_size": config.state_sizes[layer],
        "conj_sym": config.conj_sym,
        "bidirectional": config.bidirectional,
        "discretization": config.discretization,
        "clip_eigs": config.clip_eigs,
        "step_rescale": config.step_rescale,
        "dt_min": config.dt_min,
        "dt_max": config.dt_max,
        "scan_method": scan_method,
    }
    if isinstance(config, S4DConfig):
        return S4DSSM(**common, name="seq")
    return S5SSM(**common, blocks=getattr(config, "blocks", 1),
                 c_init=getattr(config, "c_init", "trunc_standard_normal"),
                 single_output_matrix=config.single_output_matrix, name="seq")


class SequenceLayer(nn.Module):
    """One residual block: [norm] → SSM → activation/GLU → dropout → + skip → [norm].

    As the official ``SequenceLayer`` (``s5/layers.py``), on batches (batch, L, H).
    """

    config: StackConfig
    layer: int
    training: bool = False
    scan_method: str = "auto"

    def setup(self) -> None:
        cfg = self.config
        self.seq = _make_ssm(cfg, self.layer, self.scan_method)
        if cfg.activation == "full_glu":
            self.out1 = nn.Dense(cfg.d_model)
            self.out2 = nn.Dense(cfg.d_model)
        elif cfg.activation in ("half_glu1", "half_glu2"):
            self.out2 = nn.Dense(cfg.d_model)
        if cfg.batchnorm:
            self.norm = nn.BatchNorm(
                use_running_average=not self.training, momentum=cfg.bn_momentum
            )
        else:
            self.norm = nn.LayerNorm()
        self.drop = nn.Dropout(cfg.dropout, broadcast_dims=[1], deterministic=not self.training)

    def states(self, x):
        """(u, states): the SSM input (normalised under prenorm) and its states."""
        u = self.norm(x) if self.config.prenorm else x
        return u, self.seq.states(u)

    def finish(self, x, u, states, mask=None):
        """Readout, activation, residual sum and (postnorm) normalisation."""
        y = self.seq.readout(u, states, mask)
        act = self.config.activation
        if act == "full_glu":
            y = self.drop(nn.gelu(y))
            y = self.out1(y) * jax.nn.sigmoid(self.out2(y))
            y = self.drop(y)
        elif act == "half_glu1":
            y = self.drop(nn.gelu(y))
            y = y * jax.nn.sigmoid(self.out2(y))
            y = self.drop(y)
        elif act == "half_glu2":
            y1 = self.drop(nn.gelu(y))
            y = y * jax.nn.sigmoid(self.out2(y1))
            y = self.drop(y)
        else:
            y = self.drop(nn.gelu(y))
        x = x + y
        if not self.config.prenorm:
            x = self.norm(x)
        return x

    def __call__(self, x, mask=None):
        u, states = self.states(x)
        return self.finish(x, u, states, mask)


class StackedEncoder(nn.Module):
    """Encoder Dense and the sequence layers (the official ``StackedEncoderModel``)."""

    config: StackConfig
    training: bool = False
    scan_method: str = "auto"

    def setup(self) -> None:
        self.encoder = nn.Dense(self.config.d_model)
        self.layers = [
            SequenceLayer(self.config, i, training=self.training,
                          scan_method=self.scan_method)
            for i in range(self.config.n_layers)
        ]

    def __call__(self, x, masks=None):
        x = self.encoder(x)
        for i, layer in enumerate(self.layers):
            x = layer(x, None if masks is None else masks[i])
        return x


def pool(h, lengths=None, *, pooling: str = "mean"):
    """Pool (batch, L, H) over time → (batch, H).

    ``"mean"``: the mean over all L steps, or, with ``lengths`` (batch,), over the first
    ``length`` steps of each sequence (the official ``masked_meanpool``: padded steps are
    still run through the layers, only the pooling skips them); ``"last"``: step L − 1.
    """
    if pooling == "last":
        if lengths is not None:
            raise ConfigError(
                "pooling='last' with lengths: the official model has no padded 'last' mode "
                "(it raises NotImplementedError); use pooling='mean' for padded inputs"
            )
        return h[:, -1]
    if lengths is None:
        return jnp.mean(h, axis=1)
    lengths = jnp.asarray(lengths)
    mask = jnp.arange(h.shape[1])[None, :] < lengths[:, None]
    return jnp.sum(mask[..., None] * h, axis=1) / lengths[:, None].astype(h.dtype)


class RetrievalDecoder(nn.Module):
    """The official retrieval decoder: ``layer2(gelu(layer1(features)))``."""

    d_model: int
    n_classes: int

    def setup(self) -> None:
        self.layer1 = nn.Dense(self.d_model)
        self.layer2 = nn.Dense(self.n_classes)

    def __call__(self, features):
        return self.layer2(nn.gelu(self.layer1(features)))


class StackModel(nn.Module):
    """Classification stack: encoder → layers → pooling → decoder → log-softmax.

    Attributes
    ----------
    config : S5Config or S4DConfig
    training : bool
        Dropout on and BatchNorm in batch-statistics mode (call ``apply`` with
        ``mutable=["batch_stats"]`` and a ``"dropout"`` rng).
    scan_method : str
        Recurrence kernel of every layer (:func:`ssm_bridge.scan.diagonal_recurrence`;
        default ``"auto"``).  An execution choice, not part of the model: all kernels give
        the same outputs up to float32 rounding.

    ``__call__(x, masks=None, lengths=None)``: x (batch, L, d_input) → log-probabilities
    (batch, n_classes); ``masks`` is an optional sequence of per-layer arrays over units (1
    keep, 0 drop) that multiply the columns of C̃; ``lengths`` (batch,) the unpadded length
    of each sequence (mean pooling over those steps only).  With ``config.head =
    "retrieval"``: x (batch, 2, L, d_input), the two documents of each pair, and
    ``lengths`` (batch, 2).
    """

    config: StackConfig
    training: bool = False
    scan_method: str = "auto"

    def setup(self) -> None:
        self.encoder = StackedEncoder(self.config, training=self.training,
                                      scan_method=self.scan_method)
        if self.config.head == "retrieval":
            self.decoder = RetrievalDecoder(self.config.d_model, self.config.n_classes)
        else:
            self.decoder = nn.Dense(self.config.n_classes)

    def embed(self, x):
        """The encoder Dense: (batch, L, d_input) → (batch, L, H)."""
        return self.encoder.encoder(x)

    def head(self, h, lengths=None):
        """Pooling, decoder and log-softmax: (batch, L, H) → (batch, n_classes).

        Retrieval: h (2·batch, L, H), the first documents of the pairs then the second,
        and ``lengths`` (2·batch,); features ``[a, b, a − b, a·b]`` go to the decoder.
        """
        pooled = pool(h, lengths, pooling=self.config.pooling)
        if self.config.head == "retrieval":
            a, b = jnp.split(pooled, 2)
            pooled = jnp.concatenate([a, b, a - b, a * b], axis=-1)
        return nn.log_softmax(self.decoder(pooled), axis=-1)

    def __call__(self, x, masks: Sequence | None = None, lengths=None):
        if self.config.head == "retrieval":
            # (batch, 2, L, d) → (2·batch, L, d): all first documents, then all second ones
            x = jnp.concatenate([x[:, 0], x[:, 1]], axis=0)
            if lengths is not None:
                lengths = jnp.concatenate([lengths[:, 0], lengths[:, 1]], axis=0)
        return self.head(self.encoder(x, masks), lengths)


class S5Model(StackModel):
    """An S5 classification stack (official S5 parameter tree); ``config`` is an S5Config."""

    def __post_init__(self) -> None:
        if not isinstance(self.config, S5Config):
            raise ConfigError(f"S5Model needs an S5Config; got {type(self.config).__name__}")
        super().__post_init__()


class S4DModel(StackModel):
    """An S4D classification stack; ``config`` is an S4DConfig."""

    def __post_init__(self) -> None:
        if not isinstance(self.config, S4DConfig):
            raise ConfigError(f"S4DModel needs an S4DConfig; got {type(self.config).__name__}")
        super().__post_init__()


def make_model(
    config: StackConfig, *, training: bool = False, scan_method: str = "auto"
) -> StackModel:
    """The model class matching ``config`` (S5Model or S4DModel).

    ``scan_method`` picks the recurrence kernel (see :mod:`ssm_bridge.scan`); an unknown name
    raises :class:`ssm_bridge.scan.ScanMethodError`.
    """
    scan.check_method(scan_method)
    cls = S4DModel if isinstance(config, S4DConfig) else S5Model
    return cls(config, training=training, scan_method=scan_method)


def init_variables(config: StackConfig, *, key: jax.Array, seq_len: int = 16) -> dict:
    """Fresh variables (``params`` and, with BatchNorm, ``batch_stats``) for ``config``."""
    variables = _jitted_init(key, config=config, seq_len=seq_len)
    return jax.tree_util.tree_map(np.asarray, flax_unfreeze(variables))


@partial(jax.jit, static_argnames=("config", "seq_len"))
def _jitted_init(key, *, config: StackConfig, seq_len: int):
    pair = (2,) if config.head == "retrieval" else ()
    x = jnp.zeros((1, *pair, seq_len, config.d_input), jnp.float32)
    return make_model(config).init(key, x)


def flax_unfreeze(tree):
    """Plain nested dicts (Flax may return FrozenDict)."""
    from flax.core import unfreeze

    return unfreeze(tree)


def random_variables(config: StackConfig, *, seed: int = 0) -> dict:
    """Random, stable variables for ``config``, built in numpy (no compilation).

    For tests and benchmarks: Re λ ∈ [−1, −0.05], Im λ ∈ [−4, 4] (S4D: ``πn`` plus noise),
    B̃, C̃ complex normal scaled by 1/√fan-in, ``log Δ`` uniform in
    ``[log dt_min, log dt_max]``, Dense kernels normal / √fan-in (decoder ×3, so the classes
    are well separated), BatchNorm statistics around (0, 1).  float32 throughout.
    """
    rng = np.random.default_rng(seed)
    H = config.d_model

    def normal(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    def dense(n_in, n_out, scale=1.0):
        return {"kernel": normal(n_in, n_out, scale=scale / np.sqrt(n_in)),
                "bias": normal(n_out, scale=0.1)}

    def log_steps(*shape):
        lo, hi = np.log(config.dt_min), np.log(config.dt_max)
        return rng.uniform(lo, hi, shape).astype(np.float32)

    encoder: dict = {"encoder": dense(config.d_input, H)}
    stats: dict = {}
    for layer, P in enumerate(config.state_sizes):
        if isinstance(config, S4DConfig):
            seq = {
                "Lambda_re": (-rng.uniform(0.05, 1.0, (H, P))).astype(np.float32),
                "Lambda_im": (np.pi * np.arange(P) + rng.uniform(-0.5, 0.5, (H, P))).astype(
                    np.float32),
                "B": normal(H, P, 2, scale=np.sqrt(0.5)),
                "log_step": log_steps(H, 1),
            }
            cshape, cscale = (H, P, 2), np.sqrt(0.5 / P)
        else:
            seq = {
                "Lambda_re": (-rng.uniform(0.05, 1.0, P)).astype(np.float32),
                "Lambda_im": rng.uniform(-4.0, 4.0, P).astype(np.float32),
                "B": normal(P, H, 2, scale=np.sqrt(0.5 / H)),
                "log_step": log_steps(P, 1),
            }
            cshape, cscale = (H, P, 2), np.sqrt(0.5 / P)
        if config.single_output_matrix:
            seq["C"] = normal(H, 2 * P, 2, scale=cscale)
        else:
            for name in ("C1", "C2") if config.bidirectional else ("C",):
                seq[name] = normal(*cshape, scale=cscale)
        seq["D"] = normal(H)
        block: dict = {"seq": seq, "norm": {"scale": 1.0 + normal(H, scale=0.1),
                                             "bias": normal(H, scale=0.1)}}
        if config.activation == "full_glu":
            block["out1"] = dense(H, H)
        if config.activation != "gelu":
            block["out2"] = dense(H, H)
        encoder[f"layers_{layer}"] = block
        stats[f"layers_{layer}"] = {"norm": {"mean": normal(H, scale=0.1),
                                             "var": rng.uniform(0.5, 2.0, H).astype(np.float32)}}
    if config.head == "retrieval":
        decoder = {"layer1": dense(4 * H, H), "layer2": dense(H, config.n_classes, 3.0)}
    else:
        decoder = dense(H, config.n_classes, 3.0)
    variables = {"params": {"encoder": encoder, "decoder": decoder}}
    if config.batchnorm:
        variables["batch_stats"] = {"encoder": stats}
    return variables
