"""
Span precision, recall and F1 for semantic role labelling, computed exactly as allennlp-models'
`SrlEvalScorer` computes them with the CoNLL-2005 `srl-eval.pl` script, in pure Python.

This module imports neither AllenNLP nor torch: it is shared by the AllenNLP metric
(`srl_plugin.metrics.SrlSpanF1`) and the Hugging Face side, which runs without AllenNLP.

`SrlEvalScorer.__call__` writes each frame as two text files (gold and predicted) with
`write_conll_formatted_tags_to_file` and runs `perl srl-eval.pl gold predicted`. Rather than
re-deriving what the script ought to count, we rebuild the same text in memory and port the parts
of `srl-eval.pl` that read and score it (`read_columns`, `SRL::sentence::read_props`/`load_props`,
`SRL::phrase_set::load_SE_tagging`, `SRL::prop::load_SE_tagging`, `SRL::prop::discriminate_args`,
`evaluate_proposition`), so that every input gives the counts the script prints. What that means:

- A frame with no predicate (`verb_index` is `None`) is written with "-" in the predicate column
  on every line, so the script finds no proposition in it and counts **nothing**: neither the
  gold arguments (as missed) nor any predicted argument (as excess).
- An argument is a bracketed phrase of the frame's column. A phrase labelled `C-X` continues the
  most recent argument labelled `X` of the same frame (before it in the sentence): the two become
  one discontinuous argument of type `X`, which is correct only if the prediction has the same
  type and exactly the same pieces. A `C-X` phrase with no `X` argument before it becomes a
  plain argument of type `X` (so it is scored under label `X`, not `C-X`). `R-X` is not special:
  it is a label of its own.
- Arguments are matched on (start of their first piece, end of their last piece) and type; a
  discontinuous argument never matches a contiguous one.
- Counts are per argument type, except type `V` (the predicate), which the script reports apart
  and `SrlEvalScorer(ignore_classes=["V"])` (as `SrlBert` builds it) drops.
- A zero-length frame writes a lone blank line, which the script takes for the end of the file:
  that frame and every frame after it in the same batch are not scored.
- Input the script dies on (for example a predicate word holding a space, which splits into an
  extra column) raises `ValueError` here, where `SrlEvalScorer` raises `CalledProcessError`.
"""

import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from srl_plugin.hf.labels import convert_bio_tags_to_conll_format

# srl-eval.pl excludes these argument types from its per-type counts (`%excluded`).
EXCLUDED_TYPES = frozenset({"V"})

# Perl's `split(" ", $line)` on a byte string splits on ASCII whitespace only (\s includes \v
# since perl 5.18); Python's `str.split()` would also split on Unicode spaces.
_PERL_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
# SRL::phrase_set::load_SE_tagging: an opening bracket with its type, and a closing bracket.
_OPENING = re.compile(r"\(((?:\\\*|[^*(])+)")
_CLOSING = re.compile(r"([^)]*)\)")
# write_conll_formatted_tags_to_file pads words to the left and tags to the right to this width.
_COLUMN_WIDTH = 15
# Labels that srl-eval.pl counts but SrlEvalScorer does not read back from its output: it reads
# only lines of 7 fields (an empty label leaves 6) and skips the line starting "Overall".
_UNREAD_LABELS = frozenset({"", "Overall"})
# The predicate word used by `count_frame` when it is not given one.
_DEFAULT_VERB_WORD = "verb"


