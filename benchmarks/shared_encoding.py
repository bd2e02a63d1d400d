"""
Raw-text SRL with a shared encoding (`predicate_fusion_layer`) against today's model and
allennlp-models' predictor path, in one run.

Every model labels the raw words of EWT dev sentences: the predicate head finds the predicates,
then every predicate is labelled (what `SemanticRoleLabeler.predict` does with a sentence). With
fusion layer f, a sentence costs about f + (L - f) * P layer passes instead of L * (P + 1).

Trained exports (one per fusion layer, same data, budget and seed; the figures include span F1):

    python benchmarks/shared_encoding.py --export 0=runs/f0/hf_model --export 5=runs/f5/hf_model

Fused exports trained with the defaults have the pair head (`predicate_pair_head`); the table's
`head` column says which tagger each model has.

Speed only, random weights of a checkpoint's size (a random predicate head would find random
predicates, so its pass is run and its output replaced by the gold predicates):

    python benchmarks/shared_encoding.py --random-like MINILM_DIR --fusion-layers 0 3 4 5
    python benchmarks/shared_encoding.py --random-like MINILM_DIR --bert-base --fusion-layers 0 6 9 11

(fused random models get the pair head, as trained ones do by default; `--linear-head` leaves it
out.)

The last column set is allennlp-models' `SrlBert` + `SemanticRoleLabelerPredictor` path with
today's weights (fusion layer 0): it cannot find predicates without spaCy, so it gets the
predicates that our model found and pays nothing for finding them.
"""

import argparse
import functools
import json
import os
import sys
import tempfile
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from transformers import BertConfig  # noqa: E402

from benchmarks._common import (  # noqa: E402
    bert_base_config,
    fastest_interleaved,
    setup_environment,
    split_path,
)
from benchmarks.end_to_end_srl import score  # noqa: E402
from srl_plugin.hf import BertForSemanticRoleLabeling, SemanticRoleLabeler  # noqa: E402
from srl_plugin.hf.checkpoints.export import read_aligner  # noqa: E402
from srl_plugin.hf.config import (  # noqa: E402
    SrlSettings,
    set_labels,
    set_srl_settings,
    srl_settings,
)
from srl_plugin.hf.conll import read_conll2012  # noqa: E402
from srl_plugin.hf.fusion import init_predicate_marker  # noqa: E402
from srl_plugin.hf.predicates import F1  # noqa: E402


def random_labeler(
    like: str,
    fusion_layer: int,
    bert_base: bool,
    labels: Sequence[str],
    batch_size: int,
    linear_head: bool = False,
) -> SemanticRoleLabeler:
    """
    A labeler with random weights of `like`'s size (or BERT-base's) and its tokenizer; fused
    models (f > 0) get the pair head, as by default, unless `linear_head`.
    """
    config = BertConfig.from_pretrained(like)
    if bert_base:
        config = bert_base_config(config.vocab_size, labels, config.max_position_embeddings)
    set_labels(config, labels)
    settings = SrlSettings.options(
        predicate_fusion_layer=fusion_layer, predicate_pair_head=False if linear_head else None
    )
    set_srl_settings(config, settings)
    torch.manual_seed(0)
    model = BertForSemanticRoleLabeling(config)
    init_predicate_marker(model)
    return SemanticRoleLabeler(model.eval(), read_aligner(like), batch_size=batch_size)


def with_gold_predicates(labeler: SemanticRoleLabeler, gold: Dict[Tuple[str, ...], Any]) -> None:
    """Runs the predicate head's pass as usual but answers with the gold predicates."""
    find = labeler.find_predicates

    def find_gold(sentences, shared=None):
        find(sentences, shared)
        return [gold[tuple(words)] for words in sentences]

    labeler.find_predicates = find_gold  # type: ignore[assignment]


def label_raw(
    labelers: Sequence[SemanticRoleLabeler], sentences: Sequence[List[str]], repeats: int
) -> List[Tuple[float, Any]]:
    """
    Each labeler's best time of `repeats` runs over all sentences, and its results. The repeats
    go round the labelers in turn (`fastest_interleaved`), so that a slow spell of a shared
    machine falls on all of them rather than on one row.
    """
    for labeler in labelers:
        labeler.predict_batch(list(sentences[:16]))  # warm-up
    runners = {
        str(index): functools.partial(labeler.predict_batch, list(sentences))
        for index, labeler in enumerate(labelers)
    }
    device = labelers[0].device if labelers else None
    fastest, results = fastest_interleaved(runners, repeats, device)
    return [(fastest[name], results[name]) for name in runners]


