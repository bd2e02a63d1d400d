"""
Sentence segmenters and word splitters for documents as input (issue 19), measured on EWT dev.

1. Sentence segmenters (ours, `srl_plugin.hf.words.sentence_spans`: sentencex, with a segment of
   more than `LONG_SEGMENT_WORDS` words also cut after sentence-final punctuation; pysbd,
   sentencex alone, syntok, spaCy's rule-based `sentencizer` on `spacy.blank("en")`, and a naive
   regex as the floor): the dev documents are rebuilt from the CoNLL-2012 `#begin document
   (ID); part N` lines, each sentence's words detokenized, the sentences joined with one space.
   A boundary is the character offset where a gold sentence starts (offset 0 excluded); a
   predicted one counts when it equals a gold one after skipping whitespace. Micro P/R/F1 over
   all boundaries, the recall on the boundaries that follow . ! ? (the others, after emoticons,
   URLs or no punctuation, no punctuation-driven rule can find), % of documents segmented
   exactly, characters per second; F1 again on the same documents with words simply joined by
   spaces.
2. Word splitters (ours, `srl_plugin.hf.words.word_spans`: spaCy's blank English tokenizer plus
   one rule keeping punctuation runs whole, "!!!", "$$$", "=====", `PUNCTUATION_RUNS`; spaCy's
   blank English tokenizer alone; syntok's tokenizer; sacremoses' `MosesTokenizer(escape=False)`;
   NLTK's `NLTKWordTokenizer`) against EWT's gold tokens on the detokenized dev sentences: token
   P/R/F1 by character spans, % of sentences split exactly (also on words joined by spaces: does
   it keep pre-tokenized text as it is?), and a hand-made set of hard cases (URLs, e-mail
   addresses, emoticons, numbers, contractions) expected as EWT tokenizes them; sentences per
   second. The regex that `word_spans` replaced (this benchmark's measurement chose spaCy plus
   the runs rule) scored F1 0.9521 and 83.6% of sentences exact, 9/23 hard cases.

Detokenization (`--detokenizer`): `moses` is sacremoses' `MosesDetokenizer` (which decides where
spaces go) plus two Penn Treebank splits it leaves open, so that the text reads as written:
"do n't" -> "don't" and "gon na" / "wan na" / "got ta" -> "gonna" / "wanna" / "gotta" (the gold
words stay "do" + "n't", as EWT has them). `spaces` joins the words with spaces. Either way the
Treebank escapes inside words are undone first (EWT's ":-RRB-" is ":-)" in the text, "-LRB-" "(").

Usage:
    python benchmarks/segmentation.py [--data runs/data/ewt_propbank_srl/conll2012]
        [--max-documents N] [--detokenizer moses|spaces] [--show-cases] [--show-errors]

Needs the modern environment with the candidates: `.venv-hf5/bin/pip install pysbd sentencex
syntok spacy sacremoses nltk`; a candidate whose package is missing is skipped with a note. One
process, one thread; the whole of EWT dev takes well under a minute on one core.
"""

import argparse
import importlib.metadata
import platform
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(ROOT))

from benchmarks._common import split_path  # noqa: E402
from srl_plugin.hf.conll import read_conll2012  # noqa: E402
from srl_plugin.hf.words import sentence_spans, word_spans, word_tokenizer  # noqa: E402

Span = Tuple[int, int]

# Treebank escapes as they stand in EWT's words (":-RRB-" is the emoticon ":-)").
_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_ESCAPE = re.compile("|".join(map(re.escape, _ESCAPES)))
# Second halves of Penn Treebank splits that Moses leaves with a space before them.
_GLUED_AFTER = {"na": ("gon", "wan"), "ta": ("got",)}
# The end of a sentence that ends in . ! ? (boundaries no punctuation-driven segmenter can miss).
_PUNCTUATED = re.compile(r"[.!?][\"')\]]*$")