class SpanCounts:
    """
    Per-label span counts: true positives (srl-eval.pl's "corr."), false positives ("excess")
    and false negatives ("missed"). A label is present once any of its counts has been added.
    """

    def __init__(self) -> None:
        self.true_positives: Dict[str, int] = {}
        self.false_positives: Dict[str, int] = {}
        self.false_negatives: Dict[str, int] = {}

    def add(
        self,
        label: str,
        true_positives: int = 0,
        false_positives: int = 0,
        false_negatives: int = 0,
    ) -> None:
        """
        Adds counts for one label.

        # Parameters

        label : `str`
        true_positives : `int`, optional (default = `0`)
        false_positives : `int`, optional (default = `0`)
        false_negatives : `int`, optional (default = `0`)
        """
        self.true_positives[label] = self.true_positives.get(label, 0) + true_positives
        self.false_positives[label] = self.false_positives.get(label, 0) + false_positives
        self.false_negatives[label] = self.false_negatives.get(label, 0) + false_negatives

    def update(self, other: "SpanCounts", ignore_classes: Iterable[str] = ()) -> None:
        """
        Adds all the counts of `other`, except those of the labels in `ignore_classes`.

        # Parameters

        other : `SpanCounts`
        ignore_classes : `Iterable[str]`, optional (default = `()`)
        """
        ignored = set(ignore_classes)
        for label, (tp, fp, fn) in other.per_label().items():
            if label not in ignored:
                self.add(label, tp, fp, fn)

    def labels(self) -> List[str]:
        """
        # Returns

        `List[str]`
            The labels with counts, sorted.
        """
        return sorted(self.true_positives)

    def per_label(self) -> Dict[str, Tuple[int, int, int]]:
        """
        # Returns

        `Dict[str, Tuple[int, int, int]]`
            `(true_positives, false_positives, false_negatives)` for each label.
        """
        return {
            label: (
                self.true_positives[label],
                self.false_positives[label],
                self.false_negatives[label],
            )
            for label in self.true_positives
        }

    def totals(self) -> Tuple[int, int, int]:
        """
        # Returns

        `Tuple[int, int, int]`
            `(true_positives, false_positives, false_negatives)` summed over all labels.
        """
        return (
            sum(self.true_positives.values()),
            sum(self.false_positives.values()),
            sum(self.false_negatives.values()),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanCounts):
            return NotImplemented
        return self.per_label() == other.per_label()

    def __repr__(self) -> str:
        return f"SpanCounts({self.per_label()})"


def span_prf(
    true_positives: int, false_positives: int, false_negatives: int
) -> Tuple[float, float, float]:
    """
    Precision, recall and F1 with the formulas of `SrlEvalScorer._compute_metrics`: each
    denominator gets `1e-13` added, so that nothing divides by zero and an empty count gives 0.

    # Parameters

    true_positives : `int`
    false_positives : `int`
    false_negatives : `int`

    # Returns

    `Tuple[float, float, float]`
        `(precision, recall, f1_measure)`, as fractions (not percentages).
    """
    precision = true_positives / (true_positives + false_positives + 1e-13)
    recall = true_positives / (true_positives + false_negatives + 1e-13)
    f1_measure = 2.0 * (precision * recall) / (precision + recall + 1e-13)
    return precision, recall, f1_measure


def precision_recall_f1(counts: SpanCounts) -> Dict[str, float]:
    """
    The metrics dictionary of `SrlEvalScorer.get_metric`: `precision-X`, `recall-X` and
    `f1-measure-X` for each label `X`, and `precision-overall`, `recall-overall` and
    `f1-measure-overall` computed from the counts summed over all labels.

    # Parameters

    counts : `SpanCounts`

    # Returns

    `Dict[str, float]`
    """
    all_metrics: Dict[str, float] = {}
    for label, (tp, fp, fn) in counts.per_label().items():
        if label == "overall":
            raise ValueError(
                "'overall' is disallowed as a tag type, "
                "rename the tag type to something else if necessary."
            )
        precision, recall, f1_measure = span_prf(tp, fp, fn)
        all_metrics["precision-" + label] = precision
        all_metrics["recall-" + label] = recall
        all_metrics["f1-measure-" + label] = f1_measure
    precision, recall, f1_measure = span_prf(*counts.totals())
    all_metrics["precision-overall"] = precision
    all_metrics["recall-overall"] = recall
    all_metrics["f1-measure-overall"] = f1_measure
    return all_metrics


