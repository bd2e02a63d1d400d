"""
Predicate senses (issue 17): an export's sense accuracy on gold predicates against the
most-frequent-sense baseline, and what senses cost in raw-text labelling, in one run.

1. Sense accuracy on the gold predicates of EWT dev and test (each frame's gold roleset, CoNLL-2012
   column 8; frames without one, `-`, are skipped and counted). The export scores every gold frame
   once (`SemanticRoleLabeler.score_frames`, its `sense_logits`), and `SenseDecoder.decode` reads
   the scores three ways:

   - design B, our lemmatizer: the best of the rolesets of the lemma that
     `srl_plugin.hf.senses.predicate_lemma` gives the predicate's words (what raw text gets);
   - design B, gold lemma: the same with the lemma column (7) as the lemma;
   - design A: the best of all the head's rolesets (no lemma).

   Against the most-frequent-sense baseline (each lemma's most frequent roleset in train, ties
   to the smaller id; a lemma unseen in train gets `lemma.01`): by the gold lemma (as issue 17
   defines it), and like for like with raw text, by our lemmatizer's lemma in train and in the
   evaluated split alike; and `lemma.01` (gold lemma). Each overall and on the predicates whose
   gold lemma is ambiguous (several rolesets in train).
2. Raw-text labelling speed: predicates/s of `SemanticRoleLabeler.predict_batch` on the raw
   words of EWT dev (the predicate head finds the predicates), with senses (decoded, named, the
   roles described) and with `senses=False` (the head's scores computed but not decoded), the same
   export, fastest of `--repeats` runs taken in turn (`_common.fastest_interleaved`), each run
   with the lemmatizer's cache empty; `--export-without` adds an export trained without the
   sense head as a third row.

Usage (the modern environment; one torch thread by default):

    .venv-hf5/bin/python benchmarks/senses.py --export runs/demo-senses/hf_model \\
        [--export-without runs/demo/hf_model] [--repeats 3] [--threads 1] [--max-sentences N]

The data is the shipped EWT PropBank unless `--data` names a conll2012 folder or a .tar.gz of one.
"""

import argparse
import functools
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (  # noqa: E402
    environment_info,
    setup_environment,
    shown,
    split_path,
)
from srl_plugin.hf.conll import ConllSentence, read_conll2012  # noqa: E402
from srl_plugin.hf.rolesets import fallback_roleset  # noqa: E402

# Gold frames scored per `score_frames` call: enough for sorting by length to remove most
# padding, few enough to keep memory flat.
CHUNK_FRAMES = 2048


@dataclass
class GoldFrame:
    """A gold predicate with its roleset: the sentence's words, its word indices, its words
    joined by spaces (what `SenseDecoder.decode` lemmatizes), the lemma column (lowercased)."""

    words: List[str]
    predicate: List[int]
    text: str
    roleset: str
    lemma: str


def gold_frames(sentences: Iterable[ConllSentence]) -> Tuple[List[GoldFrame], int]:
    """
    The frames of `sentences` (read with `keep_lines`) that have a roleset, and how many frames
    were skipped (no roleset: column 8 is `-` on every `V` word).
    """
    frames: List[GoldFrame] = []
    skipped = 0
    for sentence in sentences:
        for predicate, roleset, lemma in zip(
            sentence.frame_predicates, sentence.frame_rolesets, sentence.frame_lemmas
        ):
            if not roleset or roleset == "-" or not predicate:
                skipped += 1
                continue
            text = " ".join(sentence.words[i] for i in predicate)
            # A lemma column of `-` beside a roleset: the roleset's own lemma.
            gold_lemma = lemma if lemma and lemma != "-" else roleset.rsplit(".", 1)[0]
            frames.append(GoldFrame(sentence.words, predicate, text, roleset, gold_lemma.lower()))
    return frames, skipped


def lemma_rolesets(
    frames: Iterable[GoldFrame], lemmatize: Optional[Callable[[str], str]] = None
) -> Dict[str, Counter]:
    """
    How often each lemma has each roleset in `frames` (the training data): the gold lemma, or
    with `lemmatize`, that of the predicate's words.
    """
    counts: Dict[str, Counter] = defaultdict(Counter)
    for frame in frames:
        lemma = frame.lemma if lemmatize is None else lemmatize(frame.text)
        counts[lemma][frame.roleset] += 1
    return dict(counts)


