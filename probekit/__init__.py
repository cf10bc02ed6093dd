"""probekit: read what a pretrained model knows.

Data flows one way: ``models`` -> ``extract`` (hooks) -> ``store`` (disk) ->
``probes`` / ``estimators`` / ``metrics`` -> ``report``.

Dimension names used in every public docstring
-----------------------------------------------
``batch``      examples in one forward pass
``pos``        token positions in a (padded) sequence
``d_model``    width of the residual stream / a module's output features
``n_samples``  rows of a feature matrix (examples, or tokens for token-level stores)
``n_features`` columns of a generic feature matrix
``n_latents``  dimensions of a ground-truth latent vector
"""

from probekit.errors import ProbekitError

__version__ = "0.1.0"
__all__ = ["ProbekitError", "__version__"]
