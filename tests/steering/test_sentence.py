import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.steering.sentence import SentenceEmbedder


@pytest.mark.integration
def test_minilm_embeddings_are_unit_and_semantic():
    emb = SentenceEmbedder("minilm-l6")
    e = emb.encode(["What happens if you eat watermelon seeds?",
                    "What is the effect of swallowing watermelon seeds?",
                    "Which city is the capital of France?"])
    assert e.shape == (3, emb.dim) == (3, 384)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    # padding does not change a sentence's embedding (mean over real tokens only)
    alone = emb.encode(["Which city is the capital of France?"])
    assert np.allclose(alone[0], e[2], atol=1e-5)
    with pytest.raises(ProbekitError, match="strings"):
        emb.encode([])
