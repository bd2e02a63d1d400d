"""
`srl_plugin.hf.srl_eval` and `SrlSpanF1` against allennlp-models' `SrlEvalScorer`, which runs the
real `srl-eval.pl` (shipped with allennlp-models) with perl: the same frames must give the same
per-label counts and the same metrics, bit for bit. The real frames are EWT PropBank dev from the
shipped data/ewt_propbank_srl.tar.gz.
"""

import json
import random
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from allennlp.data.dataset_readers.dataset_utils.span_utils import (
    bio_tags_to_spans as allennlp_bio_tags_to_spans,
)
from allennlp_models.structured_prediction.metrics.srl_eval_scorer import SrlEvalScorer
from allennlp_models.structured_prediction.models.srl import (
    convert_bio_tags_to_conll_format as allennlp_convert_bio_tags_to_conll_format,
)

from srl_plugin.hf.labels import bio_tags_to_spans, convert_bio_tags_to_conll_format
from srl_plugin.hf.srl_eval import (
    SpanCounts,
    count_conll_batch,
    count_frame,
    precision_recall_f1,
    span_prf,
)
from srl_plugin.metrics import SrlSpanF1
from tests.conll import read_conll_sentences

# Sentences read from the start of each of the 5 dev files (about 130 frames per 50 sentences).
SENTENCES_PER_FILE = 50
# Perturbed copies of each gold frame.
VARIANTS_PER_FRAME = 3
BATCH_SIZE = 32

# (verb index, words, predicted BIO tags, gold BIO tags)
Frame = Tuple[Optional[int], List[str], List[str], List[str]]

requires_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="srl-eval.pl needs perl")


# ----------------------------------------------------------------------------------------------
# Frames


def _gold_frames(
    dev: Path, sentences_per_file: int
) -> List[Tuple[Optional[int], List[str], List[str]]]:
    """Gold frames as `SrlReader` builds them: one per predicate, or one with no predicate."""
    frames: List[Tuple[Optional[int], List[str], List[str]]] = []
    for words, sentence_frames in read_conll_sentences(str(dev), sentences_per_file):
        if not sentence_frames:
            frames.append((None, words, ["O"] * len(words)))
        for predicate, tags in sentence_frames:
            # SrlReader: the first word whose tag ends in "-V" (C-V included).
            frames.append((predicate[0], words, tags))
    return frames


def _render(spans: Sequence[Tuple[str, int, int]], length: int) -> List[str]:
    tags = ["O"] * length
    for label, start, end in spans:
        for i in range(start, end + 1):
            tags[i] = ("B-" if i == start else "I-") + label
    return tags


def _perturb(
    gold: List[str], verb_index: Optional[int], labels: List[str], rng: random.Random
) -> List[str]:
    """A plausible prediction: the gold frame with errors of the kinds a tagger makes."""
    length = len(gold)
    if rng.random() < 0.2:
        return list(gold)
    spans = []
    for label, start, end in bio_tags_to_spans(gold):
        roll = rng.random()
        if label == "V" and roll < 0.9:
            spans.append((label, start, end))
        elif roll < 0.7:
            spans.append((label, start, end))
        elif roll < 0.74:
            continue  # dropped
        elif roll < 0.80:
            spans.append((rng.choice(labels), start, end))
        elif roll < 0.85:
            new_start = min(max(0, start + rng.choice([-2, -1, 1])), end)
            spans.append((label, new_start, end))
        elif roll < 0.90:
            new_end = max(min(length - 1, end + rng.choice([-1, 1, 2])), start)
            spans.append((label, start, new_end))
        elif roll < 0.93 and end - start >= 2:
            # A discontinuous argument: head, a gap, then a continuation.
            middle = rng.randint(start + 1, end - 1)
            spans.append((label, start, middle - 1))
            spans.append(("C-" + label, middle + 1, end))
        elif roll < 0.96:
            spans.append(("R-" + label if not label.startswith("R-") else label[2:], start, end))
        else:
            spans.append(("C-" + label, start, end))  # a continuation without its head
    for _ in range(rng.choice([0, 0, 0, 1])):
        start = rng.randrange(length)
        spans.append((rng.choice(labels), start, min(length - 1, start + rng.randrange(4))))
    tags = _render(spans, length)
    # Ill-formed BIO: I- with no B- (first word, after O, after another label), stray I-.
    for _ in range(rng.choice([0, 0, 0, 0, 0, 1, 2])):
        i = rng.randrange(length)
        if tags[i] == "O":
            tags[i] = "I-" + rng.choice(labels)
        elif rng.random() < 0.5:
            tags[i] = "I-" + tags[i][2:]
        else:
            tags[i] = "I-" + rng.choice(labels)
    if verb_index is not None and rng.random() < 0.05:
        tags[verb_index] = "O"
    return tags


