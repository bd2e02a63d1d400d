"""
The spaCy component `semantic_role_labeler` against `srl-label`'s path, on EWT dev, one process.

EWT dev documents are rebuilt as text as `benchmarks/segmentation.py` rebuilds them (gold
sentences detokenized, joined with one space per document). Three ways to label them with one
export, one labeler (the same model object, batch size and thread count), timed in turns
(`fastest_interleaved`: the fastest of `--repeats` runs each, the order reversed every other
repeat):

- `srl-label` (sentence per line): each gold sentence a line, through
  `srl_plugin.hf.corpus.label_lines`, what `srl-label` runs after reading its input;
- `spaCy component`: `spacy.blank("en")` + the component, each document a Doc through
  `nlp.pipe` (spaCy's tokenizer, sentences by the project's segmenter, since a blank pipeline has
  none), each frame of a found sentence reading at most the labeler's `segment_window` sub-words
  (`--segment-window`);
- `spaCy component, gold sentences`: the same, each Doc given EWT's sentence boundaries
  (`set_sentence_starts`) before the component, so it labels the sentences `srl-label` labels:
  the component's own cost, without what segmentation changes;
- `--documents` (when `srl_plugin.hf.documents` exists): each document through
  `label_documents`, the same segmenter with the project's word splitter.

Predicates/s each and the ratio to `srl-label` (issue 19's target for the component: within
15%). The component and `--documents` segment the same way, so their frames are compared
document by document (character offsets of predicates and arguments, roles); they differ only
where spaCy's default tokenizer and the project's word splitter (which keeps runs of punctuation
such as "!!!" whole) give other words.

Usage:
    python benchmarks/spacy_component.py [--export runs/demo/hf_model] [--repeats 3]
        [--max-documents N] [--threads 1] [--batch-size 64] [--detokenizer moses|spaces]
        [--segment-window N]

Runs in the modern environment (`.venv-hf5`, with sacremoses for `--detokenizer moses`).
"""

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    environment_info,
    fastest_interleaved,
    setup_environment,
    split_path,
)
from benchmarks.segmentation import Detokenizer, read_documents  # noqa: E402

CHUNK_SIZE = 1024
# A frame by characters: predicate (start, end), then sorted (role, start, end) of its arguments.
CharFrame = Tuple[Tuple[int, int], Tuple[Tuple[str, int, int], ...]]


def component_frames(doc: Any) -> Set[CharFrame]:
    return {
        (
            (frame["predicate"].start_char, frame["predicate"].end_char),
            tuple(
                sorted(
                    (a["role"], a["span"].start_char, a["span"].end_char)
                    for a in frame["arguments"]
                )
            ),
        )
        for frame in doc._.srl_frames
    }


def document_frames(result: Dict[str, Any]) -> Set[CharFrame]:
    return {
        (
            (verb["char_start"], verb["char_end"]),
            tuple(sorted((a["role"], a["char_start"], a["char_end"]) for a in verb["arguments"])),
        )
        for sentence in result["sentences"]
        for verb in sentence["verbs"]
    }


def gold_docs(nlp: Any, documents: Sequence[Any]) -> Iterator[Any]:
    """Each document as a Doc of `nlp`'s tokens with EWT's sentence boundaries."""
    from srl_plugin.spacy_srl import set_sentence_starts

    for document in documents:
        doc = nlp.make_doc(document.text)
        set_sentence_starts(doc, document.starts)
        yield doc


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", default=str(ROOT / "runs" / "demo" / "hf_model"))
    parser.add_argument("--data", help="CoNLL-2012 folder (default: the shipped EWT, extracted)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-documents", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64, help="frames per forward pass")
    parser.add_argument("--detokenizer", choices=("moses", "spaces"), default="moses")
    parser.add_argument(
        "--segment-window",
        type=int,
        help="sub-words a frame of a found sentence reads (default the component's; 0: all)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    setup_environment(args.threads)
    import spacy

    from srl_plugin.hf.corpus import label_lines

    documents, sentences = read_documents(
        split_path(args.data, "dev"), Detokenizer(args.detokenizer), args.max_documents
    )
    texts = [document.text for document in documents]
    lines = [sentence.text for sentence in sentences]
    nlp = spacy.blank("en")
    config: Dict[str, Any] = {"model": args.export, "batch_size": args.batch_size, "device": "cpu"}
    if args.segment_window is not None:
        config["segment_window"] = args.segment_window
    component: Any = nlp.add_pipe("semantic_role_labeler", config=config)
    labeler = component.labeler  # loaded once, shared by all
    runners: Dict[str, Any] = {
        "srl-label (sentence per line)": lambda: list(
            label_lines(labeler, lines, jsonl=False, chunk_size=CHUNK_SIZE)
        ),
        "spaCy component": lambda: list(nlp.pipe(texts)),
        "spaCy component, gold sentences": lambda: list(nlp.pipe(gold_docs(nlp, documents))),
    }
    if importlib.util.find_spec("srl_plugin.hf.documents") is not None:
        from srl_plugin.hf.documents import label_documents

        runners["--documents"] = lambda: list(label_documents(labeler, texts, CHUNK_SIZE))
    labeler.label_requests([])  # nothing to label: imports done before timing
    list(nlp.pipe(texts[:2]))  # warm-up: spaCy's tokenizer and the segmenter loaded
    seconds, results = fastest_interleaved(runners, args.repeats)

    predicates = {
        "srl-label (sentence per line)": sum(
            len(r.get("verbs", [])) for r in results["srl-label (sentence per line)"]
        ),
    }
    for name in ("spaCy component", "spaCy component, gold sentences"):
        predicates[name] = sum(len(doc._.srl_frames) for doc in results[name])
    if "--documents" in results:
        predicates["--documents"] = sum(
            len(s["verbs"]) for r in results["--documents"] for s in r.get("sentences", [])
        )
    info = environment_info("cpu")
    print(
        f"python {info['python']}, torch {info['torch']}, transformers {info['transformers']}, "
        f"spacy {spacy.__version__}; {info['cpu']}; {info['torch_threads']} thread(s)"
    )
    print(
        f"EWT dev: {len(texts)} documents, {len(lines)} gold sentences; export {args.export}; "
        f"batches of {args.batch_size} frames; segment window {labeler.segment_window or 'none'}; "
        f"fastest of {args.repeats} interleaved runs"
    )
    base = predicates["srl-label (sentence per line)"] / seconds["srl-label (sentence per line)"]
    print("\n| path | predicates | seconds | predicates/s | ratio to srl-label |")
    print("| --- | --- | --- | --- | --- |")
    for name in runners:
        rate = predicates[name] / seconds[name]
        print(f"| {name} | {predicates[name]:,} | {seconds[name]:.1f} | {rate:.1f} | "
              f"{rate / base:.3f} |")  # fmt: skip
    docs = results["spaCy component"]
    sentence_count = sum(len(list(doc.sents)) for doc in docs)
    print(f"\nsentences found by the component's segmentation: {sentence_count}")
    if "--documents" in results:
        ours = [component_frames(doc) for doc in docs]
        theirs = [document_frames(r) for r in results["--documents"]]
        same_documents = sum(a == b for a, b in zip(ours, theirs))
        shared = sum(len(a & b) for a, b in zip(ours, theirs))
        print(
            f"component vs --documents: {same_documents} of {len(docs)} documents with identical "
            f"frames; {shared} of {sum(map(len, ours))} component frames found identically"
        )


if __name__ == "__main__":
    main()