# Hard cases: raw text and the words expected, as EWT tokenizes them (one space between words).
HARD_CASES: List[Tuple[str, str, str]] = [
    (
        "URL",
        "Visit http://www.example.com/a/b?x=1&y=2 now.",
        "Visit http://www.example.com/a/b?x=1&y=2 now .",
    ),
    (
        "URL without scheme",
        "See www.visitsouthshropshire.co.uk for details",
        "See www.visitsouthshropshire.co.uk for details",
    ),
    (
        "URL in parentheses",
        "Read it (http://en.wikipedia.org/wiki/Cubism).",
        "Read it ( http://en.wikipedia.org/wiki/Cubism ) .",
    ),
    ("e-mail", "Mail kent.shoemaker@ae.ge.com today.", "Mail kent.shoemaker@ae.ge.com today ."),
    ("emoticon :-)", "Great party :-)", "Great party :-)"),
    ("emoticon :-RRB-", "Great party :-RRB-", "Great party :-RRB-"),
    ("emoticon :)", "See you :)", "See you :)"),
    ("emoticon :D", "That was fun :D", "That was fun :D"),
    ("decimal", "It costs 3.5 dollars", "It costs 3.5 dollars"),
    ("thousands", "About 1,000 people came.", "About 1,000 people came ."),
    ("$$$", "Prices: $$$", "Prices : $$$"),
    ("time", "Meet at 10:30 tomorrow", "Meet at 10:30 tomorrow"),
    ("currency", "It costs $5.", "It costs $ 5 ."),
    ("percent", "It was 50% off", "It was 50 % off"),
    ("phone numbers", "Call 713.837.1638 or 303-832-8160", "Call 713.837.1638 or 303-832-8160"),
    ("date", "Sent on 02/13/2001 at 5:00", "Sent on 02/13/2001 at 5:00"),
    ("don't", "I don't know", "I do n't know"),
    ("it's", "it's fine", "it 's fine"),
    ("can't, won't", "I can't and won't", "I ca n't and wo n't"),
    ("gonna", "We're gonna win", "We 're gon na win"),
    ("abbreviations", "The U.S. economy, e.g. jobs", "The U.S. economy , e.g. jobs"),
    ("punctuation runs", "Wow!!! Really?! Wait...", "Wow !!! Really ?! Wait ..."),
    ("quotes", 'He said "no".', 'He said " no " .'),
]


# The data


@dataclass
class Sentence:
    """A sentence as text, and the character spans of its gold words in it."""

    text: str
    spans: List[Span]


@dataclass
class Document:
    """A document as text: its sentences joined by one space, and where each sentence starts."""

    name: str
    text: str
    starts: List[int] = field(default_factory=list)