def _perturbed_frames(dev: Path, seed: int, sentences_per_file: int, variants: int) -> List[Frame]:
    gold_frames = _gold_frames(dev, sentences_per_file)
    labels = sorted(
        {label for _, _, tags in gold_frames for label, _, _ in bio_tags_to_spans(tags)}
    )
    labels += ["C-" + label for label in labels if not label.startswith("C-")]
    labels += ["R-" + label for label in labels if not label.startswith(("R-", "C-"))]
    rng = random.Random(seed)
    frames = []
    for verb_index, words, gold in gold_frames:
        for _ in range(variants):
            frames.append((verb_index, words, _perturb(gold, verb_index, labels, rng), gold))
    return frames


@pytest.fixture(scope="module")
def dev_frames(ewt_conll2012: Path) -> List[Frame]:
    return _perturbed_frames(
        ewt_conll2012 / "dev",
        seed=13,
        sentences_per_file=SENTENCES_PER_FILE,
        variants=VARIANTS_PER_FRAME,
    )


Columns = Tuple[List[Optional[int]], List[List[str]], List[List[str]], List[List[str]]]


def _columns(frames: Sequence[Frame]) -> Columns:
    """The arguments of one metric call: verb indices, sentences, predicted and gold tags."""
    return (
        [frame[0] for frame in frames],
        [frame[1] for frame in frames],
        [frame[2] for frame in frames],
        [frame[3] for frame in frames],
    )


def _batches(frames: Sequence[Frame], batch_size: int = BATCH_SIZE) -> Iterator[Columns]:
    for i in range(0, len(frames), batch_size):
        yield _columns(frames[i : i + batch_size])


def _upstream_counts(scorer: SrlEvalScorer) -> Dict[str, Tuple[int, int, int]]:
    return {
        tag: (
            scorer._true_positives[tag],
            scorer._false_positives[tag],
            scorer._false_negatives[tag],
        )
        for tag in set(scorer._true_positives)
        | set(scorer._false_positives)
        | set(scorer._false_negatives)
    }


def _score_upstream(
    frames: Sequence[Frame], scorer: Optional[SrlEvalScorer] = None
) -> SrlEvalScorer:
    """`frames` added to `scorer` (a new one by default) in one call, as SrlBert calls it."""
    scorer = scorer or SrlEvalScorer(ignore_classes=["V"])
    verb_indices, sentences, predicted, gold = _columns(frames)
    scorer(
        verb_indices,
        sentences,
        [allennlp_convert_bio_tags_to_conll_format(tags) for tags in predicted],
        [allennlp_convert_bio_tags_to_conll_format(tags) for tags in gold],
    )
    return scorer


# ----------------------------------------------------------------------------------------------
# Against srl-eval.pl on real frames


@requires_perl
def test_matches_srl_eval_on_perturbed_dev_frames(dev_frames: List[Frame]):
    no_predicate = sum(1 for frame in dev_frames if frame[0] is None)
    assert len(dev_frames) > 600 and no_predicate > 10
    upstream = SrlEvalScorer(ignore_classes=["V"])
    ours = SrlSpanF1()
    for begin in range(0, len(dev_frames), BATCH_SIZE):
        frames = dev_frames[begin : begin + BATCH_SIZE]
        _score_upstream(frames, upstream)
        ours(*_columns(frames))
        assert ours._counts.per_label() == _upstream_counts(upstream)
    counts = ours._counts.per_label()
    # The perturbations reach the cases that matter: C- and R- labels, errors of every kind.
    assert any(label.startswith("R-") for label in counts)
    assert all(sum(column) > 0 for column in zip(*counts.values()))
    expected = upstream.get_metric(reset=True)
    assert ours.get_metric(reset=True) == expected
    assert 0.3 < expected["f1-measure-overall"] < 0.95
    assert ours.get_metric() == upstream.get_metric()  # both empty after reset


