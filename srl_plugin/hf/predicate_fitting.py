"""
Heads fitted afterwards on a frozen encoder, for models that lack them (converted
allennlp-models `srl_bert` archives, older exports), from a CoNLL-2012 corpus:

- `fit_predicate_head`: the predicate-identification head (`predicate_classifier`, the labels
  `O`/`B-V`/`I-V`), on the encoder's features read as the labeler reads a raw sentence
  (`sentence_frames`, no predicate marked).
- `fit_sense_head`: the sense head (`sense_classifier`, one row per roleset of the corpus's
  frameset column), on what the sense head reads of each gold frame (`fusion.sense_features`),
  trained as it is decoded (`srl_plugin.hf.senses`, design B): a softmax over the rolesets of
  the predicate's lemma; optionally also on PropBank's frame-file example sentences
  (`rolesets.read_examples`), which give rows to the rolesets a small corpus lacks.

The features are computed once and the linear head is fitted on them with L-BFGS: minutes on a
CPU, nothing else in the model changes. `srl-fit-predicates EXPORT CONLL_DIR --output DIR
[--heads predicate sense]` (`srl_plugin.hf.cli.fit_predicates`) does it for an existing export;
`allennlp srl-export ARCHIVE DIR --predicate-data CONLL_DIR` fits a predicate head while
exporting. How a head was fitted is recorded in the config (`srl_predicate_head_fit`,
`srl_sense_head_fit`).
"""

import logging
import os
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn
from transformers import PreTrainedModel

from srl_plugin.hf.config import set_rolesets, set_sense_head_fit, update_srl_settings
from srl_plugin.hf.conll import ConllSentence, read_conll2012
from srl_plugin.hf.frames import sentence_frames, wordpiece_frame
from srl_plugin.hf.fusion import predicate_features, sense_features
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.labels import PREDICATE_LABELS, predicate_bio_labels, predicate_spans
from srl_plugin.hf.predicates import count_predicates
from srl_plugin.hf.rolesets import EXAMPLES_WEIGHT, RolesetExample, read_examples
from srl_plugin.hf.senses import SenseDecoder, predicate_lemma
from srl_plugin.hf.tokenization import Aligner

logger = logging.getLogger(__name__)

METHOD = "linear head on the frozen encoder, L-BFGS"
SENSE_METHOD = (
    "linear head on the frozen encoder, softmax over the rolesets of each predicate's lemma, L-BFGS"
)
# The heads that can be fitted, by the names `--heads` takes.
HEADS = ("predicate", "sense")
# (words, predicate word indices): one frame of a sentence.
Frame = Tuple[Sequence[str], Sequence[int]]


