"""Write docs/cli.md from the Typer app itself, so the reference cannot drift from the code.

Run: python tools/gen_cli_docs.py  (tests/unit/test_docs.py fails when the file is stale)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer.main

from chartkeeper.cli.main import app

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        path = [*prefix, name]
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


def render() -> str:
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the code by `tools/gen_cli_docs.py`; do not edit by hand.",
        "",
        "Global option: `--db URL` (or `CHARTKEEPER_DATABASE_URL`; default `sqlite:///chartkeeper.db`).",
        "",
    ]
    for path, command in _commands(root, ["chartkeeper"]):
        lines.append(f"## `{' '.join(path)}`")
        lines.append("")
        lines.append((command.help or "").strip())
        lines.append("")
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines.append("| argument / option | help |")
            lines.append("| --- | --- |")
            for param in params:
                if isinstance(param, click.Option):
                    name = ", ".join(f"`{o}`" for o in param.opts)
                    help_text = param.help or ""
                    if not param.is_flag and param.default not in (None, False):
                        help_text += f" (default: {param.default})"
                else:
                    name = f"`{(param.metavar or param.name or '').upper()}`"
                    help_text = getattr(param, "help", "") or ""
                lines.append(f"| {name} | {help_text} |")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")
