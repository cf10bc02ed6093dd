"""Forward hooks registered together and always removed together."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

INPUT_SUFFIX = ":input"


class HookSet:
    """Base of every probekit context manager that hooks a model.

    Subclasses implement :meth:`_register_all`, calling :meth:`_hook` for each place;
    ``__enter__`` registers them and removes whatever was registered if that fails;
    ``__exit__`` removes every hook, also when the ``with`` body raised.
    """

    def __init__(self) -> None:
        self._handles: list = []

    def _register_all(self) -> None:
        raise NotImplementedError

    def _hook(self, model: nn.Module, key: str, on_output: Callable | None = None,
              on_input: Callable | None = None) -> None:
        """Hook module ``key`` of ``model``: ``on_input(module, args, kwargs)`` as a
        pre-hook when ``key`` ends in ``:input``, else ``on_output(module, args, output)``."""
        if key.endswith(INPUT_SUFFIX):
            module = model.get_submodule(key[: -len(INPUT_SUFFIX)])
            self._handles.append(module.register_forward_pre_hook(on_input, with_kwargs=True))
        else:
            self._handles.append(model.get_submodule(key).register_forward_hook(on_output))

    def __enter__(self):
        try:
            self._register_all()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> bool:
        self.remove()
        return False

    def remove(self) -> None:
        """Remove every hook this object registered (idempotent)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
