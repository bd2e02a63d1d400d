"""
Predicate identification and end-to-end SRL on EWT dev, from raw words, with an export alone.

The labeler gets each dev sentence's words and no predicates: its predicate head finds them, then
each found predicate is labelled. Scores, with srl-eval.pl's span counting (srl_plugin.hf.srl_eval):

- predicate P/R/F1 (`predicate-precision`, `predicate-recall`, `predicate-f1`, counted by
  `srl_plugin.hf.predicates` as the `predicate-f1` metric counts them): a predicted predicate is
  right when its word span equals a gold `V` span (the two parts of a discontinuous predicate
  are two spans);
- end-to-end SRL F1: frames of correctly found predicates are scored as usual; the arguments of
  a gold predicate that was not found are all missed; those of a predicted predicate that is not
  gold are all excess;
- SRL F1 with gold predicates, the usual figure, for reference.

Usage: python benchmarks/end_to_end_srl.py --export runs/demo/hf_model [--data DEV]

The data is EWT PropBank dev from the shipped data/ewt_propbank_srl.tar.gz unless --data names a
CoNLL-2012 dev folder or file, a conll2012 folder or a .tar.gz of one.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Sequence

# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import setup_environment, shown, split_path  # noqa: E402
from srl_plugin.hf import SemanticRoleLabeler  # noqa: E402
from srl_plugin.hf.conll import ConllSentence, read_conll2012  # noqa: E402
from srl_plugin.hf.labels import predicate_tags  # noqa: E402
from srl_plugin.hf.predicates import count_predicates  # noqa: E402
from srl_plugin.hf.srl_eval import SpanCounts, count_frame, precision_recall_f1  # noqa: E402


def score(
    sentences: Sequence[ConllSentence],
    predicted: Sequence[Dict[str, Any]],
    gold_given: Sequence[Dict[str, Any]],
) -> Dict[str, Any]:
    """
    Predicate P/R/F1 and end-to-end SRL F1 of `predicted` (the labeler's output for each
    sentence's raw words), and SRL F1 of `gold_given` (its output for the sentences with
    predicates, given the gold ones).
    """
    end_to_end, with_gold = SpanCounts(), SpanCounts()
    gold_outputs = iter(gold_given)
    for sentence, output in zip(sentences, predicted):
        words = sentence.words
        gold = dict(zip(map(tuple, sentence.frame_predicates), sentence.frames))
        guesses = {tuple(v["predicate_indices"]): v["tags"] for v in output["verbs"]}
        for predicate, tags in gold.items():
            guess = guesses.get(predicate, predicate_tags(len(words), predicate))
            end_to_end.update(count_frame(guess, tags, predicate[0], words))
        for predicate, tags in guesses.items():
            if predicate not in gold:
                end_to_end.update(
                    count_frame(tags, predicate_tags(len(words), predicate), predicate[0], words)
                )
        if sentence.frames:
            for indices, tags, verb in zip(
                sentence.frame_predicates, sentence.frames, next(gold_outputs)["verbs"]
            ):
                with_gold.update(count_frame(verb["tags"], tags, indices[0], words))

    predicates = count_predicates(
        ([v["predicate_indices"] for v in output["verbs"]] for output in predicted),
        (sentence.predicates for sentence in sentences),
    )
    return {
        "sentences": len(sentences),
        "gold_predicates": predicates.gold,
        "predicted_predicates": predicates.predicted,
        **predicates.scores(),
        "end_to_end_srl_f1": precision_recall_f1(end_to_end)["f1-measure-overall"],
        "gold_predicate_srl_f1": precision_recall_f1(with_gold)["f1-measure-overall"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True)
    parser.add_argument(
        "--data", help="default: dev of the shipped data/ewt_propbank_srl.tar.gz (see above)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    setup_environment(args.threads)

    data = split_path(args.data, "dev")
    sentences = list(read_conll2012(str(data)))
    labeler = SemanticRoleLabeler.from_pretrained(args.export, batch_size=args.batch_size)
    started = time.time()
    predicted = labeler.predict_batch([sentence.words for sentence in sentences])
    gold_given = labeler.predict_batch(
        [
            {"tokens": sentence.words, "predicates": sentence.frame_predicates}
            for sentence in sentences
            if sentence.frames
        ]
    )
    elapsed = time.time() - started

    figures = score(sentences, predicted, gold_given)
    figures["seconds"] = round(elapsed, 1)
    print(f"$ python benchmarks/end_to_end_srl.py {' '.join(sys.argv[1:])}")
    print(f"export: {shown(args.export)}\ndata: {shown(data)}")
    for name, value in figures.items():
        print(f"{name:>24}: {value:.4f}" if isinstance(value, float) else f"{name:>24}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