def count_frame(
    predicted_bio_tags: Sequence[str],
    gold_bio_tags: Sequence[str],
    verb_index: Optional[int],
    sentence: Optional[Sequence[str]] = None,
) -> SpanCounts:
    """
    Scores one frame (one predicate of one sentence) as `srl-eval.pl` does.

    # Parameters

    predicted_bio_tags : `Sequence[str]`
        The predicted BIO tags.
    gold_bio_tags : `Sequence[str]`
        The gold BIO tags.
    verb_index : `Optional[int]`
        The position of the predicate, or `None` if the sentence has none (then nothing is
        counted).
    sentence : `Sequence[str]`, optional (default = `None`)
        The words. Only the predicate's word is read (the script compares the predicate words of
        the two files, and a word holding a space or a lone "-" changes what it reads); when not
        given, a plain placeholder word is used.

    # Returns

    `SpanCounts`
        Per-label true positive, false positive and false negative counts, `V` excluded.
    """
    if sentence is None:
        sentence = [_DEFAULT_VERB_WORD] * len(gold_bio_tags)
    return count_bio_batch([verb_index], [sentence], [predicted_bio_tags], [gold_bio_tags])


def count_bio_batch(
    batch_verb_indices: Sequence[Optional[int]],
    batch_sentences: Sequence[Sequence[str]],
    batch_predicted_bio_tags: Sequence[Sequence[str]],
    batch_gold_bio_tags: Sequence[Sequence[str]],
) -> SpanCounts:
    """
    Scores a batch of frames given as BIO tags: `count_conll_batch` after
    `convert_bio_tags_to_conll_format`, as `SrlBert` feeds `SrlEvalScorer`.

    # Parameters

    batch_verb_indices : `Sequence[Optional[int]]`
    batch_sentences : `Sequence[Sequence[str]]`
    batch_predicted_bio_tags : `Sequence[Sequence[str]]`
    batch_gold_bio_tags : `Sequence[Sequence[str]]`

    # Returns

    `SpanCounts`
    """
    return count_conll_batch(
        batch_verb_indices,
        batch_sentences,
        [convert_bio_tags_to_conll_format(tags) for tags in batch_predicted_bio_tags],
        [convert_bio_tags_to_conll_format(tags) for tags in batch_gold_bio_tags],
    )


def count_conll_batch(
    batch_verb_indices: Sequence[Optional[int]],
    batch_sentences: Sequence[Sequence[str]],
    batch_conll_formatted_predicted_tags: Sequence[Sequence[str]],
    batch_conll_formatted_gold_tags: Sequence[Sequence[str]],
) -> SpanCounts:
    """
    The per-label counts that one `SrlEvalScorer.__call__` with these arguments reads from
    `srl-eval.pl`, `V` excluded: the same text files are built in memory and read and scored the
    way the script does.

    # Parameters

    batch_verb_indices : `Sequence[Optional[int]]`
        The position of each frame's predicate, or `None` if its sentence has none.
    batch_sentences : `Sequence[Sequence[str]]`
        The words of each frame.
    batch_conll_formatted_predicted_tags : `Sequence[Sequence[str]]`
        The predicted CoNLL-formatted tags of each frame.
    batch_conll_formatted_gold_tags : `Sequence[Sequence[str]]`
        The gold CoNLL-formatted tags of each frame.

    # Returns

    `SpanCounts`
        Without the labels `SrlEvalScorer` fails to read back from the script's output: an empty
        label (from a tag `B-C-`) and `Overall`.

    # Raises

    `ValueError`
        Where `srl-eval.pl` would die (and `SrlEvalScorer` raise), e.g. on unbalanced brackets.
    """
    predicted_lines: List[str] = []
    gold_lines: List[str] = []
    for verb_index, sentence, predicted_tags, gold_tags in zip(
        batch_verb_indices,
        batch_sentences,
        batch_conll_formatted_predicted_tags,
        batch_conll_formatted_gold_tags,
    ):
        # As allennlp-models' write_conll_formatted_tags_to_file.
        verb_only_sentence = ["-"] * len(sentence)
        if verb_index is not None:
            verb_only_sentence[verb_index] = sentence[verb_index]
        for word, predicted, gold in zip(verb_only_sentence, predicted_tags, gold_tags):
            predicted_lines.append(word.ljust(_COLUMN_WIDTH) + predicted.rjust(_COLUMN_WIDTH))
            gold_lines.append(word.ljust(_COLUMN_WIDTH) + gold.rjust(_COLUMN_WIDTH))
        predicted_lines.append("")
        gold_lines.append("")
    # Perl reads lines up to "\n" only (a word may hold "\r" or another line break).
    gold_file = _ColumnReader("\n".join(gold_lines).split("\n"))
    predicted_file = _ColumnReader("\n".join(predicted_lines).split("\n"))
    counts = SpanCounts()
    counts.update(_evaluate_files(gold_file, predicted_file), ignore_classes=_UNREAD_LABELS)
    return counts