def most_frequent_senses(counts: Dict[str, Counter]) -> Dict[str, str]:
    """Each lemma's most frequent roleset (ties to the smaller id, so that reruns agree)."""
    return {
        lemma: min(rolesets.items(), key=lambda item: (-item[1], item[0]))[0]
        for lemma, rolesets in counts.items()
    }


def most_frequent_sense(table: Dict[str, str], lemma: str) -> str:
    """The baseline's roleset for `lemma`: its most frequent in train, else `lemma.01`."""
    return table.get(lemma) or fallback_roleset(lemma)


def ambiguous_lemmas(counts: Dict[str, Counter]) -> Set[str]:
    """The lemmas with several rolesets in train."""
    return {lemma for lemma, rolesets in counts.items() if len(rolesets) > 1}


@dataclass
class Accuracy:
    """Right guesses among all frames and among those whose gold lemma is ambiguous."""

    correct: int = 0
    total: int = 0
    ambiguous_correct: int = 0
    ambiguous_total: int = 0

    @classmethod
    def of(
        cls, guesses: Sequence[str], frames: Sequence[GoldFrame], ambiguous: Set[str]
    ) -> "Accuracy":
        if len(guesses) != len(frames):
            raise ValueError(f"{len(guesses)} guesses for {len(frames)} frames")
        accuracy = cls()
        for guess, frame in zip(guesses, frames):
            right = guess == frame.roleset
            accuracy.correct += right
            accuracy.total += 1
            if frame.lemma in ambiguous:
                accuracy.ambiguous_correct += right
                accuracy.ambiguous_total += 1
        return accuracy

    @staticmethod
    def cell(correct: int, total: int) -> str:
        return f"{correct / total:.4f} ({correct:,}/{total:,})" if total else "-"


def baseline_guesses(
    table: Dict[str, str], frames: Sequence[GoldFrame], lemmatize: Optional[Callable[[str], str]]
) -> List[str]:
    """The most-frequent-sense guesses, by the gold lemma or by `lemmatize(predicate words)`."""
    return [
        most_frequent_sense(table, frame.lemma if lemmatize is None else lemmatize(frame.text))
        for frame in frames
    ]


def read_split(data: Optional[str], split: str, max_sentences: Optional[int]) -> List[Any]:
    sentences = read_conll2012(str(split_path(data, split)), keep_lines=True)
    return (
        [s for _, s in zip(range(max_sentences), sentences)] if max_sentences else list(sentences)
    )


def sense_logits(labeler: Any, frames: Sequence[GoldFrame]) -> Any:
    """Shape `(num_frames, num_rolesets)`: the export's sense scores of the gold frames."""
    import torch

    rows = []
    for begin in range(0, len(frames), CHUNK_FRAMES):
        chunk = frames[begin : begin + CHUNK_FRAMES]
        scored = labeler.score_frames([(frame.words, frame.predicate) for frame in chunk])
        rows.extend(tags.sense_logits for tags in scored)
    return torch.stack(rows) if rows else torch.zeros((0, len(labeler.model.rolesets)))


