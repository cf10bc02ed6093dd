"""--num-workers: images decoded by DataLoader worker processes give the very values of
decoding in the main process."""

import numpy as np
import pytest
import torch
from PIL import Image

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig, encode_images, extract
from probekit.models import load_model


@pytest.fixture(scope="module")
def vit_and_images(tmp_path_factory):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(2)
    folder = tmp_path_factory.mktemp("vit")
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                       image_size=32, patch_size=8, num_labels=5)
    ViTForImageClassification(config).eval().save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(11):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40 + i, 36 + 2 * i, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    data = ConceptDataset(inputs=paths, labels=np.arange(11) % 2, task="binary", name="images",
                          metadata={"modality": "image"})
    return load_model(str(folder)), data


def test_worker_processes_give_the_main_process_values(vit_and_images, tmp_path):
    loaded, data = vit_and_images
    stores = {w: extract(loaded, data, ExtractionConfig(modules=["resid"], batch_size=4, num_workers=w),
                         tmp_path / f"w{w}", progress=False)[0] for w in (0, 2)}
    assert stores[0].n_samples == 11
    assert list(stores[2].to_dataset()["image_path"]) == data.inputs  # image stores keep their files' paths
    for module in stores[0].modules:
        np.testing.assert_array_equal(stores[2].numpy(module), stores[0].numpy(module))
    # and both equal one batch of every image preprocessed here, run through the model at once
    from probekit.extract.recorder import ActivationRecorder
    from probekit.extract.hook_points import resolve_hook_points

    point = resolve_hook_points(loaded.model, ["resid"])[-1]
    with ActivationRecorder(loaded.model, [point.module]) as recorder:
        acts = dict(recorder.run(**encode_images(loaded, data.inputs)))[point.module]
    np.testing.assert_allclose(stores[2].numpy(point.name), acts.float().mean(dim=1).numpy(), atol=1e-5)


def test_token_budget_on_an_image_model_is_refused(vit_and_images, tmp_path):
    loaded, data = vit_and_images
    with pytest.raises(ProbekitError, match="max_tokens_per_batch=64 batches texts.*image model"):
        extract(loaded, data, ExtractionConfig(modules=["resid"], max_tokens_per_batch=64), tmp_path, progress=False)