@requires_perl
def test_count_frame_matches_srl_eval_frame_by_frame(dev_frames: List[Frame]):
    # Frames whose gold has a discontinuous (C-) argument, scored one at a time.
    frames = [frame for frame in dev_frames if any(tag.startswith("B-C-") for tag in frame[3])]
    assert len(frames) > 20
    for verb_index, words, predicted, gold in frames[:40]:
        expected = _upstream_counts(_score_upstream([(verb_index, words, predicted, gold)]))
        assert count_frame(predicted, gold, verb_index, words).per_label() == expected
        assert count_frame(predicted, gold, verb_index).per_label() == expected


def test_no_predicate_counts_nothing():
    gold = ["O", "O", "O", "O"]
    predicted = ["B-ARG0", "I-ARG0", "O", "B-ARG1"]
    assert count_frame(predicted, gold, None).per_label() == {}
    assert count_frame(gold, predicted, None).per_label() == {}


def test_continuation_and_reference_arguments():
    gold = ["B-ARG1", "I-ARG1", "B-V", "B-C-ARG1", "B-R-ARG0", "O"]
    # The whole discontinuous ARG1 is one argument, scored under ARG1; R-ARG0 is a label.
    assert count_frame(gold, gold, 2).per_label() == {"ARG1": (1, 0, 0), "R-ARG0": (1, 0, 0)}
    # Only the head: an excess contiguous ARG1 and a missed discontinuous one.
    predicted = ["B-ARG1", "I-ARG1", "B-V", "O", "B-R-ARG0", "O"]
    assert count_frame(predicted, gold, 2).per_label() == {"ARG1": (0, 1, 1), "R-ARG0": (1, 0, 0)}
    # A continuation with no head before it is a plain ARG1.
    predicted = ["O", "O", "B-V", "B-C-ARG1", "B-R-ARG0", "O"]
    assert count_frame(predicted, gold, 2).per_label() == {"ARG1": (0, 1, 1), "R-ARG0": (1, 0, 0)}
    assert count_frame(predicted, predicted, 2).per_label() == {
        "ARG1": (1, 0, 0),
        "R-ARG0": (1, 0, 0),
    }


EDGE_CASES = [
    # A predicate word "-" reads as no predicate at all.
    (1, ["a", "-", "c"], ["B-ARG0", "B-V", "B-ARG1"], ["B-ARG0", "B-V", "O"]),
    # A long predicate word glued to a long predicted tag: the predicate words differ.
    (
        1,
        ["a", "internationalizing", "c"],
        ["B-ARG0", "B-C-R-ARGM-LOC", "B-ARG1"],
        ["B-ARG0", "B-V", "B-ARG1"],
    ),
    (
        1,
        ["a", "internationalizing", "c"],
        ["B-ARG0", "B-V", "B-ARG1"],
        ["B-ARG0", "B-V", "B-ARG1"],
    ),
    # An empty predicate word: the tag is read as the predicate.
    (1, ["a", "", "c"], ["B-ARG0", "B-V", "B-ARG1"], ["B-ARG0", "B-V", "O"]),
    # C-V before V, C-C-, odd labels, "Overall" (which SrlEvalScorer skips).
    (
        2,
        ["a", "b", "c", "d", "e", "f"],
        ["B-C-V", "B-ARG0", "B-V", "B-C-C-ARG1", "B-Overall", "I-0"],
        ["B-C-V", "O", "B-V", "B-C-C-ARG1", "B-Overall", "B-0"],
    ),
    # A negative predicate index (Python indexing, as in write_conll_formatted_tags_to_file).
    (-1, ["a", "b", "c"], ["B-ARG0", "I-ARG0", "B-V"], ["B-ARG0", "O", "B-V"]),
    # Tags longer than the words: zip truncates to the shortest.
    (0, ["a", "b"], ["B-V", "B-ARG1", "B-ARG2"], ["B-V", "B-ARG1", "B-ARG1"]),
    (0, ["a", "b", "c"], ["B-V", "B-ARG1", "I-ARG1"], ["B-V", "B-ARG1", "I-ARG1"]),
    # A zero-length frame ends srl-eval.pl's input: this frame and the next are not scored.
    (None, [], [], []),
    (0, ["a", "b", "c"], ["B-V", "B-ARG1", "O"], ["B-V", "O", "B-ARG1"]),
]


