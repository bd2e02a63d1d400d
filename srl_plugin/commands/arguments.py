"""
The arguments of `srl-export` and `srl-import`, defined once for both ways of running them: the
AllenNLP subcommands (`allennlp srl-export ...`) and the console scripts (`srl-export ...`).
No AllenNLP import here, so that a console script can say clearly when AllenNLP is missing.
"""

import argparse
from typing import Callable, NamedTuple, Tuple

from srl_plugin.hf.cli.options import add_frame_examples_argument, run_command


class Command(NamedTuple):
    help: str
    description: str
    # The positional arguments (name, help): what is read, what is written.
    source: Tuple[str, str]
    output: Tuple[str, str]


COMMANDS = {
    "srl-export": Command(
        help="Export an SRL archive to Hugging Face.",
        description="Write the Hugging Face export (config.json with id2label, model.safetensors, "
        "tokenizer files, README.md) of an SRL archive: a model.tar.gz of srl_plugin or of "
        "allennlp-models' srl_bert, or its unpacked folder. Archives are read safely: no "
        "pickled code runs and no tar member is written outside its folder.",
        source=("archive", "the model.tar.gz (or its folder)"),
        output=("output_dir", "the export folder to write"),
    ),
    "srl-import": Command(
        help="Import a Hugging Face SRL export to AllenNLP.",
        description="Write an AllenNLP model.tar.gz (an hf_srl model: config.json, weights.th, "
        "vocabulary/labels.txt and the export itself under hf_model/) from a Hugging Face "
        "export of srl_plugin. An AllenNLP SRL archive (srl_plugin's or allennlp-models' "
        "srl_bert) is also accepted: it is rewritten as an hf_srl archive, read safely.",
        source=(
            "export_dir",
            "the Hugging Face export folder, or a Hub repo id in the local cache (offline)",
        ),
        output=("output_archive", "the model.tar.gz to write"),
    ),
}


def add_arguments(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """`command SOURCE OUTPUT [--force] [source options]`; `prog` names it in errors."""
    spec = COMMANDS[command]
    for name, help in (spec.source, spec.output):
        parser.add_argument(name, type=str, help=help)
    parser.add_argument(
        "--force", action="store_true", help=f"replace {spec.output[0].upper()} if it exists"
    )
    if command == "srl-export":
        parser.add_argument(
            "--pytorch-bin",
            action="store_true",
            help="also write the weights as pytorch_model.bin (a torch pickle), for transformers "
            "versions that read no model.safetensors (4.20)",
        )
        parser.add_argument(
            "--predicate-data",
            metavar="CONLL_DATA",
            default=None,
            help="fit the predicate-identification head (on the frozen encoder) from this "
            "CoNLL-2012 file or folder, so that the export labels raw sentences; an srl_bert "
            "archive has no such head",
        )
        parser.add_argument(
            "--sense-data",
            metavar="CONLL_DATA",
            default=None,
            help="fit a sense head (on the frozen encoder, replacing any the model has) from the "
            "rolesets of this CoNLL-2012 file or folder (column 8, as in EWT PropBank), so that "
            "each frame gets its PropBank roleset; an srl_bert archive has no such head",
        )
        add_frame_examples_argument(parser)
    add_source_arguments(parser)
    parser.set_defaults(prog=parser.prog)
    return parser


def add_subparser(
    subparsers: "argparse._SubParsersAction",
    command: str,
    func: Callable[[argparse.Namespace], None],
) -> argparse.ArgumentParser:
    """`command` as a subcommand of `allennlp`, which runs `func(args)`."""
    spec = COMMANDS[command]
    subparser = subparsers.add_parser(command, description=spec.description, help=spec.help)
    add_arguments(subparser, command)

    def run(args: argparse.Namespace) -> None:
        # The console scripts' exit policy: one line on stderr and exit 2 for a bad input.
        status = run_command(args.prog, func, args)
        if status:
            raise SystemExit(status)

    subparser.set_defaults(func=run)
    return subparser


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
