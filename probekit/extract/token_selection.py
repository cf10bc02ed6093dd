"""Choose which token positions of a ``(batch, pos, d_model)`` activation become rows.

Every method is correct for left and right padding: positions are read from the
attention mask, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from probekit.errors import ProbekitError

TOKEN_METHODS = ("last", "mean", "all", "positions")


@dataclass(frozen=True)
class TokenSelection:
    """How to turn token activations into rows.

    Parameters
    ----------
    method:
        ``last``: the last non-padding token of each example (one row per example).
        ``mean``: mean over non-padding tokens (one row per example).
        ``all``: every non-padding token (one row per token; rows carry the example
        index and the token position within the unpadded sequence).
        ``positions``: the tokens at ``positions`` (indices into the unpadded sequence;
        negative counts from its end, ``-1`` = last), one row per example and position.
    positions:
        Token indices for ``method="positions"``.
    """

    method: str = "last"
    positions: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.method not in TOKEN_METHODS:
            raise ProbekitError(
                f"unknown token selection {self.method!r}; valid: {', '.join(TOKEN_METHODS)}"
            )
        if self.method == "positions" and not self.positions:
            raise ProbekitError("token selection 'positions' needs at least one position, e.g. positions=(-1,)")
        object.__setattr__(self, "positions", tuple(int(p) for p in self.positions))

    @classmethod
    def parse(cls, text: str) -> "TokenSelection":
        """Parse the CLI form: ``last``, ``mean``, ``all`` or ``positions:0,-1``.

        Parameters
        ----------
        text : str
            The selection as written on the command line.

        Returns
        -------
        TokenSelection

        Raises
        ------
        ProbekitError
            Unknown method, or positions that are not integers (or none given).
        """
        if text.startswith("positions"):
            _, _, rest = text.partition(":")
            try:
                positions = tuple(int(p) for p in rest.split(",") if p.strip())
            except ValueError:
                raise ProbekitError(f"bad positions in {text!r}; write e.g. positions:0,-1") from None
            return cls("positions", positions)
        return cls(text)

    @property
    def one_row_per_example(self) -> bool:
        """True for ``last`` and ``mean`` (one row per example)."""
        return self.method in ("last", "mean")


def select_tokens(
    hidden: torch.Tensor, attention_mask: torch.Tensor, selection: TokenSelection
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Apply a token selection.

    Parameters
    ----------
    hidden:
        ``(batch, pos, d_model)`` activations.
    attention_mask:
        ``(batch, pos)`` with 1 for real tokens and 0 for padding (left or right).
    selection:
        The :class:`TokenSelection`.

    Returns
    -------
    rows : torch.Tensor
        ``(n_samples, d_model)``, same dtype as ``hidden``.
    example_index : torch.Tensor
        ``(n_samples,)`` int64 index of the example within the batch.
    position : torch.Tensor
        ``(n_samples,)`` int64 token position within the unpadded sequence (0 = first real
        token); ``-1`` for ``mean``.

    Raises
    ------
    ProbekitError
        A position outside an example's length.
    """
    mask = attention_mask.to(hidden.device).bool()
    if hidden.ndim != 3 or mask.shape != hidden.shape[:2]:
        raise ProbekitError(
            f"token selection needs (batch, pos, d_model) activations and a (batch, pos) mask; "
            f"got {tuple(hidden.shape)} and {tuple(mask.shape)}"
        )
    batch = hidden.shape[0]
    lengths = mask.sum(dim=1)
    # rank of each real token within its sequence: 0..length-1, padding -> -1
    rank = torch.cumsum(mask.long(), dim=1) - 1
    rank = torch.where(mask, rank, torch.full_like(rank, -1))
    arange = torch.arange(batch, device=hidden.device)
    if selection.method == "last":
        last = _column_of_rank(rank, lengths - 1)
        return hidden[arange, last], arange.cpu(), (lengths - 1).cpu()
    if selection.method == "mean":
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        rows = (hidden * weights).sum(dim=1) / lengths.clamp(min=1).to(hidden.dtype).unsqueeze(-1)
        return rows, arange.cpu(), torch.full((batch,), -1, dtype=torch.long)
    if selection.method == "all":
        b, p = torch.nonzero(mask, as_tuple=True)
        return hidden[b, p], b.cpu(), rank[b, p].cpu()
    rows, examples, positions = [], [], []
    for position in selection.positions:
        wanted = lengths + position if position < 0 else torch.full_like(lengths, position)
        bad = (wanted < 0) | (wanted >= lengths)
        if bad.any():
            i = int(torch.nonzero(bad)[0])
            raise ProbekitError(
                f"token position {position} is outside example {i} of the batch, which has "
                f"{int(lengths[i])} tokens"
            )
        rows.append(hidden[arange, _column_of_rank(rank, wanted)])
        examples.append(arange)
        positions.append(wanted)
    # order rows by example, then by requested position
    rows_t = torch.stack(rows, dim=1).reshape(-1, hidden.shape[-1])
    example_t = torch.stack(examples, dim=1).reshape(-1)
    position_t = torch.stack(positions, dim=1).reshape(-1)
    return rows_t, example_t.cpu(), position_t.cpu()


def _column_of_rank(rank: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
    """Column index where ``rank[b, col] == wanted[b]`` for each row ``b``."""
    return (rank == wanted.unsqueeze(1)).long().argmax(dim=1)
