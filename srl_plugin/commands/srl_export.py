"""
`allennlp srl-export ARCHIVE OUTPUT_DIR`: the Hugging Face export of an SRL archive (this plugin's
or allennlp-models' `srl_bert`), the same folder that the `hf_export` training callback writes.
"""

import argparse
import logging
import os
from typing import Any, Callable, Dict, List

from allennlp.commands.subcommand import Subcommand

from srl_plugin.archives.archive import read_srl_checkpoint, export_checkpoint
from srl_plugin.commands.arguments import add_subparser
from srl_plugin.hf.cli.options import CommandError
from srl_plugin.hf.predicate_fitting import fit_heads_from_corpus

logger = logging.getLogger(__name__)


@Subcommand.register("srl-export")
class SrlExport(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        return add_subparser(parser, self.name, export_from_args)


def convert(args: argparse.Namespace, source: str, output: str, writer: Callable[..., str]) -> str:
    """
    Reads `source` (any SRL archive or export) and writes it to `output` with `writer`, refusing
    an existing output without `--force` before reading anything. A bad archive, export or
    output (`CheckpointError`, `OSError`) is reported by the exit policy the command runs under
    (`srl_plugin.hf.cli.options`): one line that starts with `args.prog`, exit 2.
    """
    if os.path.exists(output) and not args.force:
        raise CommandError(f"{output} already exists (use --force to replace it)")
    checkpoint = read_srl_checkpoint(source, args.tokenizer, args.bert_config, args.lowercase)
    return writer(checkpoint, output, overwrite=args.force)


def export_from_args(args: argparse.Namespace) -> None:
    if args.frame_examples is not None and not args.sense_data:
        raise CommandError("--frame-examples fits the sense head: give --sense-data")

    def writer(checkpoint: Any, output: str, overwrite: bool) -> str:
        # The heads to fit, by corpus: one reading of a corpus given for both.
        corpora: Dict[str, List[str]] = {}
        for head, corpus in (("predicate", args.predicate_data), ("sense", args.sense_data)):
            if corpus:
                corpora.setdefault(corpus, []).append(head)
        for corpus, heads in corpora.items():
            fit_heads_from_corpus(
                checkpoint.model,
                checkpoint.aligner,
                corpus,
                heads=heads,
                frame_examples=args.frame_examples,
            )
        return export_checkpoint(
            checkpoint, output, overwrite=overwrite, pytorch_bin=args.pytorch_bin
        )

    path = convert(args, args.archive, args.output_dir, writer)
    logger.info("wrote the Hugging Face export of %s to %s", args.archive, path)
