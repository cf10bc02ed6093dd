"""The dSprites encoders of Reizinger et al. (2025), Table 4: raw pixels, an MLP and a ResNet-18."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from probekit.errors import ProbekitError

__all__ = ["DSPRITES_ENCODERS", "Flatten", "dsprites_encoder", "encoder_features"]

#: Encoder names accepted by :func:`dsprites_encoder`.
DSPRITES_ENCODERS = ("pixels", "mlp", "cnn")


class Flatten(nn.Module):
    """``(batch, *dims)`` -> ``(batch, prod(dims))``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def dsprites_encoder(name: str, seed: int) -> tuple[nn.Module, int]:
    """A freshly initialised dSprites encoder for ``(batch, 1, 64, 64)`` images and its feature width.

    Parameters
    ----------
    name : {"pixels", "mlp", "cnn"}
        ``pixels``: identity on the flattened image (4096 features); ``mlp``: flatten, then
        3 x (Linear 512 + BatchNorm + ReLU); ``cnn``: torchvision ResNet-18 from scratch with
        a 1-channel ``conv1`` and ``fc`` removed (512 features).
    seed : int
        ``torch.manual_seed`` before the layers are built.

    Returns
    -------
    (nn.Module, int)

    Raises
    ------
    ProbekitError
        An unknown ``name``.

    References
    ----------
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR, Table 4 (dSprites row: pixels, MLP, CNN encoders trained on shape).
    """
    if name not in DSPRITES_ENCODERS:
        raise ProbekitError(f"unknown dSprites encoder {name!r}; valid: {', '.join(DSPRITES_ENCODERS)}")
    torch.manual_seed(seed)
    if name == "pixels":
        return Flatten(), 64 * 64
    if name == "mlp":
        layers: list[nn.Module] = [Flatten()]
        width = 64 * 64
        for _ in range(3):
            layers += [nn.Linear(width, 512), nn.BatchNorm1d(512), nn.ReLU()]
            width = 512
        return nn.Sequential(*layers), 512
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Identity()
    return net, 512


@torch.no_grad()
def encoder_features(encoder: nn.Module, x: torch.Tensor, batch_size: int, device: str) -> np.ndarray:
    """Eval-mode features of ``x`` ``(n_samples, ...)`` (any dtype; cast to float32), ``(n_samples, d)`` float64."""
    encoder.eval()
    out = []
    for s in range(0, x.shape[0], batch_size):
        out.append(encoder(x[s : s + batch_size].to(device).float()).double().cpu())
    return torch.cat(out).numpy()
