"""
`allennlp srl-import EXPORT_DIR OUTPUT_ARCHIVE`: an AllenNLP `model.tar.gz` of an `hf_srl` model
from a Hugging Face export, for `allennlp predict`, `evaluate` and more fine-tuning.
"""

import argparse
import logging

from allennlp.commands.subcommand import Subcommand

from srl_plugin.archival import write_archive
from srl_plugin.commands.srl_export import add_source_arguments, convert, fail
from srl_plugin.hf.hub import resolve_model_dir

logger = logging.getLogger(__name__)


@Subcommand.register("srl-import")
class SrlImport(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Write an AllenNLP model.tar.gz (an hf_srl model: config.json, weights.th, "
            "vocabulary/labels.txt and the export itself under hf_model/) from a Hugging Face "
            "export of srl_plugin. An AllenNLP SRL archive (srl_plugin's or allennlp-models' "
            "srl_bert) is also accepted: it is rewritten as an hf_srl archive, read safely."
        )
        subparser = parser.add_parser(
            self.name, description=description, help="Import a Hugging Face SRL export to AllenNLP."
        )
        subparser.add_argument(
            "export_dir",
            type=str,
            help="the Hugging Face export folder, or a Hub repo id in the local cache (offline)",
        )
        subparser.add_argument("output_archive", type=str, help="the model.tar.gz to write")
        subparser.add_argument(
            "--force", action="store_true", help="replace OUTPUT_ARCHIVE if it exists"
        )
        add_source_arguments(subparser)
        subparser.set_defaults(func=import_from_args)
        return subparser


def import_from_args(args: argparse.Namespace) -> None:
    try:  # a folder, an archive, or a Hub repo id in the local cache
        source = resolve_model_dir(args.export_dir)
    except FileNotFoundError as error:
        raise fail("srl-import", error) from None
    path = convert("srl-import", args, source, args.output_archive, write_archive)
    logger.info("wrote the AllenNLP archive of %s to %s", args.export_dir, path)
