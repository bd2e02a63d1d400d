"""
`--documents` against sentence-per-line input on EWT dev: end-to-end SRL in character offsets,
and throughput on the same text (issue 19).

EWT dev documents are rebuilt as `benchmarks/segmentation.py` rebuilds them (`read_documents`:
each sentence's words detokenized with sacremoses, the sentences of a `#begin document` joined
with one space, each gold word's character offsets kept). One export labels that text two ways:

- documents: each document's text through `SemanticRoleLabeler.label_documents` (what `srl-label
  --documents` runs): sentences found by sentencex (a segment over 32 words also cut after
  sentence-final punctuation), words by spaCy's tokenizer (`srl_plugin.hf.words`), every offset
  into the document;
- sentence per line: each gold sentence's detokenized text through `label_stream` (what
  `srl-label` runs on a file of one sentence a line), its offsets shifted to the document;
- the control, `--documents` on each gold sentence as a document of its own: the documents path
  where the segmenter has (almost) nothing to find, to tell its own cost from that of the
  segmentation.

Both are scored against the gold frames in character offsets, so that segmentation and word
splitting errors count: a frame is its predicate's character span (first to last predicate word)
and its arguments' (role, character span) pairs. A predicted frame matches a gold frame with the
same predicate span (one to one); its arguments are right when role and span are equal, and the
arguments of an unmatched frame are all excess (predicted) or missed (gold). `C-` and `R-` roles
are roles of their own (no discontinuous arguments, unlike srl-eval.pl's counting). Predicate
P/R/F1 counts the matched frames.

Throughput: one torch thread, the two ways in turn (`fastest_interleaved`), the fastest of
`--repeats` runs each; predicates/s counts the predicates each way found, sentences/s the
sentences it labelled (segmented, or gold), on the same characters.

Usage (the modern environment, which has sacremoses):
    python benchmarks/documents.py [--export runs/demo/hf_model] [--data DEV] [--repeats 3]
        [--max-documents N]
"""

import argparse
import importlib.metadata
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    environment_info,
    fastest_interleaved,
    setup_environment,
    shown,
    split_path,
)
from benchmarks.segmentation import (  # noqa: E402
    Detokenizer,
    Document,
    Sentence,
    prf,
    read_documents,
    table,
)
from srl_plugin.hf.conll import ConllSentence, read_conll2012  # noqa: E402
from srl_plugin.hf.labels import PREDICATE_ROLE, bio_tags_to_spans  # noqa: E402

# The ways of labelling the text: whole documents, the control (the documents path on each gold
# sentence as a document of its own), and one gold sentence a line.
DOCUMENTS, SINGLES, LINES = "--documents", "--documents, a gold sentence each", "sentence per line"

Span = Tuple[int, int]
# A frame: its predicate's character span, and its arguments' (role, character span) pairs.
Frame = Tuple[Span, frozenset]


def gold_frames(
    dev: Path, documents: Sequence[Document], sentences: Sequence[Sentence]
) -> List[List[Frame]]:
    """
    Each document's gold frames, in character offsets into its text (`documents` and their
    `sentences` as `read_documents` gives them, which groups the CoNLL sentences as here).
    """
    grouped: Dict[str, List[ConllSentence]] = {}
    for conll in read_conll2012(str(dev)):
        grouped.setdefault(conll.document or "(no document line)", []).append(conll)
    frames = []
    position = 0
    for document in documents:
        found: List[Frame] = []
        for conll, start in zip(grouped[document.name], document.starts):
            sentence = sentences[position]
            position += 1
            if len(sentence.spans) != len(conll.words):
                raise ValueError(f"{document.name}: sentences out of step with the CoNLL file")
            spans = [(start + s, start + e) for s, e in sentence.spans]
            for predicate, tags in zip(conll.frame_predicates, conll.frames):
                arguments = frozenset(
                    (role, (spans[first][0], spans[last][1]))
                    for role, first, last in bio_tags_to_spans(tags)
                    if role != PREDICATE_ROLE
                )
                found.append(((spans[min(predicate)][0], spans[max(predicate)][1]), arguments))
        frames.append(found)
    return frames


def predicted_frames(sentences: Sequence[Dict[str, Any]], offset: int) -> List[Frame]:
    """The frames of labelled sentences, their character offsets shifted by `offset`."""
    frames = []
    for sentence in sentences:
        for verb in sentence["verbs"]:
            arguments = frozenset(
                (a["role"], (a["char_start"] + offset, a["char_end"] + offset))
                for a in verb["arguments"]
            )
            frames.append(((verb["char_start"] + offset, verb["char_end"] + offset), arguments))
    return frames


def by_document(
    documents: Sequence[Document], per_line: Sequence[List[Frame]]
) -> List[List[Frame]]:
    """The frames of each gold sentence (a line) gathered into its document's."""
    gathered, position = [], 0
    for document in documents:
        count = len(document.starts)
        gathered.append(
            [frame for frames in per_line[position : position + count] for frame in frames]
        )
        position += count
    return gathered


