"""The pixel baseline: a fixed random projection of (downsampled) pixels."""

from __future__ import annotations

import torch
from torch import nn

from probekit.models.base import LoadedModel
from probekit.models.hashing import hash_parameters


#: Default projection width: EfficientNet-Lite0's penultimate width (see :class:`PixelProjection`).
DEFAULT_DIM = 1280


class PixelProjection(nn.Module):
    """A fixed random projection of downsampled pixels.

    Downsample ``(batch, 3, H, W)`` images to ``side × side`` (area average), flatten,
    and multiply by a fixed Gaussian matrix scaled by ``1/sqrt(3·side²)``.

    The module ``projection`` outputs ``(batch, dim)``: the feature a probe reads. The
    matrix is drawn as ``torch.randn(3·side², dim, generator=manual_seed(seed))`` (so the
    features are ``pixels @ matrix``).

    ``dim`` defaults to 1280, the width of the penultimate features of EfficientNet-Lite0
    (and -B0) that the baseline is compared with: a probe then reads as many features from
    the pixels as from the model, so a difference in decodability is not a difference in
    probe capacity. This is the size the P2 recipe has always used (its published numbers).

    Parameters
    ----------
    dim : int
        Output features (``d_model`` of the baseline).
    side : int
        Side of the downsampled image, in pixels.
    seed : int
        Seed of the projection matrix.

    References
    ----------
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR, Fig. 3: "a fixed random projection of pixels" as the baseline.
    """

    #: The module whose output is the feature (see :func:`probekit.extract.penultimate.penultimate_module`).
    FEATURE_MODULE = "projection"

    def __init__(self, dim: int = DEFAULT_DIM, side: int = 64, seed: int = 0):
        super().__init__()
        self.downsample = nn.AdaptiveAvgPool2d(side)
        generator = torch.Generator().manual_seed(seed)
        n_in = 3 * side * side
        self.projection = nn.Linear(n_in, dim, bias=False)
        with torch.no_grad():
            self.projection.weight.copy_((torch.randn(n_in, dim, generator=generator) / n_in ** 0.5).T)
        self.projection.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 3, H, W)`` images -> ``(batch, dim)`` projected pixels.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, 3, H, W), float32

        Returns
        -------
        torch.Tensor of shape (batch, dim), float32
        """
        return self.projection(self.downsample(x).flatten(1))


def pixel_projection_model(like: LoadedModel, dim: int = DEFAULT_DIM, side: int = 64, seed: int = 0) -> LoadedModel:
    """A :class:`LoadedModel` for the pixel baseline, with ``like``'s preprocessing.

    Parameters
    ----------
    like : LoadedModel
        The image model compared with (its ``preprocess`` is reused).
    dim, side, seed : int
        As :class:`PixelProjection`.

    Returns
    -------
    LoadedModel
        Kind ``image-classifier``, in eval mode, ``weights_hash`` of the matrix.
    """
    model = PixelProjection(dim, side, seed).eval()
    return LoadedModel(
        model=model, name=f"pixel-projection({dim}, {side}px, seed {seed})", kind="image-classifier",
        preprocess=like.preprocess, weights_hash=hash_parameters(model), source="random projection",
        info={"input_name": "x", "architecture": "PixelProjection", "dim": dim, "side": side, "seed": seed},
    )
