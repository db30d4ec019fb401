"""crowd-kit's ``crowdkit.postprocessing`` path: :func:`entropy_threshold` lives in
:mod:`galton.metrics`."""

from .metrics import entropy_threshold

__all__ = ["entropy_threshold"]
