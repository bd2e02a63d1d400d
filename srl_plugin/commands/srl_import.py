"""
`allennlp srl-import EXPORT_DIR OUTPUT_ARCHIVE`: an AllenNLP `model.tar.gz` of an `hf_srl` model
from a Hugging Face export, for `allennlp predict`, `evaluate` and more fine-tuning.
"""

import argparse
import logging

from allennlp.commands.subcommand import Subcommand

from srl_plugin.archives.archive import write_archive
from srl_plugin.commands.arguments import add_subparser
from srl_plugin.commands.srl_export import convert
from srl_plugin.hf.checkpoints.hub import resolve_model_dir

logger = logging.getLogger(__name__)


@Subcommand.register("srl-import")
class SrlImport(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        return add_subparser(parser, self.name, import_from_args)


def import_from_args(args: argparse.Namespace) -> None:
    # A folder, an archive, or a Hub repo id in the local cache.
    source = resolve_model_dir(args.export_dir)
    path = convert(args, source, args.output_archive, write_archive)
    logger.info("wrote the AllenNLP archive of %s to %s", args.export_dir, path)