def accuracy_rows(
    labeler: Any,
    splits: Dict[str, List[GoldFrame]],
    train_frames: Sequence[GoldFrame],
) -> Tuple[Dict[str, Dict[str, Accuracy]], Dict[str, Dict[str, Any]]]:
    """
    Each method's `Accuracy` per split (the baselines learnt from `train_frames`), and per split
    the counts that the table's notes give.
    """
    from srl_plugin.hf.senses import SenseDecoder, predicate_lemma

    decoder = SenseDecoder.of(labeler.model)
    assert decoder is not None  # checked by the caller
    train = lemma_rolesets(train_frames)
    table = most_frequent_senses(train)
    # Raw text has no gold lemma, in train either: the like-for-like baseline learns the table
    # by our lemmatizer's lemmas of the training predicates (nominal predicates then find their
    # rolesets: gold lemma column `serve`, word "service").
    our_table = most_frequent_senses(lemma_rolesets(train_frames, predicate_lemma))
    ambiguous = ambiguous_lemmas(train)
    head = set(decoder.rolesets)
    train_rolesets = {frame.roleset for frame in train_frames}
    methods: Dict[str, Dict[str, Accuracy]] = defaultdict(dict)
    notes: Dict[str, Dict[str, Any]] = {}
    for split, frames in splits.items():
        started = time.perf_counter()
        logits = sense_logits(labeler, frames)
        seconds = time.perf_counter() - started
        texts = [frame.text for frame in frames]
        ours = decoder.decode(logits, texts, restrict=True)
        gold_lemma = decoder.decode(logits, texts, [f.lemma for f in frames], restrict=True)
        unrestricted = decoder.decode(logits, texts, restrict=False)
        rows = {
            "design B, our lemmatizer (raw text)": [s.roleset for s in ours],
            "design B, gold lemma": [s.roleset for s in gold_lemma],
            "design A, all rolesets": [s.roleset for s in unrestricted],
            "most frequent sense, gold lemma": baseline_guesses(table, frames, None),
            "most frequent sense, our lemmatizer": baseline_guesses(
                our_table, frames, predicate_lemma
            ),
            "lemma.01, gold lemma": [fallback_roleset(frame.lemma) for frame in frames],
        }
        for method, guesses in rows.items():
            methods[method][split] = Accuracy.of(guesses, frames, ambiguous)
        notes[split] = {
            "frames": len(frames),
            "scoring_seconds": seconds,
            "fallbacks_our_lemmatizer": sum(not s.from_model for s in ours),
            "fallbacks_gold_lemma": sum(not s.from_model for s in gold_lemma),
            "gold_roleset_not_in_head": sum(frame.roleset not in head for frame in frames),
            # A head whose vocabulary was built from the evaluated split too (AllenNLP reads
            # every dataset for the vocabulary unless `datasets_for_vocab_creation` says not
            # to) has rows of rolesets that training never saw: design B may pick them.
            "gold_roleset_unseen_in_train_but_in_head": sum(
                frame.roleset in head and frame.roleset not in train_rolesets for frame in frames
            ),
            "design_b_right_on_them": sum(
                sense.roleset == frame.roleset
                for sense, frame in zip(ours, frames)
                if frame.roleset in head and frame.roleset not in train_rolesets
            ),
            "lemma_unseen_in_train": sum(frame.lemma not in train for frame in frames),
            "our_lemma_differs_from_gold": sum(
                predicate_lemma(frame.text) != frame.lemma for frame in frames
            ),
        }
    return dict(methods), notes