def score(gold: Sequence[List[Frame]], predicted: Sequence[List[Frame]]) -> Dict[str, float]:
    """Span and predicate P/R/F1 of each document's predicted frames against its gold frames."""
    spans = {"tp": 0, "predicted": 0, "gold": 0}
    frames = {"tp": 0, "predicted": 0, "gold": 0}
    for gold_frames_, predicted_frames_ in zip(gold, predicted):
        unmatched: Dict[Span, List[frozenset]] = defaultdict(list)
        for predicate, arguments in gold_frames_:
            unmatched[predicate].append(arguments)
        for predicate, arguments in predicted_frames_:
            if unmatched[predicate]:
                spans["tp"] += len(arguments & unmatched[predicate].pop())
                frames["tp"] += 1
        spans["predicted"] += sum(len(arguments) for _, arguments in predicted_frames_)
        spans["gold"] += sum(len(arguments) for _, arguments in gold_frames_)
        frames["predicted"] += len(predicted_frames_)
        frames["gold"] += len(gold_frames_)
    figures = {}
    for name, counts in (("span", spans), ("predicate", frames)):
        precision, recall, f1 = prf(counts["tp"], counts["predicted"], counts["gold"])
        figures.update({f"{name} P": precision, f"{name} R": recall, f"{name} F1": f1})
        figures[f"{name}s predicted"] = counts["predicted"]
        figures[f"{name}s gold"] = counts["gold"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", default="runs/demo/hf_model", help="an export folder")
    parser.add_argument(
        "--data", help="default: dev of the shipped data/ewt_propbank_srl.tar.gz (see _common)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each way")
    parser.add_argument("--max-documents", type=int, help="that many documents, spread evenly")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--segment-window",
        type=int,
        help="sub-words a frame of a found sentence reads (default the labeler's; 0: all)",
    )
    args = parser.parse_args()
    setup_environment(threads=1)

    from srl_plugin.hf.labeler import DEFAULT_SEGMENT_WINDOW, SemanticRoleLabeler

    window = DEFAULT_SEGMENT_WINDOW if args.segment_window is None else args.segment_window

    dev = split_path(args.data, "dev")
    detokenizer = Detokenizer("moses")
    documents, sentences = read_documents(dev, detokenizer, args.max_documents)
    gold = gold_frames(dev, documents, sentences)
    lines = [sentence.text for sentence in sentences]
    # Where each line's sentence starts in its document.
    shift = [start for document in documents for start in document.starts]
    labeler = SemanticRoleLabeler.from_pretrained(
        args.export, batch_size=args.batch_size, segment_window=window or None
    )
    labeler.model.eval()
    records = [{"id": document.name, "text": document.text} for document in documents]
    # The control: the documents path on the gold sentences, each a document of its own.
    singles = [{"id": index, "text": line} for index, line in enumerate(lines)]
    runners = {
        DOCUMENTS: lambda: list(labeler.label_documents(records)),
        SINGLES: lambda: list(labeler.label_documents(singles)),
        LINES: lambda: list(labeler.label_stream(lines)),
    }
    # Imports, the tokenizers' first build: before the clock.
    list(labeler.label_documents(records[:2]))
    list(labeler.label_stream(lines[:8]))
    seconds, results = fastest_interleaved(runners, args.repeats)

    per_line = {
        SINGLES: [predicted_frames(r["sentences"], at) for r, at in zip(results[SINGLES], shift)],
        LINES: [predicted_frames([r], at) for r, at in zip(results[LINES], shift)],
    }
    predicted = {
        DOCUMENTS: [predicted_frames(r["sentences"], 0) for r in results[DOCUMENTS]],
        **{way: by_document(documents, frames) for way, frames in per_line.items()},
    }
    figures = {way: score(gold, predicted[way]) for way in runners}
    labelled = {
        DOCUMENTS: sum(len(r["sentences"]) for r in results[DOCUMENTS]),
        SINGLES: sum(len(r["sentences"]) for r in results[SINGLES]),
        LINES: len(lines),
    }

    print(f"$ python benchmarks/documents.py {' '.join(sys.argv[1:])}".rstrip())
    info = environment_info()
    packages = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("sentencex", "spacy", "sacremoses")
    )
    print(
        f"environment: python {info['python']}, torch {info['torch']} ({info['torch_threads']} "
        f"thread), transformers {info['transformers']}, {packages}; cpu: {info['cpu']}"
    )
    print(
        f"export: {shown(args.export)}; data: {shown(dev)} ({len(documents)} documents, "
        f"{len(lines)} gold sentences, {sum(len(d.text) for d in documents):,} characters); "
        f"segment window {window or 'none'}; fastest of {args.repeats} interleaved runs\n"
    )
    rows = []
    for label, form in [
        ("sentences labelled", ",d"),
        ("span P", ".4f"),
        ("span R", ".4f"),
        ("span F1", ".4f"),
        ("predicate P", ".4f"),
        ("predicate R", ".4f"),
        ("predicate F1", ".4f"),
        ("predicates found", ",d"),
        ("seconds", ".1f"),
        ("sentences/s", ".1f"),
        ("predicates/s", ".1f"),
    ]:
        values = {}
        for way in runners:
            found = figures[way]["predicates predicted"]
            values[way] = {
                "sentences labelled": labelled[way],
                "predicates found": found,
                "seconds": seconds[way],
                "sentences/s": labelled[way] / seconds[way],
                "predicates/s": found / seconds[way],
            }.get(label, figures[way].get(label, 0))
        ratios = [f"{values[way] / values[LINES]:.3f}" for way in (DOCUMENTS, SINGLES)]
        rows.append([label] + [format(values[way], form) for way in runners] + ratios)
    header = ["", *runners, "documents / lines", "gold sentences / lines"]
    print(table(header, rows))
    print(f"\n{figures[LINES]['predicates gold']:,} gold predicates (frames)")


if __name__ == "__main__":
    main()
