"""
`allennlp srl-export ARCHIVE OUTPUT_DIR`: the Hugging Face export of an SRL archive (this plugin's
or allennlp-models' `srl_bert`), the same folder that the `hf_export` training callback writes.
"""

import argparse
import logging
import os
from typing import Any, Callable

from allennlp.commands.subcommand import Subcommand

from srl_plugin.archival import read_srl_checkpoint, write_export
from srl_plugin.hf.predicate_head import fit_from_corpus
from srl_plugin.hf.weights import CheckpointError

logger = logging.getLogger(__name__)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The options for reading allennlp-models archives that hold no tokenizer or BERT config."""
    parser.add_argument(
        "--tokenizer",
        type=str,
        default=None,
        help="a folder with the WordPiece vocabulary (vocab.txt) of an srl_bert archive's BERT, "
        "when its bert_model_name is not a local folder (allennlp-models archives hold no "
        "vocabulary)",
    )
    parser.add_argument(
        "--bert-config",
        type=str,
        default=None,
        help="the BERT config.json (or its folder) of an srl_bert archive whose bert_model is a "
        "name; without it, the Hugging Face cache, else sizes inferred from the weights with "
        "64-wide attention heads",
    )
    case = parser.add_mutually_exclusive_group()
    case.add_argument(
        "--lowercase",
        dest="lowercase",
        action="store_const",
        const=True,
        default=None,
        help="lowercase words before WordPiece (default for srl_bert archives: as allennlp-models' "
        'reader did, when its bert_model_name contains "uncased")',
    )
    case.add_argument(
        "--no-lowercase",
        dest="lowercase",
        action="store_const",
        const=False,
        help="do not lowercase",
    )


def fail(command: str, error: Exception) -> SystemExit:
    """A one-line error and exit status 1, instead of a traceback, for errors a user can act on."""
    return SystemExit(f"allennlp {command}: error: {error}")


@Subcommand.register("srl-export")
class SrlExport(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Write the Hugging Face export (config.json with id2label, model.safetensors, "
            "tokenizer files, README.md) of an SRL archive: a model.tar.gz of srl_plugin or of "
            "allennlp-models' srl_bert, or its unpacked folder. Archives are read safely: no "
            "pickled code runs and no tar member is written outside its folder."
        )
        subparser = parser.add_parser(
            self.name, description=description, help="Export an SRL archive to Hugging Face."
        )
        subparser.add_argument("archive", type=str, help="the model.tar.gz (or its folder)")
        subparser.add_argument("output_dir", type=str, help="the export folder to write")
        subparser.add_argument(
            "--force", action="store_true", help="replace OUTPUT_DIR if it exists"
        )
        subparser.add_argument(
            "--pytorch-bin",
            action="store_true",
            help="also write the weights as pytorch_model.bin (a torch pickle), for transformers "
            "versions that read no model.safetensors (4.20)",
        )
        subparser.add_argument(
            "--predicate-data",
            metavar="CONLL_DATA",
            default=None,
            help="fit the predicate-identification head (on the frozen encoder) from this "
            "CoNLL-2012 file or folder, so that the export labels raw sentences; an srl_bert "
            "archive has no such head",
        )
        add_source_arguments(subparser)
        subparser.set_defaults(func=export_from_args)
        return subparser


def convert(
    command: str, args: argparse.Namespace, source: str, output: str, writer: Callable[..., str]
) -> str:
    """
    Reads `source` (any SRL archive or export) and writes it to `output` with `writer`, refusing
    an existing output without `--force` before reading anything; user errors exit in one line.
    """
    if os.path.exists(output) and not args.force:
        raise fail(command, FileExistsError(f"{output} already exists (use --force to replace it)"))
    try:
        checkpoint = read_srl_checkpoint(source, args.tokenizer, args.bert_config, args.lowercase)
        return writer(checkpoint, output, overwrite=args.force)
    except (CheckpointError, FileExistsError, FileNotFoundError) as error:
        raise fail(command, error) from None


def export_from_args(args: argparse.Namespace) -> None:
    def writer(checkpoint: Any, output: str, overwrite: bool) -> str:
        if args.predicate_data:
            try:
                fit_from_corpus(checkpoint.model, checkpoint.aligner, args.predicate_data)
            except ValueError as error:
                raise fail("srl-export", error) from None
        return write_export(checkpoint, output, overwrite=overwrite, pytorch_bin=args.pytorch_bin)

    path = convert("srl-export", args, args.archive, args.output_dir, writer)
    logger.info("wrote the Hugging Face export of %s to %s", args.archive, path)