def fit_linear_head(
    in_features: int,
    out_features: int,
    losses: Optional[Callable[[nn.Linear], Iterable[torch.Tensor]]],
    max_iterations: int,
    weight_decay: float,
) -> nn.Linear:
    """
    A linear head, zero at the start, fitted with L-BFGS (all the data at once, `max_iterations`
    iterations) to minimise `weight_decay` times the squared norm of its weights plus each loss
    term that `losses(head)` gives. Without `losses` (nothing to fit) it stays zero.
    """
    head = nn.Linear(in_features, out_features)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    if losses is None:
        return head
    optimizer = torch.optim.LBFGS(
        head.parameters(), max_iter=max_iterations, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = weight_decay * head.weight.pow(2).sum()
        for term in losses(head):
            loss = loss + term
        loss.backward()
        return loss

    # LBFGS takes a closure that returns the loss tensor.
    optimizer.step(closure)  # type: ignore[arg-type]
    return head


def encoder_features(
    labeler: SemanticRoleLabeler, sentences: Sequence[Sequence[str]]
) -> Tuple[torch.Tensor, List[Tuple[int, int]]]:
    """
    What the predicate head reads at each word's first wordpiece (`predicate_features`: the
    encoder's output, or the shared encoding of a fused model), read as predicate identification
    reads the sentence (consecutive windows, no predicate marked), with the labeler's batching.
    Returns `(features, positions)`: one row per word, and its (sentence, word) index.
    """
    windows = [
        (index, frame)
        for index, words in enumerate(sentences)
        for frame in sentence_frames(labeler.aligner, words, labeler.max_wordpieces)
    ]
    rows: List[torch.Tensor] = []
    positions: List[Tuple[int, int]] = []
    for batch in labeler.batches([frame for _, frame in windows]):
        input_ids, attention_mask, _ = labeler.tensors([frame for _, frame in batch])
        with torch.no_grad():
            # Shape: (batch_size, num_wordpieces, hidden_size)
            hidden = predicate_features(labeler.model, input_ids, attention_mask).float().cpu()
        for row, (window_index, frame) in zip(hidden, batch):
            sentence = windows[window_index][0]
            offsets = list(frame.word_offsets())
            # Shape: (num_words_in_window, hidden_size); a copy, not a view of the batch.
            rows.append(row[[offset for _, offset in offsets]])
            positions.extend((sentence, word) for word, _ in offsets)
    return torch.cat(rows), positions


def fit_predicate_head(
    model: PreTrainedModel,
    aligner: Aligner,
    sentences: Sequence[ConllSentence],
    data_name: str,
    max_iterations: int = 200,
    weight_decay: float = 1e-4,
    batch_size: int = 64,
) -> Dict[str, Any]:
    """
    Fits a new `predicate_classifier` on `sentences` (their gold `V` spans) with the encoder
    frozen, puts it into `model` (replacing any head it had) and records the fit in
    the config's `srl_predicate_head_fit`. Returns that record: data name, sentences, words,
    method, and predicate P/R/F1 on the fitting data.

    # Parameters

    data_name : `str`
        How the data is named in the config and model card (no absolute path).
    max_iterations : `int`
        L-BFGS iterations over all the words at once (the loss is convex: it converges).
    weight_decay : `float`
        L2 penalty on the head's weights.
    """
    if not sentences:
        raise ValueError(f"{data_name}: no sentences to fit the predicate head on")
    started = time.time()
    model.eval()
    labeler = SemanticRoleLabeler(model, aligner, batch_size=batch_size)
    words = [sentence.words for sentence in sentences]
    features, positions = encoder_features(labeler, words)
    gold = [predicate_bio_labels(len(s.words), s.frames) for s in sentences]
    targets = torch.tensor([gold[sentence][word] for sentence, word in positions])
    if not (targets == 1).any():
        raise ValueError(f"{data_name}: no predicates (V spans) in {len(sentences)} sentences")
    logger.info(
        "fitting the predicate head on %d words of %d sentences", len(targets), len(sentences)
    )
    head = fit_linear_head(
        features.size(1),
        len(PREDICATE_LABELS),
        lambda linear: [nn.functional.cross_entropy(linear(features), targets)],
        max_iterations,
        weight_decay,
    )
    with torch.no_grad():
        predicted = head(features).argmax(-1).tolist()
    labels: List[List[int]] = [[0] * len(s.words) for s in sentences]
    for (sentence, word), label in zip(positions, predicted):
        labels[sentence][word] = label
    scores = count_predicates(
        [predicate_spans(row) for row in labels], [s.predicates for s in sentences]
    ).scores()
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    model.predicate_classifier = head.to(device=device, dtype=dtype)
    record = {
        "data": data_name,
        "sentences": len(sentences),
        "words": len(targets),
        "method": METHOD,
        **{f"fit_{name}": round(value, 4) for name, value in scores.items()},
    }
    update_srl_settings(model.config, predicate_head=True, predicate_head_fit=record)
    logger.info("fitted the predicate head in %.0f s: %s", time.time() - started, record)
    return record


def frame_features(labeler: SemanticRoleLabeler, frames: Sequence[Frame]) -> torch.Tensor:
    """
    Shape `(num_frames, hidden_size)`: what the sense head reads for each frame
    (`fusion.sense_features`), its window around the predicate and batching the labeler's.
    """
    wordpieces = [
        wordpiece_frame(labeler.aligner, words, predicate, labeler.max_wordpieces)
        for words, predicate in frames
    ]
    rows: List[Optional[torch.Tensor]] = [None] * len(frames)
    for batch in labeler.batches(wordpieces):
        input_ids, attention_mask, token_type_ids = labeler.tensors([frame for _, frame in batch])
        with torch.no_grad():
            # Shape: (batch_size, hidden_size)
            vectors = sense_features(labeler.model, input_ids, attention_mask, token_type_ids)
        for (index, _), vector in zip(batch, vectors.float().cpu()):
            rows[index] = vector
    return torch.stack([row for row in rows if row is not None])


def sense_examples(
    sentences: Sequence[ConllSentence],
) -> Tuple[List[Frame], List[str], List[str]]:
    """
    The frames of `sentences` (read with `keep_lines`) that have a roleset: `(frames, rolesets,
    predicates)`, each predicate's words joined by spaces (what `SenseDecoder.decode` takes).
    """
    frames: List[Frame] = []
    rolesets: List[str] = []
    predicates: List[str] = []
    for sentence in sentences:
        for predicate, roleset in zip(sentence.frame_predicates, sentence.frame_rolesets):
            if roleset and predicate:
                frames.append((sentence.words, predicate))
                rolesets.append(roleset)
                predicates.append(" ".join(sentence.words[i] for i in predicate))
    return frames, rolesets, predicates


def sense_accuracy(
    decoder: SenseDecoder, logits: torch.Tensor, rolesets: Sequence[str], predicates: Sequence[str]
) -> float:
    """The share of frames whose decoded roleset (design B, lemmatized) is `rolesets`'."""
    senses = decoder.decode(logits, predicates)
    return sum(s.roleset == r for s, r in zip(senses, rolesets)) / max(len(rolesets), 1)


def fit_sense_head(
    model: PreTrainedModel,
    aligner: Aligner,
    sentences: Sequence[ConllSentence],
    data_name: str,
    max_iterations: int = 200,
    weight_decay: float = 1e-4,
    batch_size: int = 64,
    examples: Sequence[RolesetExample] = (),
    examples_weight: float = EXAMPLES_WEIGHT,
) -> Dict[str, Any]:
    """
    Fits a new `sense_classifier` on the rolesets of `sentences` (read with `keep_lines`: the
    frameset column) with the encoder frozen, puts it into `model` with its rolesets (config
    `srl_rolesets`, sorted; replacing any sense head it had) and records the fit in the config's
    `srl_sense_head_fit`. Returns that record: data name, sentences, frames, rolesets, method and
    sense accuracy on the fitting data (design B, lemmas from `senses.lemmatize`).

    Each frame's loss is the cross entropy over its candidates, the head's rolesets of its
    lemma (`SenseDecoder.candidate_rows`, the gold one added where the lemmatizer misses it):
    what design B decodes. A roleset that is its lemma's only candidate keeps a zero row.

    # Parameters

    data_name : `str`
        How the data is named in the config and model card (no absolute path).
    max_iterations : `int`
        L-BFGS iterations over all the frames at once (the loss is convex: it converges).
    weight_decay : `float`
        L2 penalty on the head's weights.
    examples : `Sequence[RolesetExample]`
        More frames to fit on: the frame files' example sentences (`rolesets.read_examples`),
        which give the head rows for rolesets that `sentences` lack. Those whose roleset is not a
        candidate of their predicate word's lemma (design B could never decode it from that
        word) are left out.
    examples_weight : `float`
        What an example weighs against a frame of `sentences` in the loss.
    """
    frames, gold, predicates = sense_examples(sentences)
    if not frames:
        raise ValueError(
            f"{data_name}: no frames with a roleset (CoNLL-2012 frameset column) in "
            f"{len(sentences)} sentences"
        )
    started = time.time()
    model.eval()
    labeler = SemanticRoleLabeler(model, aligner, batch_size=batch_size)
    corpus_frames = len(frames)
    usable = decodable_examples(examples, gold)
    frames += [(example.words, [example.predicate]) for example in usable]
    gold += [example.roleset for example in usable]
    predicates += [example.words[example.predicate] for example in usable]
    weights = torch.tensor([1.0] * corpus_frames + [examples_weight] * len(usable))
    rolesets = sorted(set(gold))
    decoder = SenseDecoder(rolesets)
    row_of = {roleset: row for row, roleset in enumerate(rolesets)}
    # Frames with several candidate rows, grouped by how many: (frame, candidate rows, the gold
    # one's position among them).
    groups: Dict[int, List[Tuple[int, Tuple[int, ...], int]]] = {}
    for index, (roleset, predicate) in enumerate(zip(gold, predicates)):
        rows = set(decoder.candidate_rows(predicate_lemma(predicate))) | {row_of[roleset]}
        if len(rows) > 1:
            candidates = tuple(sorted(rows))
            position = candidates.index(row_of[roleset])
            groups.setdefault(len(candidates), []).append((index, candidates, position))
    logger.info(
        "fitting the sense head (%d rolesets) on %d frames of %d sentences and %d examples",
        len(rolesets),
        corpus_frames,
        len(sentences),
        len(usable),
    )
    features = frame_features(labeler, frames)
    batches = [
        (
            torch.tensor([candidates for _, candidates, _ in members]),
            features[torch.tensor([index for index, _, _ in members])],
            torch.tensor([position for _, _, position in members]),
            weights[torch.tensor([index for index, _, _ in members])],
        )
        for members in groups.values()
    ]

    def group_losses(head: nn.Linear) -> Iterator[torch.Tensor]:
        for rows, inputs, targets, frame_weights in batches:
            # Shape: (frames_of_group, candidates)
            logits = torch.einsum("fh,fch->fc", inputs, head.weight[rows]) + head.bias[rows]
            losses = nn.functional.cross_entropy(logits, targets, reduction="none")
            yield (losses * frame_weights).sum() / corpus_frames

    head = fit_linear_head(
        features.size(1),
        len(rolesets),
        group_losses if batches else None,
        max_iterations,
        weight_decay,
    )
    with torch.no_grad():
        accuracy = sense_accuracy(
            decoder,
            head(features[:corpus_frames]),
            gold[:corpus_frames],
            predicates[:corpus_frames],
        )
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    model.sense_classifier = head.to(device=device, dtype=dtype)
    set_rolesets(model.config, rolesets)
    record = {
        "data": data_name,
        "sentences": len(sentences),
        "frames": corpus_frames,
        "rolesets": len(rolesets),
        "method": SENSE_METHOD,
        "fit_sense_accuracy": round(accuracy, 4),
    }
    if usable:
        record.update(
            {
                "frame_file_examples": len(usable),
                "frame_file_examples_weight": examples_weight,
            }
        )
    set_sense_head_fit(model.config, record)
    logger.info("fitted the sense head in %.0f s: %s", time.time() - started, record)
    return record


def decodable_examples(
    examples: Sequence[RolesetExample], rolesets: Sequence[str]
) -> List[RolesetExample]:
    """
    The `examples` whose roleset is among the candidates of their predicate word's lemma in a
    head with their rolesets and `rolesets` (`SenseDecoder.candidate_rows`): those that design
    B can decode (not an example whose `rel` points at another word).
    """
    if not examples:
        return []
    every = sorted(set(rolesets) | {example.roleset for example in examples})
    decoder = SenseDecoder(every)
    row_of = {roleset: row for row, roleset in enumerate(every)}
    return [
        example
        for example in examples
        if row_of[example.roleset]
        in decoder.candidate_rows(predicate_lemma(example.words[example.predicate]))
    ]


def evaluate_senses(
    model: PreTrainedModel, aligner: Aligner, path: str, batch_size: int = 64
) -> Dict[str, float]:
    """
    The sense accuracy of a model's sense head on the gold frames of a CoNLL-2012 file or
    folder (design B, lemmas from `senses.lemmatize`), and on those whose lemma has several
    rolesets in the head (`ambiguous_sense_accuracy`).
    """
    decoder = SenseDecoder.of(model)
    if decoder is None:
        raise ValueError("the model has no sense head to evaluate")
    frames, gold, predicates = sense_examples(list(read_conll2012(path, keep_lines=True)))
    if not frames:
        raise ValueError(f"{path}: no frames with a roleset (CoNLL-2012 frameset column)")
    model.eval()
    labeler = SemanticRoleLabeler(model, aligner, batch_size=batch_size)
    features = frame_features(labeler, frames)
    assert model.sense_classifier is not None
    with torch.no_grad():
        head = model.sense_classifier
        logits = head(features.to(device=head.weight.device, dtype=head.weight.dtype))
    ambiguous = [
        i for i, p in enumerate(predicates) if len(decoder.candidate_rows(predicate_lemma(p))) > 1
    ]
    scores = {"sense_accuracy": sense_accuracy(decoder, logits, gold, predicates)}
    if ambiguous:
        scores["ambiguous_sense_accuracy"] = sense_accuracy(
            decoder,
            logits[ambiguous],
            [gold[i] for i in ambiguous],
            [predicates[i] for i in ambiguous],
        )
    return scores


def evaluate_predicates(labeler: SemanticRoleLabeler, path: str) -> Dict[str, float]:
    """Predicate P/R/F1 of the labeler's predicate finder on a CoNLL-2012 file or folder."""
    sentences = list(read_conll2012(path))
    found = labeler.find_predicates([s.words for s in sentences])
    return count_predicates(found, [s.predicates for s in sentences]).scores()


def data_description(path: str) -> str:
    """A corpus named by the last two parts of its path (`conll2012/train`), never absolutely."""
    from srl_plugin.hf.checkpoints.model_card import relative_description

    return relative_description(os.path.abspath(path))


def fit_from_corpus(
    model: PreTrainedModel,
    aligner: Aligner,
    corpus: str,
    max_sentences: Optional[int] = None,
    **kwargs: Any,
) -> Dict[str, Any]:
    """`fit_predicate_head` on a CoNLL-2012 file or folder (its first `max_sentences`)."""
    return fit_heads_from_corpus(model, aligner, corpus, max_sentences, ["predicate"], **kwargs)[
        "predicate"
    ]


def fit_heads_from_corpus(
    model: PreTrainedModel,
    aligner: Aligner,
    corpus: str,
    max_sentences: Optional[int] = None,
    heads: Sequence[str] = HEADS,
    frame_examples: Optional[float] = None,
    **kwargs: Any,
) -> Dict[str, Dict[str, Any]]:
    """
    `fit_predicate_head` and/or `fit_sense_head` (`heads`: `predicate`, `sense`) on a CoNLL-2012
    file or folder (its first `max_sentences`); with `frame_examples`, the sense head on the
    shipped frame files' example sentences too, each weighing `frame_examples` of a corpus frame
    (`EXAMPLES_WEIGHT` is the measured choice). Returns each fitted head's record by its name.
    """
    unknown = sorted(set(heads) - set(HEADS))
    if unknown or not heads:
        raise ValueError(f"heads must be some of {', '.join(HEADS)}, not {', '.join(unknown)}")
    sentences = list(read_conll2012(corpus, keep_lines="sense" in heads))[:max_sentences]
    name = data_description(corpus)
    records = {}
    if "predicate" in heads:
        records["predicate"] = fit_predicate_head(model, aligner, sentences, name, **kwargs)
    if "sense" in heads:
        if frame_examples is not None:
            kwargs.update(examples=read_examples(), examples_weight=frame_examples)
        records["sense"] = fit_sense_head(model, aligner, sentences, name, **kwargs)
    return records
