"""argparse options generated from the config dataclasses, so each setting is written once.

:func:`add_config_options` adds one option per field of a config dataclass (recursing
into nested config fields, one argument group each); :func:`config_from_args` builds the
config back from the options the user actually gave, laid over a ``--config`` file and
the field defaults. What each option looks like comes from the field:

* help: the field's entry in the class's numpy ``Parameters`` section (or
  ``metadata["help"]``), ending in ``(default: ...)``;
* flag: ``--field-name`` (or ``metadata["flag"]``); a ``bool`` field is a switch:
  ``--name`` when its default is false, ``--no-name`` when true (``metadata["flag"]``
  renames it, e.g. ``progress`` -> ``--quiet``);
* type: from the annotation (``int``, ``float``, ``str``, ``X | None``; ``list[str]`` is
  written comma-separated), ``metadata["choices"]`` restricts the values;
* group: ``metadata["group"]`` on a nested config field titles its group (``model``,
  ``data``, ...); on a plain field of the top class it names the group it joins;
* ``metadata["default_text"]`` replaces the shown default; ``metadata["cli"] = False``
  keeps a field off the command line, as are ``list[SomeConfig]`` fields (``[[models]]``
  tables: only a ``--config`` file can give them).

Classes whose source we do not edit can get the same metadata through
:data:`EXTRA_METADATA` (a field's own metadata wins).

Every generated option has ``default=argparse.SUPPRESS``, so the parsed namespace holds
only what was typed: that is how flags override a ``--config`` file but not the reverse.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import typing

#: ``{config class: {field name: metadata}}`` for classes defined elsewhere.
EXTRA_METADATA: dict[type, dict[str, dict]] = {}

#: Prefix of the namespace attributes that hold config values (``cfg:probe.n_splits``).
PREFIX = "cfg:"


def docstring_params(cls) -> dict[str, str]:
    """Field descriptions from a class's numpy ``Parameters`` section, one line each, markup removed.

    ``a, b:`` entries describe several fields at once.
    """
    doc = cls.__doc__ or ""
    match = re.search(r"Parameters\n\s*-{3,}\n(.*?)(?:\n\s*\n\s*[A-Z][A-Za-z ]+\n\s*-{3,}\n|\Z)", doc, re.S)
    if not match:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(lines).split())
        text = re.sub(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`", r"\1", text).replace("``", "")
        for n in names:
            out[n] = text

    indent = None
    for line in match.group(1).splitlines():
        head = re.fullmatch(r"(\s*)([A-Za-z_][\w, ]*):\s*(.*)", line)
        if head and (indent is None or len(head.group(1)) <= indent):
            if names:
                flush()
            indent = len(head.group(1))
            names = [n.strip() for n in head.group(2).split(",")]
            lines = [head.group(3)] if head.group(3) else []
        elif names:
            lines.append(line.strip())
    if names:
        flush()
    return out


def field_metadata(cls, f: dataclasses.Field) -> dict:
    """A field's CLI metadata: :data:`EXTRA_METADATA` for its class (any base class), then its own.

    Parameters
    ----------
    cls : type
        The config dataclass.
    f : dataclasses.Field
        One of its fields.

    Returns
    -------
    dict
        Later entries win: base classes, then ``cls``, then ``f.metadata``.
    """
    meta: dict = {}
    for klass in reversed(cls.__mro__):
        meta.update(EXTRA_METADATA.get(klass, {}).get(f.name, {}))
    meta.update(f.metadata)
    return meta


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def comma_list(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (the CLI form of a ``list[str]`` field).

    Parameters
    ----------
    text : str
        Comma-separated items; blanks are dropped.

    Returns
    -------
    list of str
    """
    return [part.strip() for part in text.split(",") if part.strip()]


def _value_type(hint):
    """argparse ``type`` for a field's annotation (``None``: keep the string)."""
    from probekit.config import unwrap_optional

    hint, _ = unwrap_optional(hint)
    if typing.get_origin(hint) is list:
        return comma_list
    return hint if hint in (int, float) else None


def _is_list_of_configs(hint) -> bool:
    from probekit.config import unwrap_optional

    hint, _ = unwrap_optional(hint)
    args = typing.get_args(hint)
    return typing.get_origin(hint) is list and bool(args) and dataclasses.is_dataclass(args[0])


def _group(parser: argparse.ArgumentParser, title: str):
    for group in parser._action_groups:
        if group.title == title:
            return group
    return parser.add_argument_group(title)


