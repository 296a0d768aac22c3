"""Config dataclasses: one per stage, a one-line help per field, loaded from TOML plus overrides.

Usage::

    @dataclass
    class TrainConfig:
        data: str = opt("builtin", "Dataset: image folder, hf:<id>, parquet/HF dir, or 'builtin'.")
        epochs: int = opt(10, "Training epochs.")

    cfg = load_config(TrainConfig, toml="cfg.toml", overrides={"epochs": 3})
    typer_command(app, "train", TrainConfig, train_fn)   # CLI options generated from the fields

The CLI is generated from the dataclass, so a field's help text is written once and shows in ``--help``,
the TOML file and ``config.json`` alike.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, TypeVar

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from artstyle.errors import ArtstyleError

T = TypeVar("T")


def opt(default: Any, help: str, *, choices: tuple[str, ...] | None = None, cli: bool = True,
        positional: bool = False) -> Any:
    """A dataclass field with help text (and optional allowed ``choices``) for the generated CLI."""
    meta = {"help": help, "choices": choices, "cli": cli, "positional": positional}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def field_help(cls: type, name: str) -> str:
    """The help text of one field."""
    return next(f.metadata.get("help", "") for f in fields(cls) if f.name == name)


def _check_choices(cfg: Any) -> None:
    for f in fields(cfg):
        choices = f.metadata.get("choices")
        value = getattr(cfg, f.name)
        if choices and value is not None and value not in choices:
            flag = "--" + f.name.replace("_", "-")
            raise ArtstyleError(f"{flag} {value!r} is not one of: {', '.join(choices)}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed ``--config`` file; a missing or malformed one is a clear error naming it."""
    path = Path(path)
    if not path.is_file():
        raise ArtstyleError(f"--config {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ArtstyleError(f"--config {path} is not valid TOML: {exc}") from None


def load_config(cls: type[T], toml: str | Path | None = None, overrides: dict[str, Any] | None = None,
                section: str | None = None) -> T:
    """Build ``cls`` from defaults, then a TOML file (optionally one ``[section]``), then ``overrides``.

    Unknown keys are an error that names them, so a typo in a TOML file never passes silently.
    """
    values: dict[str, Any] = {}
    if toml:
        path = Path(toml)
        data = read_toml(path)
        if section:
            data = data.get(section, {})
        values.update(data)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ArtstyleError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    cfg = cls(**values)
    _check_choices(cfg)
    return cfg


def config_dict(cfg: Any) -> dict[str, Any]:
    """The resolved config as a JSON-able dict (Paths become strings)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}


def _cli_type(tp: Any) -> Any:
    """Typer understands plain types; strip Optional[...] and map lists to comma-separated strings."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _cli_type(args[0])
    if origin in (list, tuple):
        return str
    return tp


def typer_command(app: Any, name: str, cls: type, run: Callable[[Any], Any], help: str,
                  extra: dict[str, tuple[Any, Any]] | None = None) -> None:
    """Register ``name`` on the typer ``app`` with one option per config field, plus ``--config``.

    ``run(cfg, **extra_values)`` is called with the resolved config. ``extra`` adds parameters that
    are not config fields: ``{"param": (annotation, typer.Option(...))}``.
    """
    import typer

    hints = typing.get_type_hints(cls)
    params = []
    for f in fields(cls):
        if not f.metadata.get("cli", True):
            continue
        tp = _cli_type(hints[f.name])
        help_text = f.metadata.get("help", "")
        if f.metadata.get("choices"):
            help_text += f" (one of: {', '.join(f.metadata['choices'])})"
        if f.metadata.get("positional"):
            default = typer.Argument(..., help=help_text, show_default=False, metavar=f.name.upper())
        else:
            flag = "--" + f.name.replace("_", "-")
            decls = [flag] if tp is not bool else [f"{flag}/--no-{f.name.replace('_', '-')}"]
            default = typer.Option(None, *decls, help=help_text + _default_hint(f), show_default=False)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=typing.Optional[tp]))
    for pname, (ann, default) in (extra or {}).items():
        params.append(inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann))
    params.append(inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=typing.Optional[Path],
                                    default=typer.Option(None, "--config", help="TOML file with any of these settings; flags override it.")))
    field_names = {f.name for f in fields(cls)}
    list_fields = {f.name for f in fields(cls) if typing.get_origin(hints[f.name]) in (list, tuple)}

    def command(**kwargs: Any) -> Any:
        toml = kwargs.pop("config", None)
        overrides = {k: v for k, v in kwargs.items() if k in field_names}
        for k in list_fields:
            if isinstance(overrides.get(k), str):
                overrides[k] = [s.strip() for s in overrides[k].split(",") if s.strip()]
        extras = {k: v for k, v in kwargs.items() if k not in field_names}
        cfg = load_config(cls, toml, overrides)
        return run(cfg, **extras)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = help
    command.__name__ = name.replace("-", "_")
    app.command(name, help=help)(command)


def command_line(command: str, cfg: Any, extra: dict[str, Any] | None = None,
                 skip: tuple[str, ...] = ("out", "resume")) -> str:
    """The CLI line that reproduces ``cfg``: ``command`` plus a flag for every field that differs from its default.

    ``command`` is e.g. ``"artstyle classify train"``; fields with ``cli=False`` and those in ``skip`` (by default
    the output folder and ``--resume``: a rerun makes a new run) are left out, positional fields come first,
    lists are comma-joined and booleans become ``--x``/``--no-x``. ``extra`` adds options that are not config
    fields, in the order given (``None`` values are left out).
    """
    import shlex

    words, flags = [command], []
    for f in fields(cfg):
        if not f.metadata.get("cli", True) or f.name in skip:
            continue
        value = getattr(cfg, f.name)
        if f.metadata.get("positional"):
            words.append(shlex.quote(str(value)))
            continue
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        if value == default or value is None:
            continue
        flags += _flag(f.name, value)
    for name, value in (extra or {}).items():
        if value is not None:
            flags += _flag(name, value)
    return " ".join(words + flags)


def _flag(name: str, value: Any) -> list[str]:
    import shlex

    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag if value else f"--no-{name.replace('_', '-')}"]
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    return [flag, shlex.quote(str(value))]


def _default_hint(f: dataclasses.Field) -> str:
    if f.default is not MISSING:
        return f" (default: {f.default})" if f.default not in (None, "") else ""
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f" (default: {','.join(map(str, f.default_factory()))})"  # type: ignore[misc]
    return ""


__all__ = ["opt", "load_config", "config_dict", "typer_command", "field_help", "command_line", "dataclass"]
