"""
Predicate identification on EWT dev: a predicate head fitted afterwards on the frozen encoder
(`srl_plugin.hf.predicate_fitting`, what `srl-export --predicate-data` and `srl-fit-predicates` do)
next to the head trained jointly with SRL.

Rows (each scored with exact-match predicate P/R/F1 on the dev sentences, raw words only):

- `joint`: the export's own predicate head, trained with SRL (the demo's export);
- `refit`: the same export with its head removed, a head fitted on EWT train;
- `srl_bert`: an allennlp-models `srl_bert` archive (no head) converted, a head fitted on EWT
  train (needs the AllenNLP environment; `--archive`).

Usage: python benchmarks/predicate_head_fit.py --export runs/demo/hf_model \
    [--archive runs/srl_bert/model.tar.gz] [--data runs/data/conll2012]

The data is EWT PropBank from the shipped data/ewt_propbank_srl.tar.gz unless --data names a
conll2012 folder (with train/ and dev/) or a .tar.gz of one.
"""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import setup_environment, split_path  # noqa: E402
from srl_plugin.hf import SemanticRoleLabeler, read_export  # noqa: E402
from srl_plugin.hf.config import update_srl_settings  # noqa: E402
from srl_plugin.hf.predicate_fitting import evaluate_predicates, fit_from_corpus  # noqa: E402
from srl_plugin.hf.predicates import F1, PRECISION, RECALL  # noqa: E402


def score(model: Any, aligner: Any, dev: str, batch_size: int) -> Dict[str, float]:
    started = time.time()
    figures = evaluate_predicates(SemanticRoleLabeler(model, aligner, batch_size=batch_size), dev)
    figures["eval_seconds"] = round(time.time() - started, 1)
    return figures


def fitted(model: Any, aligner: Any, args: argparse.Namespace) -> Dict[str, Any]:
    started = time.time()
    record = fit_from_corpus(
        model, aligner, args.train, args.max_train_sentences, batch_size=args.batch_size
    )
    seconds = round(time.time() - started, 1)
    return {**score(model, aligner, args.dev, args.batch_size), "fit_seconds": seconds, **record}


def run(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    rows: Dict[str, Dict[str, Any]] = {}
    if args.export:
        model, aligner = read_export(args.export)
        if model.predicate_classifier is None:
            sys.exit(f"{args.export} has no predicate head to compare with")
        rows["joint"] = score(model, aligner, args.dev, args.batch_size)
        print("joint:", rows["joint"], flush=True)
        model.predicate_classifier = None
        update_srl_settings(model.config, predicate_head=False)
        rows["refit"] = fitted(model, aligner, args)
        print("refit:", rows["refit"], flush=True)
    if args.archive:
        from srl_plugin.archives.archive import read_srl_checkpoint

        checkpoint = read_srl_checkpoint(args.archive, args.tokenizer, args.bert_config)
        if checkpoint.model.predicate_classifier is not None:
            sys.exit(f"{args.archive} already has a predicate head")
        rows["srl_bert"] = fitted(checkpoint.model, checkpoint.aligner, args)
        print("srl_bert:", rows["srl_bert"], flush=True)
    return rows


def render(rows: Dict[str, Dict[str, Any]]) -> str:
    names = {
        "joint": "jointly trained head (the export's own)",
        "refit": "fitted head, same encoder (own head removed)",
        "srl_bert": "fitted head, converted srl_bert archive",
    }
    lines = [
        "| predicate head | P | R | F1 | fit (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, row in rows.items():
        fit = f"{row['fit_seconds']:.0f}" if "fit_seconds" in row else "-"
        lines.append(
            f"| {names[key]} | {row[PRECISION]:.3f} | {row[RECALL]:.3f} "
            f"| **{row[F1]:.3f}** | {fit} |"
        )
    return "\n".join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", help="an export with a jointly trained head (the demo's)")
    parser.add_argument("--archive", help="an allennlp-models srl_bert model.tar.gz")
    parser.add_argument("--tokenizer", help="srl-export --tokenizer, for --archive")
    parser.add_argument("--bert-config", help="srl-export --bert-config, for --archive")
    parser.add_argument(
        "--data",
        help="a conll2012 folder with train/ and dev/, or a .tar.gz of one (default: the "
        "shipped data/ewt_propbank_srl.tar.gz)",
    )
    parser.add_argument("--max-train-sentences", type=int, help="fit on the first N only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    if not (args.export or args.archive):
        parser.error("give --export, --archive or both")
    args.train = str(split_path(args.data, "train"))
    args.dev = str(split_path(args.data, "dev"))
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    args = parse_args(argv)
    setup_environment(args.threads)
    print("$ python " + " ".join(shlex.quote(a) for a in sys.argv), flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    rows = run(args)
    print(render(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
