"""verification: error certificates for reductions, and the evidence behind them.

- :func:`certify` — per layer, every applicable bound on the truncation error next to the
  exact ‖G − G_r‖∞ and ‖G − G_r‖₂ (:mod:`verification.certificates`); :func:`certify_many`
  for many plans of the same layers (shared per-layer work, optional worker processes);
- :mod:`verification.bounds` — each bound as a function of the error system, and the
  registry :data:`~verification.bounds.BOUNDS` that :func:`certify` reports from;
- :mod:`verification.claims` — the catalogue of published inequalities and their verdicts;
- :mod:`verification.strategies` — public hypothesis strategies (needs ``hypothesis``;
  import it explicitly: ``from verification import strategies``).

Layer stacks are read and written by :func:`mor.load_stack` / :func:`mor.save_stack`.

Never imports JAX.
"""

from verification import bounds
from verification.certificates import (
    BoundResult,
    CertificateError,
    CertificateReport,
    EnergyEstimate,
    LayerCertificate,
    certify,
    certify_many,
)

__all__ = ["BoundResult", "CertificateError", "CertificateReport", "EnergyEstimate",
           "LayerCertificate", "bounds", "certify", "certify_many"]