def _selected(path: str, include, exclude) -> bool:
    if any(path == e or path.startswith(e + ".") for e in exclude):
        return False
    if include is None:
        return True
    return any(path == i or path.startswith(i + ".") or i.startswith(path + ".") for i in include)


def add_config_options(parser: argparse.ArgumentParser, cls, *, include=None, exclude=(), prefix: str = "",
                       group=None) -> None:
    """Add an option for every field of config dataclass ``cls`` to ``parser``.

    Parameters
    ----------
    parser:
        The (sub-)command's parser.
    cls:
        A config dataclass; fields that are dataclasses themselves become argument groups
        (title: their ``metadata["group"]`` or the field name) holding their fields' options.
    include, exclude:
        Dotted field paths (``"model"``, ``"probe.seed"``, ``"out"``) to keep (``None``: all)
        or to leave out.
    prefix, group:
        Internal: the dotted path of ``cls`` inside the top config, and its group.

    Each option's ``dest`` is ``cfg:<dotted path>`` and its default ``argparse.SUPPRESS``
    (see :func:`given_options`).
    """
    from probekit.config import field_types

    docs = docstring_params(cls)
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        path, meta, hint = prefix + f.name, field_metadata(cls, f), hints[f.name]
        if meta.get("cli") is False or not _selected(path, include, exclude):
            continue
        if _is_list_of_configs(hint):  # only a --config file can give a list of tables
            continue
        if dataclasses.is_dataclass(hint):
            sub = _group(parser, meta.get("group", f.name))
            add_config_options(parser, hint, include=include, exclude=exclude, prefix=path + ".", group=sub)
            continue
        target = group or _group(parser, meta.get("group", "options"))
        default = _default(f)
        text = meta.get("help") or docs.get(f.name) or f.name.replace("_", " ")
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        kwargs: dict = {"dest": PREFIX + path, "default": argparse.SUPPRESS}
        if hint is bool:
            if not meta.get("flag") and default is True:
                flag = "--no-" + f.name.replace("_", "-")
            text = meta.get("flag_help") or (text if default is not True else f"turn off {f.name}: {text}")
            kwargs["action"] = "store_false" if default is True else "store_true"
            shown = "off"
        else:
            kwargs["type"] = _value_type(hint)
            if meta.get("choices"):
                kwargs["choices"] = list(meta["choices"])
            else:
                kwargs["metavar"] = "A,B" if kwargs["type"] is comma_list else f.name.upper()
            shown = meta.get("default_text") or _show(default)
        kwargs["help"] = f"{text} (default: {shown})".replace("%", "%%")
        target.add_argument(flag, **kwargs)


def given_options(args: argparse.Namespace) -> dict:
    """The config values the user typed, as a nested dict (``{"probe": {"n_splits": 3}}``).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments; only the prefixed config options (those typed: their default
        is unset) are taken.

    Returns
    -------
    dict
    """
    given: dict = {}
    for key, value in vars(args).items():
        if not key.startswith(PREFIX):
            continue
        *parents, name = key[len(PREFIX):].split(".")
        node = given
        for parent in parents:
            node = node.setdefault(parent, {})
        node[name] = value
    return given


def add_config_file_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: a TOML file of settings that typed flags override.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser, modified in place.
    """
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="TOML file of settings: top-level keys (out, overwrite, ...) and sections [model] "
                             "[dataset] [extraction] [probe] with the field names of the options below; flags "
                             "given on the command line override it (default: none)")


def config_from_args(cls, args: argparse.Namespace, file: dict | None = None):
    """Build config ``cls`` from defaults, a config file and the typed flags.

    Field defaults, then ``file`` (a plain nested dict, e.g. from ``--config``; read from
    ``args.config`` when not given), then the flags the user typed.

    Parameters
    ----------
    cls : type
        The config dataclass (e.g. :class:`~probekit.config.RunConfig`).
    args : argparse.Namespace
        Parsed arguments.
    file : dict, optional
        Settings laid under the flags.

    Returns
    -------
    cls instance

    Raises
    ------
    ProbekitError
        Unknown keys or bad values in the file or the flags (see
        :func:`probekit.config.config_from_dict`), an unreadable config file.
    """
    from probekit.config import config_from_dict, merge_dicts, read_config_file

    if file is None:
        path = getattr(args, "config", None)
        file = read_config_file(path) if path else {}
    return config_from_dict(cls, merge_dicts(file, given_options(args)))
