"""Turn image files into the keyword argument of an image model's forward pass."""

from __future__ import annotations

import torch

from probekit.devices import model_device
from probekit.models.base import LoadedModel

__all__ = ["ImageFiles", "encode_images", "grey_image_inputs", "image_batches", "pixel_inputs"]


class ImageFiles(torch.utils.data.Dataset):
    """Image files decoded (RGB) and preprocessed one by one, in DataLoader workers or not.

    Item ``i`` is ``preprocess(image i)``: a float tensor ``(3, H, W)``.

    Parameters
    ----------
    paths : list of str
        Image file paths.
    preprocess : callable
        ``PIL.Image -> torch.Tensor (3, H, W)``, the model's preprocessing.

    Raises
    ------
    OSError
        An item whose file cannot be opened or decoded.
    """

    def __init__(self, paths: list[str], preprocess):
        self.paths, self.preprocess = list(paths), preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.paths[i]) as image:
            return self.preprocess(image.convert("RGB"))


def pixel_inputs(loaded: LoadedModel, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pixels as the model's forward keyword argument.

    Parameters
    ----------
    loaded : LoadedModel
        An image model (``loaded.info["input_name"]``, default ``x``).
    pixels : torch.Tensor of shape (batch, 3, H, W)
        Preprocessed images.

    Returns
    -------
    dict of str to torch.Tensor
        ``{input name: pixels}`` on the model's device, in its floating dtype (float32
        when it has no floating parameters).
    """
    reference = next(loaded.model.parameters(), None)
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
    return {loaded.info.get("input_name", "x"): pixels.to(model_device(loaded.model), dtype)}


def encode_images(loaded: LoadedModel, paths: list[str]) -> dict[str, torch.Tensor]:
    """Open and preprocess a batch of image files (see :func:`pixel_inputs`).

    Parameters
    ----------
    loaded : LoadedModel
        An image model (its ``preprocess``).
    paths : list of str
        Image files.

    Returns
    -------
    dict of str to torch.Tensor
        ``{input name: (batch, 3, H, W)}``.

    Raises
    ------
    OSError
        A file that cannot be opened or decoded as an image.
    """
    files = ImageFiles(paths, loaded.preprocess)
    return pixel_inputs(loaded, torch.stack([files[i] for i in range(len(files))]))


def image_batches(loaded: LoadedModel, paths: list[str], batch_size: int, num_workers: int = 0):
    """Preprocessed images ``batch_size`` at a time, decoded by a torch DataLoader.

    Parameters
    ----------
    loaded : LoadedModel
        An image model (its ``preprocess``).
    paths : list of str
        Image files, in order.
    batch_size : int
        Images per batch.
    num_workers : int
        DataLoader worker processes (0: decode in this one).

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(batch, 3, H, W)`` float tensors; a file that cannot be decoded raises
        ``OSError`` when its batch is read.
    """
    from torch.utils.data import DataLoader

    cuda = model_device(loaded.model).type == "cuda"
    return DataLoader(ImageFiles(paths, loaded.preprocess), batch_size=batch_size, shuffle=False,
                      num_workers=num_workers, pin_memory=cuda)


def grey_image_inputs(loaded: LoadedModel) -> dict[str, torch.Tensor]:
    """A mid-grey 256 x 256 image through the model's preprocessing (see :func:`pixel_inputs`).

    Parameters
    ----------
    loaded : LoadedModel
        An image model.

    Returns
    -------
    dict of str to torch.Tensor
        ``{input name: (1, 3, H, W)}`` on the model's device.
    """
    from PIL import Image

    pixels = loaded.preprocess(Image.new("RGB", (256, 256), (128, 128, 128)))
    return {loaded.info.get("input_name", "x"): pixels.unsqueeze(0).to(model_device(loaded.model))}
