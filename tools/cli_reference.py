"""Write the command reference in README.md from `samtale --help`, so the two never drift.

python tools/cli_reference.py          # rewrite the reference section of README.md
python tools/cli_reference.py --check  # exit 1 when README.md is out of date
"""

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def help_text(args: list[str]) -> str:
    """Return the --help output of ``samtale ARGS`` at a fixed terminal width."""
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="samtale", terminal_width=100)
    return result.output.rstrip() + "\n"


def reference() -> str:
    """Return the markdown reference of every command."""
    parts = [START, "", "```text", help_text([]), "```"]
    for name in cli.commands:
        parts += ["", f"### `samtale {name}`", "", "```text", help_text([name]), "```"]
    return "\n".join(parts + ["", END])


def updated(readme: str) -> str:
    """Return README text with the reference section replaced."""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    return pattern.sub(lambda _: reference(), readme)


def main() -> int:
    """Rewrite or check README.md; return the exit status."""
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md's command reference is out of date: run tools/cli_reference.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
