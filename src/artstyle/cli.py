"""The ``artstyle`` command line: a thin typer layer over the stage functions.

Usage: ``artstyle --help``; ``artstyle data stats``; ``artstyle classify train --epochs 5``.

User mistakes (``ArtstyleError``) print one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

# (sub-app module under artstyle.commands, command name)
_GROUPS = [
    ("data", "data"),
    ("classify", "classify"),
    ("embed", "embed"),
    ("cluster", "cluster"),
    ("stylize", "stylize"),
    ("lora", "lora"),
    ("pipeline", None),
]


def build_app() -> typer.Typer:
    """Assemble the CLI from the stage sub-apps that are available."""
    app = typer.Typer(
        help="artstyle: model paintings by art style. Train a from-scratch style classifier, autoencode and "
             "cluster paintings, re-render images in other styles, LoRA-fine-tune a text-to-image model, and "
             "report it all. --data defaults to 'builtin', a synthetic painted stand-in for WikiArt.",
        no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
              threads: int = typer.Option(0, "--threads", help="CPU threads for torch (0 = torch's default). "
                                          "Set it when other processes share the machine.")) -> None:
        if debug:
            os.environ["ARTSTYLE_DEBUG"] = "1"
        if threads:
            os.environ["ARTSTYLE_THREADS"] = str(threads)

    for module, name in _GROUPS:
        try:
            mod = importlib.import_module(f"artstyle.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"artstyle.commands.{module}":
                continue  # stage not installed in this build
            raise
        if name is None:
            mod.register(app)
        else:
            app.add_typer(mod.app, name=name)
    return app


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    import artstyle.runs as runs
    from artstyle.errors import ArtstyleError

    runs.INVOCATION = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        build_app()(args=argv, standalone_mode=True)
    except ArtstyleError as exc:
        if debug or os.environ.get("ARTSTYLE_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # permissions, a full disk, a missing path: the OS names the file; say it in one line
        if debug or os.environ.get("ARTSTYLE_DEBUG"):
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where} (rerun with --debug for the traceback)", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