@requires_perl
@pytest.mark.parametrize("end", range(1, len(EDGE_CASES) + 1))
def test_edge_cases_match_srl_eval(end: int):
    frames = EDGE_CASES[:end]
    upstream = _score_upstream(frames)
    ours = SrlSpanF1()
    ours(*_columns(frames))
    assert ours._counts.per_label() == _upstream_counts(upstream)
    assert ours.get_metric() == upstream.get_metric()


@requires_perl
@pytest.mark.parametrize(
    "frame",
    [
        # A predicate word with a space: the script reads "b" as a tag and dies.
        (1, ["a", "x b", "c"], ["B-ARG0", "B-V", "B-ARG1"], ["B-ARG0", "B-V", "O"]),
        # Words fewer than tags: the cut leaves a bracket open.
        (0, ["a", "b"], ["B-V", "B-ARG1", "I-ARG1"], ["B-V", "O", "O"]),
        # A "*" inside a label breaks the brackets.
        (0, ["a", "b"], ["B-V", "B-A*B"], ["B-V", "O"]),
    ],
)
def test_inputs_srl_eval_dies_on_raise(frame: Frame):
    with pytest.raises(subprocess.CalledProcessError):
        _score_upstream([frame])
    with pytest.raises(ValueError, match="srl-eval.pl"):
        SrlSpanF1()(*_columns([frame]))


def test_conll_batch_rejects_unbalanced_brackets():
    with pytest.raises(ValueError, match="unclosed"):
        count_conll_batch([0], [["a", "b"]], [["(V*)", "(ARG1*"]], [["(V*)", "*"]])
    with pytest.raises(ValueError):
        count_conll_batch([0], [["a", "b"]], [["(V*)", "*)"]], [["(V*)", "*"]])


# ----------------------------------------------------------------------------------------------
# Units


def _random_tags(rng: random.Random, length: int) -> List[str]:
    labels = ["ARG0", "ARG1", "V", "C-ARG1", "R-ARG0"]
    return [
        rng.choice(["B-", "I-"]) + rng.choice(labels) if rng.random() < 0.7 else "O"
        for _ in range(length)
    ]


def _spans_in_order(tags: List[str]) -> List[Tuple[str, int, int]]:
    spans = bio_tags_to_spans(tags)
    assert [start for _, start, _ in spans] == sorted(start for _, start, _ in spans)
    return sorted(spans)


def _allennlp_spans(tags: List[str]) -> List[Tuple[str, int, int]]:
    return sorted((label, start, end) for label, (start, end) in allennlp_bio_tags_to_spans(tags))


@pytest.mark.parametrize(
    "ours, theirs, seed",
    [
        # Our spans come ordered by start; AllenNLP's in no particular order.
        (_spans_in_order, _allennlp_spans, 0),
        (convert_bio_tags_to_conll_format, allennlp_convert_bio_tags_to_conll_format, 1),
    ],
    ids=["bio_tags_to_spans", "convert_bio_tags_to_conll_format"],
)
def test_matches_allennlp_on_random_tags(
    ours: Callable[[List[str]], object], theirs: Callable[[List[str]], object], seed: int
):
    rng = random.Random(seed)
    for _ in range(2000):
        tags = _random_tags(rng, rng.randrange(12))
        assert ours(tags) == theirs(tags)