class Detokenizer:
    """Gold words to text with each word's span: `moses` (plus PTB contractions) or `spaces`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.moses = None
        self.unaligned = 0
        if kind == "moses":
            from sacremoses import MosesDetokenizer

            self.moses = MosesDetokenizer(lang="en")

    def __call__(self, words: Sequence[str]) -> Sentence:
        words = [_ESCAPE.sub(lambda match: _ESCAPES[match.group()], word) for word in words]
        spaced = [index > 0 for index in range(len(words))]
        if self.moses is not None:
            moses_spaced = self._moses_spacing(words)
            if moses_spaced is None:
                self.unaligned += 1
            else:
                spaced = moses_spaced
            for index in range(1, len(words)):
                previous, word = words[index - 1].lower(), words[index].lower()
                if (word == "n't" and previous.isalpha()) or previous in _GLUED_AFTER.get(word, ()):
                    spaced[index] = False
        text, spans = "", []
        for word, space in zip(words, spaced):
            text += " " if space else ""
            spans.append((len(text), len(text) + len(word)))
            text += word
        return Sentence(text, spans)

    def _moses_spacing(self, words: Sequence[str]) -> Optional[List[bool]]:
        """Whether Moses puts a space before each word; `None` if its text lost a word."""
        assert self.moses is not None
        text = self.moses.detokenize(list(words), unescape=False)
        spaced, position = [], 0
        for word in words:
            start = position
            while position < len(text) and text[position].isspace():
                position += 1
            if not text.startswith(word, position):
                return None
            spaced.append(position > start)
            position += len(word)
        return spaced


def read_documents(
    dev: Path, detokenizer: Detokenizer, max_documents: Optional[int]
) -> Tuple[List[Document], List[Sentence]]:
    """
    The documents of a CoNLL-2012 file or folder (consecutive sentences of one `#begin document`
    line) and all their sentences; with `max_documents`, that many spread evenly over the corpus.
    """
    grouped: Dict[str, List[List[str]]] = {}
    for conll in read_conll2012(str(dev)):
        grouped.setdefault(conll.document or "(no document line)", []).append(conll.words)
    names = list(grouped)
    if max_documents is not None and max_documents < len(names):
        names = [names[index * len(names) // max_documents] for index in range(max_documents)]
    documents, sentences = [], []
    for name in names:
        document = Document(name, "")
        for words in grouped[name]:
            sentence = detokenizer(words)
            if document.text:
                document.text += " "
            document.starts.append(len(document.text))
            document.text += sentence.text
            sentences.append(sentence)
        documents.append(document)
    return documents, sentences


# Candidates: each is built by a function that imports its package (ImportError: skipped).


def _aligned(text: str, pieces: Iterable[str]) -> List[Span]:
    """Spans of `pieces` found in order in `text`; a piece not found gets (-1, -1)."""
    spans, position = [], 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        start = text.find(piece, position)
        if start < 0:
            spans.append((-1, -1))
            continue
        spans.append((start, start + len(piece)))
        position = start + len(piece)
    return spans


def _segment_pysbd() -> Callable[[str], List[int]]:
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return lambda text: [start for start, _ in _aligned(text, segmenter.segment(text))]


def _segment_sentencex() -> Callable[[str], List[int]]:
    from sentencex import segment

    return lambda text: [start for start, _ in _aligned(text, segment("en", text))]


def _segment_ours() -> Callable[[str], List[int]]:
    # What `--documents` and the spaCy component use: sentencex, and a segment of more than
    # LONG_SEGMENT_WORDS words also cut after sentence-final punctuation.
    import sentencex  # noqa: F401 (skipped, as the others, without its package)

    word_tokenizer()  # built here, not in the timed first call
    return lambda text: [start for start, _ in sentence_spans(text)]


def _segment_syntok() -> Callable[[str], List[int]]:
    from syntok import segmenter

    return lambda text: [
        sentence[0].offset for paragraph in segmenter.analyze(text) for sentence in paragraph
    ]


def _segment_spacy() -> Callable[[str], List[int]]:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return lambda text: [sentence.start_char for sentence in nlp(text).sents]


def _segment_regex() -> Callable[[str], List[int]]:
    # The floor: a boundary after every run of . ! ? (and closing quotes/brackets) and a space.
    boundary = re.compile(r"[.!?]+[\"')\]]*\s+(?=\S)")
    return lambda text: [0] + [match.end() for match in boundary.finditer(text)]


SEGMENTERS: Dict[str, Tuple[str, Callable[[], Callable[[str], List[int]]]]] = {
    "ours (hf/words.py: sentencex + long cut)": ("sentencex spacy", _segment_ours),
    "pysbd": ("pysbd", _segment_pysbd),
    "sentencex": ("sentencex", _segment_sentencex),
    "syntok": ("syntok", _segment_syntok),
    "spacy sentencizer": ("spacy", _segment_spacy),
    "regex [.!?]+ space": ("", _segment_regex),
}


def _split_ours() -> Callable[[str], List[Span]]:
    # spaCy's blank English tokenizer with PUNCTUATION_RUNS kept whole (srl_plugin.hf.words),
    # built here as the other candidates are, not in the timed first call.
    word_tokenizer()
    return lambda text: [(start, end) for _, start, end in word_spans(text)]


def _split_spacy() -> Callable[[str], List[Span]]:
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    return lambda text: [
        (token.idx, token.idx + len(token.text)) for token in tokenizer(text) if not token.is_space
    ]


def _split_syntok() -> Callable[[str], List[Span]]:
    from syntok.tokenizer import Tokenizer

    # As written: the default would turn "n't" into "not".
    tokenizer = Tokenizer(replace_not_contraction=False)
    return lambda text: [
        (token.offset, token.offset + len(token.value)) for token in tokenizer.tokenize(text)
    ]


def _split_moses() -> Callable[[str], List[Span]]:
    from sacremoses import MosesTokenizer

    tokenizer = MosesTokenizer(lang="en")
    return lambda text: _aligned(text, tokenizer.tokenize(text, escape=False))


def _split_nltk() -> Callable[[str], List[Span]]:
    from nltk.tokenize import NLTKWordTokenizer  # word_tokenize without punkt: no data needed

    tokenizer = NLTKWordTokenizer()

    def split(text: str) -> List[Span]:
        try:
            return list(tokenizer.span_tokenize(text))
        except ValueError:  # its quote alignment can fail; its words are then found in order
            return _aligned(text, tokenizer.tokenize(text))

    return split


SPLITTERS: Dict[str, Tuple[str, Callable[[], Callable[[str], List[Span]]]]] = {
    "ours (hf/words.py: spacy blank en + runs)": ("spacy", _split_ours),
    "spacy blank en": ("spacy", _split_spacy),
    "syntok": ("syntok", _split_syntok),
    "moses": ("sacremoses", _split_moses),
    "nltk NLTKWordTokenizer": ("nltk", _split_nltk),
}


def available(
    candidates: Dict[str, Tuple[str, Callable[[], Callable]]], notes: List[str]
) -> Dict[str, Callable]:
    """The candidates whose package imports, built; a note for each one skipped."""
    built = {}
    for name, (package, build) in candidates.items():
        try:
            built[name] = build()
        except ImportError as error:
            notes.append(f"skipped {name}: {error} (pip install {package})")
    return built


# Scores


def prf(true_positives: int, predicted: int, gold: int) -> Tuple[float, float, float]:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def punctuated(text: str, boundary: int) -> bool:
    """Whether the sentence before `boundary` ends in . ! ? (then maybe closing quotes/brackets)."""
    end = boundary
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return _PUNCTUATED.search(text, max(0, end - 16), end) is not None


def score_segmenter(
    segment: Callable[[str], List[int]], documents: Sequence[Document]
) -> Dict[str, float]:
    """
    Boundary P/R/F1, recall on the boundaries after . ! ?, % documents exact and characters per
    second of one segmenter.
    """
    true_positives = predicted = gold = exact = found_punctuated = gold_punctuated = 0
    seconds = 0.0
    for document in documents:
        text = document.text
        started = time.perf_counter()
        starts = segment(text)
        seconds += time.perf_counter() - started
        first = len(text) - len(text.lstrip())
        boundaries = set()
        for start in starts:
            if start < 0:  # a sentence the segmenter changed beyond finding: no boundary
                continue
            while start < len(text) and text[start].isspace():
                start += 1
            if first < start < len(text):
                boundaries.add(start)
        gold_boundaries = set(document.starts[1:])
        true_positives += len(boundaries & gold_boundaries)
        predicted += len(boundaries)
        gold += len(gold_boundaries)
        exact += boundaries == gold_boundaries
        for boundary in gold_boundaries:
            if punctuated(text, boundary):
                gold_punctuated += 1
                found_punctuated += boundary in boundaries
    precision, recall, f1 = prf(true_positives, predicted, gold)
    characters = sum(len(document.text) for document in documents)
    return {
        "P": precision,
        "R": recall,
        "F1": f1,
        "R .!?": found_punctuated / gold_punctuated if gold_punctuated else 0.0,
        "exact": exact / len(documents),
        "chars/s": characters / seconds if seconds else float("inf"),
        "gold": gold,
        "gold .!?": gold_punctuated,
    }


def score_splitter(
    split: Callable[[str], List[Span]], sentences: Sequence[Sentence], errors: Counter
) -> Dict[str, float]:
    """Token P/R/F1 by character spans, % sentences exact, sentences per second."""
    true_positives = predicted = gold = exact = 0
    seconds = 0.0
    for sentence in sentences:
        started = time.perf_counter()
        spans = split(sentence.text)
        seconds += time.perf_counter() - started
        predicted_spans, gold_spans = set(spans), set(sentence.spans)
        true_positives += len(predicted_spans & gold_spans)
        predicted += len(spans)
        gold += len(gold_spans)
        exact += spans == sentence.spans
        for start, end in gold_spans - predicted_spans:
            errors[f"missed {sentence.text[start:end]!r}"] += 1
        for start, end in predicted_spans - gold_spans:
            errors[f"made {sentence.text[start:end] if start >= 0 else '(lost)'!r}"] += 1
    precision, recall, f1 = prf(true_positives, predicted, gold)
    return {
        "P": precision,
        "R": recall,
        "F1": f1,
        "exact": exact / len(sentences),
        "sents/s": len(sentences) / seconds if seconds else float("inf"),
    }


def hard_case_results(split: Callable[[str], List[Span]]) -> List[Tuple[bool, str]]:
    """For each hard case: whether it is split as expected, and the words it gave."""
    results = []
    for _, text, expected in HARD_CASES:
        words = [text[start:end] for start, end in split(text)]
        results.append((words == expected.split(" "), " ".join(words)))
    return results


# Output


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(str(cell).ljust(w) for cell, w in zip(header, widths)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    lines += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows
    ]
    return "\n".join(lines)


def versions() -> str:
    found = [f"python {platform.python_version()}"]
    for package in ("pysbd", "sentencex", "syntok", "spacy", "sacremoses", "nltk", "regex"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        help="a conll2012 folder (its dev/ is read), a *gold_conll file or folder, or a .tar.gz "
        "(default: EWT dev from the shipped data/ewt_propbank_srl.tar.gz)",
    )
    parser.add_argument("--max-documents", type=int, help="that many documents, spread evenly")
    parser.add_argument("--detokenizer", choices=("moses", "spaces"), default="moses")
    parser.add_argument("--show-cases", action="store_true", help="each hard case, each splitter")
    parser.add_argument("--show-errors", action="store_true", help="each splitter's top errors")
    args = parser.parse_args()
    if args.max_documents is not None and args.max_documents < 1:
        parser.error(f"--max-documents must be at least 1, not {args.max_documents}")

    notes: List[str] = []
    dev = split_path(args.data, "dev")
    try:
        detokenizer = Detokenizer(args.detokenizer)
    except ImportError:
        notes.append("sacremoses is not installed: words joined by spaces (pip install sacremoses)")
        detokenizer = Detokenizer("spaces")
    documents, sentences = read_documents(dev, detokenizer, args.max_documents)
    spaced_documents, spaced_sentences = read_documents(
        dev, Detokenizer("spaces"), args.max_documents
    )
    segmenters = available(SEGMENTERS, notes)
    splitters = available(SPLITTERS, notes)

    command = f"$ python benchmarks/segmentation.py {' '.join(sys.argv[1:])}".rstrip()
    print(command)
    print(f"versions: {versions()}")
    print(
        f"data: {dev} ({len(documents)} documents, {len(sentences)} sentences, "
        f"{sum(len(d.text) for d in documents)} characters); text: {detokenizer.kind}"
        + (" + PTB contractions" if detokenizer.kind == "moses" else "")
        + (f" ({detokenizer.unaligned} sentences spaced by hand)" if detokenizer.unaligned else "")
    )
    for note in notes:
        print(f"note: {note}")

    print(f"\n1. Sentence boundaries on EWT dev documents ({command[2:]})\n")
    rows, figures = [], {}
    for name, segment in segmenters.items():
        figures = score_segmenter(segment, documents)
        spaced = score_segmenter(segment, spaced_documents)
        rows.append(
            [name]
            + [f"{figures[key]:.3f}" for key in ("P", "R", "F1", "R .!?", "exact")]
            + [f"{spaced['F1']:.3f}", f"{figures['chars/s']:,.0f}"]
        )
    print(
        table(
            [
                "segmenter",
                "P",
                "R",
                "F1",
                "R after .!?",
                "docs exact",
                "F1 words spaced",
                "chars/s",
            ],
            rows,
        )
    )
    if figures:
        print(
            f"\n{figures['gold']:.0f} gold boundaries, {figures['gold .!?']:.0f} of them after . ! ? "
            "(R after .!? is the recall on those; the others follow no sentence-final punctuation)"
        )

    print(f"\n2. Word splitting against EWT's gold words ({command[2:]})\n")
    rows, cases, all_errors = [], {}, {}
    for name, split in splitters.items():
        errors: Counter = Counter()
        figures = score_splitter(split, sentences, errors)
        spaced = score_splitter(split, spaced_sentences, Counter())
        cases[name] = hard_case_results(split)
        all_errors[name] = errors
        rows.append(
            [name]
            + [f"{figures[key]:.4f}" for key in ("P", "R", "F1", "exact")]
            + [f"{spaced['F1']:.4f}", f"{spaced['exact']:.4f}"]
            + [f"{sum(ok for ok, _ in cases[name])}/{len(HARD_CASES)}"]
            + [f"{figures['sents/s']:,.0f}"]
        )
    print(
        table(
            [
                "splitter",
                "P",
                "R",
                "F1",
                "sents exact",
                "F1 words spaced",
                "exact words spaced",
                "hard cases",
                "sents/s",
            ],
            rows,
        )
    )
    if args.show_cases:
        print("\nHard cases (ok, or the words given):\n")
        print(
            table(
                ["case", "expected"] + list(cases),
                [
                    [label, expected]
                    + ["ok" if cases[name][i][0] else cases[name][i][1] for name in cases]
                    for i, (label, _, expected) in enumerate(HARD_CASES)
                ],
            )
        )
    if args.show_errors:
        print("\nMost frequent errors on EWT dev (count):\n")
        for name, errors in all_errors.items():
            top = ", ".join(f"{error} {count}" for error, count in errors.most_common(8))
            print(f"- {name}: {top}")


if __name__ == "__main__":
    main()
