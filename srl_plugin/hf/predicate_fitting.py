"""
A predicate finder for models that have none (converted allennlp-models `srl_bert` archives):
`fit_predicate_head` fits only the predicate-identification head (`predicate_classifier`, the
labels `O`/`B-V`/`I-V`) on the frozen encoder from a CoNLL-2012 corpus. The encoder's features
are computed once, as the labeler computes them (`sentence_frames`, no predicate marked), and the
linear head is fitted on them with L-BFGS: minutes on a CPU, nothing else in the model changes.

`srl-fit-predicates EXPORT CONLL_DIR --output DIR` (`srl_plugin.hf.cli.fit_predicates`) does it
for an existing export; `allennlp srl-export ARCHIVE DIR --predicate-data CONLL_DIR` while
exporting. How the head was fitted is recorded in the config's `srl_predicate_head_fit`.
"""

import logging
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn
from transformers import PreTrainedModel

from srl_plugin.hf.config import update_srl_settings
from srl_plugin.hf.conll import ConllSentence, read_conll2012
from srl_plugin.hf.frames import sentence_frames
from srl_plugin.hf.fusion import predicate_features
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.labels import PREDICATE_LABELS, predicate_bio_labels, predicate_spans
from srl_plugin.hf.predicates import count_predicates
from srl_plugin.hf.tokenization import Aligner

logger = logging.getLogger(__name__)

METHOD = "linear head on the frozen encoder, L-BFGS"


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
    head = nn.Linear(features.size(1), len(PREDICATE_LABELS))
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(
        head.parameters(), max_iter=max_iterations, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(features), targets)
        loss = loss + weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    # LBFGS takes a closure that returns the loss tensor.
    optimizer.step(closure)  # type: ignore[arg-type]
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
    sentences = list(read_conll2012(corpus))[:max_sentences]
    return fit_predicate_head(model, aligner, sentences, data_description(corpus), **kwargs)
