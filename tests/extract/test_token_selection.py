import pytest
import torch

from probekit.errors import ProbekitError
from probekit.extract.token_selection import TokenSelection, select_tokens


def _batch(padding):
    lengths = [3, 5, 1]
    pos = max(lengths)
    d = 2
    hidden = torch.zeros(3, pos, d)
    mask = torch.zeros(3, pos, dtype=torch.long)
    for b, n in enumerate(lengths):
        cols = range(pos - n, pos) if padding == "left" else range(n)
        for rank, col in enumerate(cols):
            hidden[b, col] = torch.tensor([10 * b + rank, 1.0])
            mask[b, col] = 1
    return hidden, mask, lengths


@pytest.mark.parametrize("padding", ["left", "right"])
def test_last_mean_all_positions_ignore_padding(padding):
    hidden, mask, lengths = _batch(padding)
    rows, ex, pos = select_tokens(hidden, mask, TokenSelection("last"))
    assert rows[:, 0].tolist() == [10 * b + n - 1 for b, n in enumerate(lengths)]
    assert pos.tolist() == [n - 1 for n in lengths]
    rows, _, _ = select_tokens(hidden, mask, TokenSelection("mean"))
    assert rows[:, 0].tolist() == pytest.approx([10 * b + (n - 1) / 2 for b, n in enumerate(lengths)])
    rows, ex, pos = select_tokens(hidden, mask, TokenSelection("all"))
    assert len(rows) == sum(lengths)
    assert rows[:, 0].tolist() == [10 * b + r for b, n in enumerate(lengths) for r in range(n)]
    assert pos.tolist() == [r for n in lengths for r in range(n)]
    rows, ex, pos = select_tokens(hidden, mask, TokenSelection("positions", (0, -1)))
    assert ex.tolist() == [0, 0, 1, 1, 2, 2]
    assert rows[:, 0].tolist() == [0, 2, 10, 14, 20, 20]


def test_bad_position_and_method():
    hidden, mask, _ = _batch("right")
    with pytest.raises(ProbekitError, match="position 4"):
        select_tokens(hidden, mask, TokenSelection("positions", (4,)))
    with pytest.raises(ProbekitError, match="valid"):
        TokenSelection("first")
    assert TokenSelection.parse("positions:0,-1").positions == (0, -1)
