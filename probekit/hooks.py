"""Forward hooks registered together and always removed together.

Every hook probekit puts on a model goes through :class:`HookSet` (recording, steering,
shape discovery, sequence-model read-outs), so every one is removed when its ``with``
block ends, also on errors. A leaf module (torch only), usable from every layer.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from probekit.errors import ProbekitError

INPUT_SUFFIX = ":input"
#: ``module@k`` names the ``k``-th call (0-based) of a module within one forward pass, for
#: layers applied several times (ALBERT's shared layer).
CALL_SEPARATOR = "@"


def split_key(key: str) -> tuple[str, bool, int | None]:
    """``"a.b:input@2"`` -> ``("a.b", True, 2)``: module name, input flag, call index.

    Parameters
    ----------
    key : str
        A recorder key: a module name, optional ``:input``, optional ``@k``.

    Returns
    -------
    (str, bool, int or None)
        ``call`` is ``None`` without ``@k``.

    Raises
    ------
    ProbekitError
        A call index that is not a non-negative integer.
    """
    call = None
    if CALL_SEPARATOR in key:
        key, _, index = key.rpartition(CALL_SEPARATOR)
        if not index.isdigit():
            raise ProbekitError(f"call index {index!r} in {key + CALL_SEPARATOR + index!r} must be an "
                                "integer >= 0 (module@0 is the first call)")
        call = int(index)
    is_input = key.endswith(INPUT_SUFFIX)
    return (key[: -len(INPUT_SUFFIX)] if is_input else key), is_input, call


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
        name, is_input, _ = split_key(key)
        module = model.get_submodule(name)
        if is_input:
            self._handles.append(module.register_forward_pre_hook(on_input, with_kwargs=True))
        else:
            self._handles.append(module.register_forward_hook(on_output))

    def __enter__(self):
        if self._handles:
            raise ProbekitError(f"this {type(self).__name__} is already active (its hooks are registered); "
                                "leave its `with` block before entering it again")
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


class Hooks(HookSet):
    """Plain callbacks on named modules, registered and removed as one context manager.

    Parameters
    ----------
    model : torch.nn.Module
    callbacks : dict of str to callable
        ``{module name: fn}``: ``fn(module, args, output)`` after the module runs, or, for
        a name ending in ``:input``, ``fn(module, args, kwargs)`` before it runs.

    Raises
    ------
    AttributeError
        On entering, when a name is not a submodule of ``model`` (check names first,
        e.g. with :func:`probekit.extract.recorder.module_names`).

    Examples
    --------
    >>> with Hooks(model, {"layers.0": lambda m, a, out: seen.append(out)}):  # doctest: +SKIP
    ...     model(x)
    """

    def __init__(self, model: nn.Module, callbacks: dict[str, Callable]) -> None:
        super().__init__()
        self.model = model
        self.callbacks = dict(callbacks)

    def _register_all(self) -> None:
        for key, fn in self.callbacks.items():
            self._hook(self.model, key, on_output=fn, on_input=fn)
