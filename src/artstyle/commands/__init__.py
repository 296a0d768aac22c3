"""Typer sub-apps, one per stage. They only parse arguments and call the stage functions."""