# ----------------------------------------------------------------------------------------------
# The port of srl-eval.pl.


class _SrlEvalError(ValueError):
    """Raised where srl-eval.pl dies."""

    def __init__(self, message: str) -> None:
        super().__init__(f"srl-eval.pl would die on this input: {message}")


class _Phrase:
    """SRL::phrase, and SRL::arg (an argument is the phrase object it was read as)."""

    __slots__ = ("start", "end", "type", "phrases")

    def __init__(self, start: int, end: int, type_: str) -> None:
        self.start = start
        self.end = end
        self.type = type_
        # Embedded phrases, then the pieces of a discontinuous argument. An argument is single
        # (contiguous) when this is empty.
        self.phrases: List["_Phrase"] = []

    def dfs(self) -> List["_Phrase"]:
        result = [self]
        for phrase in self.phrases:
            result.extend(phrase.dfs())
        return result


class _Prop:
    """SRL::prop: a predicate word, its position and its arguments."""

    __slots__ = ("verb", "position", "args")

    def __init__(self, verb: str, position: int) -> None:
        self.verb = verb
        self.position = position
        self.args: List[_Phrase] = []

    def load_se_tagging(self, tags: Sequence[str]) -> None:
        """SRL::prop::load_SE_tagging: phrases become arguments, C-X continues the last X."""
        by_type: Dict[str, _Phrase] = {}
        for phrase in _load_phrase_set(tags):
            if phrase.type.startswith("C-"):
                type_ = phrase.type[2:]
                head = by_type.get(type_)
                if head is not None:
                    if not head.phrases:
                        # The head phrase, taken for a whole argument until now.
                        head.phrases.append(_Phrase(head.start, head.end, type_))
                    head.phrases.append(phrase)
                    head.end = phrase.end
                else:
                    # A continuation without its head is read as a plain argument of type X.
                    phrase.type = type_
                    self.args.append(phrase)
                    by_type[type_] = phrase
            else:
                self.args.append(phrase)
                by_type[phrase.type] = phrase


def _load_phrase_set(tags: Sequence[str]) -> List[_Phrase]:
    """
    SRL::phrase_set::load_SE_tagging followed by SRL::phrase_set::phrases: the phrases of a
    column of Start-End tags, by start, the longest first (one phrase per (start, end): a later
    one replaces an earlier one).
    """
    phrase_set: Dict[Tuple[int, int], _Phrase] = {}
    started: List[_Phrase] = []
    for wid, tag in enumerate(tags):
        if tag == "*":
            continue
        while not tag.startswith("*"):
            opening = _OPENING.match(tag)
            if opening is None:
                raise _SrlEvalError(f"opening nodes -- bad format in {tag} at {wid}-th position")
            started.append(_Phrase(wid, -1, opening.group(1)))
            tag = tag[opening.end() :]
        tag = tag[1:]
        while tag != "":
            closing = _CLOSING.match(tag)
            if closing is None:
                raise _SrlEvalError(f"closing phrases -- bad format in {tag}")
            type_ = closing.group(1)
            tag = tag[closing.end() :]
            if not started:
                raise _SrlEvalError(f"closing a phrase that was not opened at {wid}-th position")
            phrase = started.pop()
            # Perl's false strings: "" and "0".
            if type_ not in ("", "0") and type_ != phrase.type:
                raise _SrlEvalError("types do not match")
            phrase.end = wid
            if started:
                started[-1].phrases.append(phrase)
            else:
                for added in phrase.dfs():
                    phrase_set[(added.start, added.end)] = added
    if started:
        raise _SrlEvalError("some phrases are unclosed")
    return [phrase_set[key] for key in sorted(phrase_set, key=lambda key: (key[0], -key[1]))]


