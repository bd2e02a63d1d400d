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


def run(command: str, argv: Optional[List[str]] = None) -> None:
    """Parses `argv` (default: the command line) as `command` does, and runs it."""
    parser = argparse.ArgumentParser(prog=command, description=COMMANDS[command].description)
    args = add_arguments(parser, command).parse_args(argv)
    try:
        import allennlp  # noqa: F401
    except ImportError:
        raise SystemExit(
            f"{command}: error: AllenNLP is not installed; archives are AllenNLP's format, so "
            "this command needs the AllenNLP side: pip install 'srl_plugin[allennlp]'"
        ) from None
    # AllenNLP is there: so are the commands (imported here, as they import AllenNLP).
    from srl_plugin.commands import srl_export, srl_import

    logging.basicConfig(format="%(levelname)s %(name)s - %(message)s", level=logging.INFO)
    if command == "srl-export":
        srl_export.export_from_args(args)
    else:
        srl_import.import_from_args(args)


def export_script() -> None:
    """The `srl-export` console script."""
    run("srl-export")


def import_script() -> None:
    """The `srl-import` console script."""
    run("srl-import")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        raise SystemExit(f"usage: python -m {__spec__.name} {{{','.join(COMMANDS)}}} ARGS")
    run(sys.argv[1], sys.argv[2:])