def test_bio_tags_to_spans_keeps_ill_formed_spans():
    assert bio_tags_to_spans(["I-ARG0", "I-ARG0", "B-V", "I-ARG1", "O", "I-ARG1"]) == [
        ("ARG0", 0, 1),
        ("V", 2, 2),
        ("ARG1", 3, 3),
        ("ARG1", 5, 5),
    ]
    with pytest.raises(ValueError):
        bio_tags_to_spans(["B-ARG0", "X-ARG1"])


def test_precision_recall_f1():
    counts = SpanCounts()
    assert precision_recall_f1(counts) == {
        "precision-overall": 0.0,
        "recall-overall": 0.0,
        "f1-measure-overall": 0.0,
    }
    counts.add("ARG0", 3, 1, 2)
    counts.add("ARG1", 0, 0, 4)
    metrics = precision_recall_f1(counts)
    assert metrics["precision-ARG0"] == SrlEvalScorer._compute_metrics(3, 1, 2)[0]
    assert metrics["f1-measure-ARG1"] == 0.0
    assert (
        metrics["precision-overall"],
        metrics["recall-overall"],
        metrics["f1-measure-overall"],
    ) == (SrlEvalScorer._compute_metrics(3, 1, 6))
    assert span_prf(3, 1, 6) == SrlEvalScorer._compute_metrics(3, 1, 6)
    counts.add("overall", 1)
    with pytest.raises(ValueError):
        precision_recall_f1(counts)


# ----------------------------------------------------------------------------------------------
# Distributed


def _synthetic_frames(seed: int, count: int, extra_label: str) -> List[Frame]:
    rng = random.Random(seed)
    frames = []
    for _ in range(count):
        length = rng.randint(1, 12)
        words = [f"w{i}" for i in range(length)]
        verb_index: Optional[int] = rng.randrange(length) if rng.random() < 0.9 else None
        gold = _random_tags(rng, length)
        if verb_index is not None:
            gold[verb_index] = "B-V"
        predicted = [
            tag if rng.random() < 0.7 else rng.choice(["O", "I-ARG1", "B-" + extra_label])
            for tag in gold
        ]
        frames.append((verb_index, words, predicted, gold))
    return frames


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _distributed_worker(
    rank: int,
    world_size: int,
    port: int,
    shards: List[List[Frame]],
    expected: Dict[str, float],
    out_dir: str,
) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size
    )
    try:
        metric = SrlSpanF1()
        for verb_indices, sentences, predicted, gold in _batches(shards[rank], batch_size=16):
            metric(verb_indices, sentences, predicted, gold)
        results = {
            "before_reset": metric.get_metric(reset=False),
            "reset": metric.get_metric(reset=True),
        }
        results["after_reset"] = metric.get_metric()
        # Only rank 0 scores anything now: rank 1 has no labels at all.
        if rank == 0:
            metric(*_columns(shards[0]))
        results["one_worker"] = metric.get_metric()
        assert results["before_reset"] == expected
        assert results["reset"] == expected
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(results))
    finally:
        dist.destroy_process_group()


def test_distributed_get_metric_sums_workers(tmp_path: Path):
    # The two workers see different labels (ARGM-X only on rank 0, ARGM-Y only on rank 1).
    shards = [_synthetic_frames(0, 150, "ARGM-X"), _synthetic_frames(1, 150, "ARGM-Y")]
    single = SrlSpanF1()
    for shard in shards:
        for batch in _batches(shard, batch_size=16):
            single(*batch)
    expected = single.get_metric()
    assert "precision-ARGM-X" in expected and "precision-ARGM-Y" in expected
    first_only = SrlSpanF1()
    first_only(*_columns(shards[0]))
    mp.spawn(
        _distributed_worker,
        args=(2, _free_port(), shards, expected, str(tmp_path)),
        nprocs=2,
        join=True,
    )
    for rank in range(2):
        results = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert results["before_reset"] == expected
        assert results["after_reset"] == SrlSpanF1().get_metric()
        assert results["one_worker"] == first_only.get_metric()