def print_accuracy(methods: Dict[str, Dict[str, Accuracy]], splits: Sequence[str]) -> None:
    header = ["method"]
    for split in splits:
        header += [split, f"{split}, ambiguous lemma"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for method, by_split in methods.items():
        cells = [method]
        for split in splits:
            accuracy = by_split[split]
            cells.append(Accuracy.cell(accuracy.correct, accuracy.total))
            cells.append(Accuracy.cell(accuracy.ambiguous_correct, accuracy.ambiguous_total))
        print("| " + " | ".join(cells) + " |")


def throughput(args: argparse.Namespace, sentences: List[List[str]]) -> List[Dict[str, Any]]:
    """Predicates/s of raw-text labelling with senses, without, and (optionally) without head."""
    from benchmarks._common import fastest_interleaved
    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.senses import lemmatize

    runs = [
        ("senses on", args.export, True),
        ("senses=False", args.export, False),
    ]
    if args.export_without:
        runs.append(("export without sense head", args.export_without, True))
    labelers = [
        SemanticRoleLabeler.from_pretrained(
            export, batch_size=args.batch_size, threads=args.threads, senses=senses
        )
        for _, export, senses in runs
    ]
    # As `benchmarks.shared_encoding.label_raw`, but every run starts with the lemmatizer's
    # cache empty (the accuracy part and earlier runs filled it with these very words): each
    # run pays for lemmatizing its predicates, as a process labelling this text for the first
    # time does.
    for labeler in labelers:
        labeler.predict_batch(list(sentences[:16]))  # warm-up
    runners = {
        str(index): functools.partial(labeler.predict_batch, list(sentences))
        for index, labeler in enumerate(labelers)
    }
    fastest, results = fastest_interleaved(runners, args.repeats, None, lemmatize.cache_clear)
    rows = []
    for index, (name, export, senses) in enumerate(runs):
        seconds = fastest[str(index)]
        verbs = [verb for result in results[str(index)] for verb in result["verbs"]]
        rows.append(
            {
                "labeler": name,
                "export": shown(export),
                "predicates": len(verbs),
                "with_roleset": sum(bool(verb.get("roleset")) for verb in verbs),
                "seconds": seconds,
                "sentences_per_s": len(sentences) / seconds,
                "predicates_per_s": len(verbs) / seconds,
            }
        )
    # The same sentences: the time's ratio (for one export, that of predicates/s too).
    reference = rows[1]["seconds"]
    for row in rows:
        row["vs_senses_off"] = reference / row["seconds"]
    return rows


def print_throughput(rows: Sequence[Dict[str, Any]]) -> None:
    # Models that find different predicates differ in predicates per sentence, which changes
    # predicates/s by itself: sentences/s (and the ratio, of times) compare them on the same
    # input.
    print(
        "| labeler | export | predicates | with roleset | seconds | sentences/s | predicates/s "
        "| speed vs senses=False |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['labeler']} | {row['export']} | {row['predicates']:,} | "
            f"{row['with_roleset']:,} | {row['seconds']:.2f} | {row['sentences_per_s']:.1f} | "
            f"{row['predicates_per_s']:.1f} | {row['vs_senses_off']:.3f} |"
        )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="an export with a sense head")
    parser.add_argument("--export-without", help="an export without one: a third speed row")
    parser.add_argument("--data", help="default: the shipped data/ewt_propbank_srl.tar.gz")
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument(
        "--max-sentences", type=int, help="the first N sentences of each evaluated split"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    setup_environment(args.threads)
    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.senses import SenseDecoder

    shown_args = sys.argv[1:] if argv is None else list(argv)
    print(f"$ python benchmarks/senses.py {' '.join(shown_args)}", flush=True)
    info = environment_info()
    print(", ".join(f"{key}={value}" for key, value in info.items()))
    labeler = SemanticRoleLabeler.from_pretrained(
        args.export, batch_size=args.batch_size, threads=args.threads
    )
    decoder = SenseDecoder.of(labeler.model)
    if decoder is None:
        raise SystemExit(f"{args.export} has no sense head (its config.json lists no srl_rolesets)")

    train, train_skipped = gold_frames(read_split(args.data, "train", None))
    counts = lemma_rolesets(train)
    print(
        f"export: {shown(args.export)} ({len(decoder.rolesets):,} rolesets in its head)\n"
        f"train: {len(train):,} frames with a roleset ({train_skipped:,} without, skipped), "
        f"{len({f.roleset for f in train}):,} rolesets of {len(counts):,} lemmas, "
        f"{len(ambiguous_lemmas(counts)):,} of them with several rolesets",
        flush=True,
    )
    several = ambiguous_lemmas(counts)
    splits: Dict[str, List[GoldFrame]] = {}
    sentences: Dict[str, List[Any]] = {}
    for split in args.splits:
        sentences[split] = read_split(args.data, split, args.max_sentences)
        splits[split], skipped = gold_frames(sentences[split])
        ambiguous = sum(f.lemma in several for f in splits[split])
        print(
            f"{split}: {len(sentences[split]):,} sentences, {len(splits[split]):,} gold frames "
            f"with a roleset ({skipped:,} without, skipped), {ambiguous:,} with an ambiguous "
            f"lemma",
            flush=True,
        )

    methods, notes = accuracy_rows(labeler, splits, train)
    print("\nSense accuracy on gold predicates (ambiguous lemma: several rolesets in train)\n")
    print_accuracy(methods, args.splits)
    print()
    for split, note in notes.items():
        print(
            f"{split}: {note['frames']:,} frames scored in {note['scoring_seconds']:.1f} s; "
            f"design B fallbacks (no roleset of the lemma in the head): "
            f"{note['fallbacks_our_lemmatizer']:,} with our lemmatizer, "
            f"{note['fallbacks_gold_lemma']:,} with the gold lemma; gold roleset not in the head: "
            f"{note['gold_roleset_not_in_head']:,}; gold lemma unseen in train: "
            f"{note['lemma_unseen_in_train']:,}; our lemma differs from the gold: "
            f"{note['our_lemma_differs_from_gold']:,}; gold roleset in the head but in no "
            f"frame of train: {note['gold_roleset_unseen_in_train_but_in_head']:,} (design B, "
            f"our lemmatizer, right on {note['design_b_right_on_them']:,})"
        )
    figures: Dict[str, Any] = {
        "export": shown(args.export),
        "environment": info,
        "accuracy": {
            method: {split: vars(accuracy) for split, accuracy in by_split.items()}
            for method, by_split in methods.items()
        },
        "notes": notes,
    }
    if not args.skip_throughput:
        dev = sentences.get("dev") or read_split(args.data, "dev", args.max_sentences)
        print(
            f"\nRaw-text labelling of {len(dev):,} dev sentences (predicates found by the model), "
            f"fastest of {args.repeats} runs in turn, {info['torch_threads']} torch thread(s)\n",
            flush=True,
        )
        del labeler
        rows = throughput(args, [sentence.words for sentence in dev])
        print_throughput(rows)
        figures["throughput"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