class _ColumnReader:
    """The lines of one file, read a sentence (a block of non-blank lines) at a time."""

    def __init__(self, lines: List[str]) -> None:
        self._lines = lines
        self._position = 0

    def read_columns(self) -> List[List[str]]:
        """read_columns: the whitespace-separated columns up to a blank line or the end."""
        columns: List[List[str]] = []
        while self._position < len(self._lines):
            tokens = [
                token for token in _PERL_WHITESPACE.split(self._lines[self._position]) if token
            ]
            self._position += 1
            if not tokens:
                break
            for i, token in enumerate(tokens):
                if i == len(columns):
                    columns.append([])
                columns[i].append(token)
        return columns


def _load_props(targets: List[str], columns: List[List[str]]) -> Dict[int, _Prop]:
    """SRL::sentence::load_props: one proposition per target, with the next column of args."""
    props: Dict[int, _Prop] = {}
    for position, target in enumerate(targets):
        if target != "-":
            prop = _Prop(target, position)
            if columns:
                prop.load_se_tagging(columns.pop(0))
            props[position] = prop
    return props


def _evaluate_files(gold_file: _ColumnReader, predicted_file: _ColumnReader) -> SpanCounts:
    """The main loop of srl-eval.pl."""
    counts = SpanCounts()
    sentence_id = 0
    while True:
        # SRL::sentence::read_props
        gold_columns = gold_file.read_columns()
        if not gold_columns:
            break
        gold_targets = gold_columns.pop(0)
        gold_props = _load_props(gold_targets, gold_columns)
        predicted_columns = predicted_file.read_columns()
        if not predicted_columns:
            raise _SrlEvalError(f"sentence {sentence_id} : the predicted file ended early")
        predicted_targets = predicted_columns.pop(0)
        if len(predicted_targets) != len(gold_targets):
            raise _SrlEvalError(
                f"sentence {sentence_id} : gold and pred sentences do not align correctly"
            )
        predicted_props = _load_props(predicted_targets, predicted_columns)
        for position, gold_prop in gold_props.items():
            predicted_prop = predicted_props.get(position)
            if predicted_prop is None or predicted_prop.verb != gold_prop.verb:
                # A missing or mismatched predicted proposition: all gold arguments are missed.
                predicted_prop = _Prop(gold_prop.verb, position)
            _evaluate_proposition(gold_prop, predicted_prop, counts)
        sentence_id += 1
    return counts


def _evaluate_proposition(gold_prop: _Prop, predicted_prop: _Prop, counts: SpanCounts) -> None:
    """evaluate_proposition and SRL::prop::discriminate_args."""
    gold_args: Dict[Tuple[int, int], _Phrase] = {}
    for arg in gold_prop.args:
        gold_args[(arg.start, arg.end)] = arg
    for arg in predicted_prop.args:
        key = (arg.start, arg.end)
        gold = gold_args.get(key)
        correct = False
        if gold is None or bool(gold.phrases) != bool(arg.phrases):
            # No gold argument there, or a contiguous one against a discontinuous one.
            correct = False
        elif not gold.phrases:
            correct = gold.type == arg.type
        elif gold.type == arg.type:
            # Two discontinuous arguments: the same pieces, no more, no fewer.
            pieces: Set[Tuple[int, int]] = {(piece.start, piece.end) for piece in gold.phrases}
            correct = True
            for piece in arg.phrases:
                if (piece.start, piece.end) in pieces:
                    pieces.discard((piece.start, piece.end))
                else:
                    correct = False
                    break
            correct = correct and not pieces
        if correct:
            del gold_args[key]
            if arg.type not in EXCLUDED_TYPES:
                counts.add(arg.type, true_positives=1)
        elif arg.type not in EXCLUDED_TYPES:
            counts.add(arg.type, false_positives=1)
    for gold in gold_args.values():
        if gold.type not in EXCLUDED_TYPES:
            counts.add(gold.type, false_negatives=1)
