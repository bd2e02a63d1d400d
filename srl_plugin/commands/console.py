"""
The console scripts `srl-export` and `srl-import` (setup.cfg's entry points): the AllenNLP
subcommands' arguments and behaviour, from any folder. `allennlp srl-export` works only where
AllenNLP finds the plugin before parsing (a `.allennlp_plugins` file); these always do.

`python -m srl_plugin.commands.console srl-export ARGS` runs them without installing the scripts.
"""

import argparse
import logging
import sys
from typing import List, Optional

from srl_plugin.commands.arguments import COMMANDS, add_arguments
from srl_plugin.hf.cli.options import CommandError, Parser, argv_or_command_line, run_command


def run(command: str, argv: Optional[List[str]] = None) -> int:
    """
    Parses `argv` (default: the command line) as `command` does, and runs it under the console
    scripts' exit policy (`srl_plugin.hf.cli.options`): a bad input is one line and exit 2.
    """
    parser = Parser(prog=command, description=COMMANDS[command].description)
    args = add_arguments(parser, command).parse_args(argv_or_command_line(argv))
    return run_command(command, _run, command, args)


def _run(command: str, args: argparse.Namespace) -> None:
    try:
        import allennlp  # noqa: F401
    except ImportError:
        raise CommandError(
            "AllenNLP is not installed; archives are AllenNLP's format, so this command needs "
            "the AllenNLP side: pip install 'srl_plugin[allennlp]'"
        ) from None
    # AllenNLP is there: so are the commands (imported here, as they import AllenNLP).
    from srl_plugin.commands import srl_export, srl_import

    logging.basicConfig(format="%(levelname)s %(name)s - %(message)s", level=logging.INFO)
    if command == "srl-export":
        srl_export.export_from_args(args)
    else:
        srl_import.import_from_args(args)


def export_script() -> int:
    """The `srl-export` console script."""
    return run("srl-export")


def import_script() -> int:
    """The `srl-import` console script."""
    return run("srl-import")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m {__spec__.name} {{{','.join(COMMANDS)}}} ARGS", file=sys.stderr)
        sys.exit(2)
    sys.exit(run(sys.argv[1], sys.argv[2:]))