def upstream_row(labeler: SemanticRoleLabeler, results, sentences, repeats: int, batch_size: int):
    """allennlp-models' predictor path on the same weights and the predicates ours found."""
    # AllenNLP only here: the rest of this file also serves benchmarks/cpu_serving.py in the
    # environments without it.
    from allennlp.data import Vocabulary

    from benchmarks.predict_throughput import build_upstream, run_upstream

    model = labeler.model
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(model.labels, "labels")
    wrapper = types.SimpleNamespace(hf_model=model, vocab=vocab, aligner=labeler.aligner)
    with tempfile.TemporaryDirectory() as folder:
        upstream, reader = build_upstream(wrapper, folder)  # type: ignore[arg-type]
        found = [
            (words, [v["predicate_indices"] for v in result["verbs"]])
            for words, result in zip(sentences, results)
        ]
        fastest, tags = fastest_interleaved(
            {"upstream": lambda: run_upstream(upstream, reader, found, batch_size)}, repeats
        )
    ours = [v["tags"] for result in results for v in result["verbs"]]
    same = sum(a == b for a, b in zip(ours, tags["upstream"]))
    return fastest["upstream"], same, len(tags["upstream"])


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", action="append", default=[], help="FUSION_LAYER=EXPORT_DIR")
    parser.add_argument("--random-like", help="a checkpoint whose size and tokenizer to use")
    parser.add_argument("--bert-base", action="store_true", help="BERT-base sizes (random)")
    parser.add_argument("--fusion-layers", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--linear-head", action="store_true", help="random fused models without the pair head"
    )
    parser.add_argument("--data", help="default: dev of the shipped data/ewt_propbank_srl.tar.gz")
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-upstream", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    setup_environment(args.threads)

    dev = list(read_conll2012(str(split_path(args.data, "dev"))))[: args.max_sentences]
    sentences = [sentence.words for sentence in dev]
    gold = {tuple(sentence.words): sentence.frame_predicates for sentence in dev}
    labels = None
    runs: List[Tuple[int, SemanticRoleLabeler]] = []
    for spec in args.export:
        layer, path = spec.split("=", 1)
        runs.append(
            (int(layer), SemanticRoleLabeler.from_pretrained(path, batch_size=args.batch_size))
        )
    if args.random_like:
        labels = ["O", "B-V", "I-V"] + [f"{b}-ARG{i}" for i in range(6) for b in "BI"]
        for layer in args.fusion_layers:
            labeler = random_labeler(
                args.random_like, layer, args.bert_base, labels, args.batch_size, args.linear_head
            )
            with_gold_predicates(labeler, gold)
            runs.append((layer, labeler))
    runs.sort(key=lambda run: run[0])

    print(
        f"$ python {' '.join(sys.argv if argv is None else ['benchmarks/shared_encoding.py', *argv])}"
    )
    print(f"{len(sentences)} EWT dev sentences, raw words; torch threads {torch.get_num_threads()}")
    header = (
        "  k  f  head    predicates  seconds  predicates/s  vs f=0  end-to-end F1  gold-pred F1"
        "  pred F1"
    )
    print(header)
    rows = []
    baseline_rate = None
    timed = label_raw([labeler for _, labeler in runs], sentences, args.repeats)
    for (layer, labeler), (seconds, results) in zip(runs, timed):
        count = sum(len(r["verbs"]) for r in results)
        rate = count / seconds
        pair_head = srl_settings(labeler.model.config).predicate_pair_head
        # Today's model: the first with fusion layer 0 and the linear tagger (SrlBert's).
        is_today = layer == 0 and not pair_head and baseline_rate is None
        baseline_rate = rate if is_today else baseline_rate
        row: Dict[str, Any] = {
            "fusion_layer": layer,
            "tag_head": "pair" if pair_head else "linear",
            "per_predicate_layers": labeler.model.config.num_hidden_layers - layer,
            "predicates": count,
            "seconds": seconds,
            "predicates_per_s": rate,
        }
        if not args.random_like:
            gold_given = labeler.predict_batch(
                [{"tokens": s.words, "predicates": s.frame_predicates} for s in dev if s.frames]
            )
            row.update(score(dev, results, gold_given))
        if is_today and not args.no_upstream:
            up_seconds, same, total = upstream_row(
                labeler, results, sentences, args.repeats, args.batch_size
            )
            row["upstream_predicates_per_s"] = total / up_seconds
            row["upstream_identical_tags"] = f"{same}/{total}"
        rows.append(row)
        ratio = rate / baseline_rate if baseline_rate else float("nan")
        print(
            f"{row['per_predicate_layers']:3d} {layer:2d}  {row['tag_head']:6s} {count:11d}"
            f" {seconds:8.1f} {rate:13.1f}"
            f" {ratio:6.2f}x {row.get('end_to_end_srl_f1', float('nan')):14.4f}"
            f" {row.get('gold_predicate_srl_f1', float('nan')):13.4f}"
            f" {row.get(F1, float('nan')):8.4f}",
            flush=True,
        )
    for row in rows:
        if "upstream_predicates_per_s" in row:
            up = row["upstream_predicates_per_s"]
            print(
                f"allennlp-models' predictor path (f=0 weights, the predicates found above, no "
                f"spaCy): {up:.1f} predicates/s, identical tags {row['upstream_identical_tags']}; "
                + ", ".join(
                    f"k={r['per_predicate_layers']}: {r['predicates_per_s'] / up:.2f}x"
                    for r in rows
                )
            )
    if args.json:
        with open(args.json, "w") as json_file:
            json.dump(rows, json_file, indent=2)


if __name__ == "__main__":
    main()
