"""
`srl-fit-predicates EXPORT CONLL_DATA --output DIR [--heads predicate sense]`: an export with a
predicate-identification head and/or a sense head fitted on its frozen encoder
(`srl_plugin.hf.predicate_fitting`), e.g. for a converted allennlp-models `srl_bert` archive,
which has neither. Needs no AllenNLP.
"""

import argparse
import logging
import os
import sys
from typing import Any, Dict, List, Optional

from srl_plugin.hf.cli.options import (
    CommandError,
    Parser,
    add_export_argument,
    add_frame_examples_argument,
    console_main,
    positive_int,
)

PROG = "srl-fit-predicates"
logger = logging.getLogger(__name__)


def main(argv: Optional[List[str]] = None) -> int:
    """The `srl-fit-predicates` console script."""
    return console_main(_parser(), _run, argv)


def _parser() -> argparse.ArgumentParser:
    from srl_plugin.hf.predicate_fitting import HEADS

    parser = Parser(
        prog=PROG,
        description="Fit the predicate-identification head and/or the sense head (PropBank "
        "rolesets) of an srl_plugin export (e.g. a converted allennlp-models srl_bert archive, "
        "which has neither) on the frozen encoder from a CoNLL-2012 corpus, and write the "
        "export with them. Needs no AllenNLP.",
    )
    add_export_argument(parser)
    parser.add_argument("data", help="a CoNLL-2012 *gold_conll file or folder (e.g. EWT train)")
    parser.add_argument("--output", required=True, help="the export folder to write")
    parser.add_argument(
        "--heads",
        nargs="+",
        choices=HEADS,
        default=["predicate"],
        help="the heads to fit (default: predicate); sense reads the rolesets of the frameset "
        "column (8)",
    )
    parser.add_argument(
        "--dev", help="a CoNLL-2012 file or folder to report predicate F1 / sense accuracy on"
    )
    parser.add_argument(
        "--max-sentences", type=positive_int, help="fit on the first N sentences only"
    )
    add_frame_examples_argument(parser)
    parser.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--pytorch-bin", action="store_true", help="also write pytorch_model.bin")
    return parser


def _run(args: argparse.Namespace) -> None:
    from srl_plugin.hf.checkpoints.export import read_export, write_export
    from srl_plugin.hf.checkpoints.hub import resolve_model_dir
    from srl_plugin.hf.checkpoints.model_card import update_model_card
    from srl_plugin.hf.config import set_sense_head_fit, update_srl_settings
    from srl_plugin.hf.labeler import SemanticRoleLabeler
    from srl_plugin.hf.predicate_fitting import (
        data_description,
        evaluate_predicates,
        evaluate_senses,
        fit_heads_from_corpus,
    )

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if os.path.exists(args.output) and not args.force:
        raise CommandError(f"{args.output} already exists (use --force to replace it)")
    for path in filter(None, (args.data, args.dev)):
        if not os.path.exists(path):
            raise CommandError(f"{path}: no such CoNLL-2012 file or folder")
    source = resolve_model_dir(args.export)
    model, aligner = read_export(source)
    heads = list(dict.fromkeys(args.heads))
    if "predicate" in heads and model.predicate_classifier is not None:
        logger.warning("%s already has a predicate head: it is replaced", args.export)
    if "sense" in heads and model.sense_classifier is not None:
        logger.warning("%s already has a sense head: it is replaced", args.export)
    if args.frame_examples is not None and "sense" not in heads:
        raise CommandError("--frame-examples fits the sense head: give --heads sense")
    records = fit_heads_from_corpus(
        model, aligner, args.data, args.max_sentences, heads, args.frame_examples
    )
    if args.dev:
        dev_name = data_description(args.dev)
        if "predicate" in records:
            dev = evaluate_predicates(SemanticRoleLabeler(model, aligner), args.dev)
            records["predicate"].update({f"{dev_name} {k}": round(v, 4) for k, v in dev.items()})
            update_srl_settings(model.config, predicate_head_fit=records["predicate"])
            print(f"predicate identification on {args.dev}: " + _figures(dev))
        if "sense" in records:
            senses = evaluate_senses(model, aligner, args.dev)
            records["sense"].update({f"{dev_name} {k}": round(v, 4) for k, v in senses.items()})
            set_sense_head_fit(model.config, records["sense"])
            print(f"senses on {args.dev}: " + _figures(senses))
    card = update_model_card(source, model, args.pytorch_bin)
    path = write_export(model, aligner, args.output, card, args.force, args.pytorch_bin)
    for head, record in records.items():
        print(f"wrote {path}: {head} head fitted on {record['data']} ({_figures(record)})")


def _figures(values: Dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()
    )


if __name__ == "__main__":
    sys.exit(main())
