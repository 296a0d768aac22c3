"""User-facing errors: the CLI prints them as one line (no traceback unless ``--debug``)."""

from __future__ import annotations


class ArtstyleError(Exception):
    """A mistake the user can fix: the message names the file or option and says what to do."""
