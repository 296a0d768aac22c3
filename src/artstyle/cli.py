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
    ("serve", None),
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
    """Console-script entry point: runs the CLI, then exits with its status (0 on success)."""
    import artstyle.runs as runs
    from artstyle.errors import ArtstyleError

    args = list(argv if argv is not None else sys.argv[1:])
    runs.INVOCATION = args
    debug = "--debug" in args or bool(os.environ.get("ARTSTYLE_DEBUG"))
    try:
        code = _invoke(args)
    except ArtstyleError as exc:
        if debug or os.environ.get("ARTSTYLE_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except OSError as exc:  # permissions, a full disk, a missing path: the OS names the file; say it in one line
        if debug or os.environ.get("ARTSTYLE_DEBUG"):
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where} (rerun with --debug for the traceback)", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def _invoke(args: list[str]) -> int:
    """Run the click command behind the typer app; a usage error becomes one ``error:`` line and status 2.

    Typer's own handling would print a multi-line panel; artstyle's errors are one line naming the option.
    """
    import typer

    try:  # typer >= 0.20 vendors click; older typers use the click package
        from typer._click import exceptions as click_errors
    except ImportError:
        from click import exceptions as click_errors

    command = typer.main.get_command(build_app())
    try:
        result = command.main(args=args, prog_name="artstyle", standalone_mode=False)
    except getattr(click_errors, "NoArgsIsHelpError", ()) as exc:  # `artstyle classify` alone (click >= 8.2)
        print(exc.ctx.get_help() if exc.ctx else "")
        return 0
    except click_errors.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        return 2
    except (typer.Abort, getattr(click_errors, "Abort", typer.Abort)):
        raise KeyboardInterrupt from None
    except click_errors.ClickException as exc:  # e.g. a file option that cannot be opened
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2
    if result == 130:  # typer turns Ctrl-C into Exit(130)
        raise KeyboardInterrupt
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    main()
