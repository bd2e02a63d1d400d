"""
Prediction throughput on EWT dev: our `SemanticRoleLabeler` (the engine of the `hf_srl`
predictor) against allennlp-models' `SrlBert` + `SemanticRoleLabelerPredictor` path, with
identical weights and gold predicates, in one run.

    python benchmarks/predict_throughput.py --archive runs/bench_demo/model.tar.gz --threads 1 \
        --repeats 2 --small-batch-sentences 500
    python benchmarks/predict_throughput.py --device cuda --autocast bf16 --bert-base

Figures and how to read them: benchmarks/README.md, "Prediction throughput". The data is EWT
PropBank dev from the shipped data/ewt_propbank_srl.tar.gz unless --data says otherwise.

"Batch size N" means N frames (sentence, predicate pairs) per forward pass on both sides:
ours sorts all frames by length before batching; upstream's predictor sends N instances per
`Model.forward_on_instances` call in input order, padded to the longest, and decodes each
instance with allennlp's Python `viterbi_decode`. Upstream's predictor finds predicates with a
spaCy model that cannot be installed here, so both sides get the gold predicates and we time
what its `predict_batch_json` does after spaCy: `SrlReader.text_to_instance` per predicate,
`forward_on_instances` per batch and the result dictionaries.

Sections: (1) predicates/s per batch size with tag agreement; (2) the package's batched
decoding (`srl_plugin.hf.tagging.decode_tags`: softmax and BIO-constrained `viterbi_decode_bio`,
as the labeler decodes) against upstream's per-instance `viterbi_decode` on the probabilities of
the same logits; (3) with `--bert-base`, a BERT-base-sized labeler's predicates/s and achieved
TFLOP/s (meant for a GPU, `--device cuda --autocast bf16`).
"""

import argparse
import contextlib
import functools
import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from allennlp.common.util import sanitize  # noqa: E402
from allennlp.data import Instance, Token, Vocabulary  # noqa: E402
from allennlp.models.archival import load_archive  # noqa: E402
from allennlp.nn.util import viterbi_decode  # noqa: E402
from allennlp_models.structured_prediction.dataset_readers.srl import SrlReader  # noqa: E402
from allennlp_models.structured_prediction.models.srl_bert import SrlBert  # noqa: E402
from allennlp_models.structured_prediction.predictors.srl import (  # noqa: E402
    SemanticRoleLabelerPredictor,
)
from transformers import BertConfig  # noqa: E402

import srl_plugin  # noqa: E402,F401  (registers hf_srl with AllenNLP)
from benchmarks._common import (  # noqa: E402
    bert_base_config,
    environment_info,
    fastest_interleaved,
    minilm_checkpoint,
    setup_environment,
    shown,
    split_path,
    timed,
)
from srl_plugin.dataset_readers.srl_conll import HfSrlReader  # noqa: E402
from srl_plugin.hf.conll import read_conll2012  # noqa: E402
from srl_plugin.hf.frames import WordpieceFrame, wordpiece_frame  # noqa: E402
from srl_plugin.hf.labeler import SemanticRoleLabeler  # noqa: E402
from srl_plugin.hf.tagging import decode_tags  # noqa: E402
from srl_plugin.hf.modeling import BertForSemanticRoleLabeling  # noqa: E402
from srl_plugin.models.hf_srl import HfSrlModel  # noqa: E402
from srl_plugin.predictors.hf_srl import HfSrlPredictor  # noqa: E402

from srl_plugin.archives.srl_bert import srl_bert_to_srl_names  # noqa: E402

# NVIDIA H200 dense bf16 tensor-core peak (SXM), TFLOP/s.
BF16_PEAK_TFLOPS = 790.0

# A sentence: its words and its gold predicates (word indices of each V span), in file order.
Sentence = Tuple[List[str], List[List[int]]]


def read_sentences(path: str, max_sentences: Optional[int]) -> Tuple[List[Sentence], List[str]]:
    """
    The first `max_sentences` sentences of a CoNLL-2012 split with their gold predicates, and the
    BIO tags of all its frames, most frequent first (the order of an AllenNLP vocabulary; used
    for the untrained head).
    """
    sentences: List[Sentence] = []
    tag_counts: Counter = Counter()
    for sentence in read_conll2012(path):
        for tags in sentence.frames:
            tag_counts.update(tags)
        if max_sentences is None or len(sentences) < max_sentences:
            sentences.append((sentence.words, sentence.frame_predicates))
    return sentences, [tag for tag, _ in tag_counts.most_common()]


def load_model(args: argparse.Namespace, labels: List[str]) -> Tuple[HfSrlModel, Any]:
    """The `hf_srl` model and its dataset reader: from `--archive`, else an untrained head."""
    if args.archive:
        archive = load_archive(args.archive)
        return archive.model, archive.dataset_reader
    if not args.bert_model:
        args.bert_model = str(minilm_checkpoint()[0])
    torch.manual_seed(0)
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(labels, "labels")
    model = HfSrlModel(vocab, bert_model=args.bert_model)
    return model, HfSrlReader(bert_model=args.bert_model)


def build_upstream(model: HfSrlModel, folder: str) -> Tuple[SrlBert, SrlReader]:
    """
    allennlp-models' `SrlBert` with our weights and vocabulary, and an `SrlReader` reading our
    tokenizer from a folder named so that it lowercases as we do. Which of our weights fills each
    of `SrlBert`'s is what the plugin's one srl_bert-to-Hugging-Face name map says; `SrlBert`'s
    pooler, which it never uses, has no counterpart and stays random.
    """
    hf_model = model.hf_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        upstream = SrlBert(model.vocab, bert_model=hf_model.config.to_dict(), srl_eval_path=None)
    ours = hf_model.state_dict()
    filled: Dict[str, torch.Tensor] = {}
    for name, tensor in upstream.state_dict().items():
        # {} for the pooler and index buffers, else {our name: tensor}.
        for our_name in srl_bert_to_srl_names({name: tensor}, "SrlBert"):
            filled[name] = ours[our_name]
    missing, _ = upstream.load_state_dict(filled, strict=False)
    # Every weight of ours but the predicate head (SrlBert has none) must have been used.
    unused = {name for name, _ in hf_model.named_parameters()} - set(
        srl_bert_to_srl_names(upstream.state_dict(), "SrlBert")
    )
    unused = {name for name in unused if not name.startswith("predicate_classifier.")}
    if unused or any(".pooler." not in name and "position_ids" not in name for name in missing):
        raise ValueError(f"weights do not map onto SrlBert: missing {missing}, unused {unused}")
    upstream.eval()
    # SrlReader lowercases exactly when "uncased" is in the tokenizer's name.
    tokenizer_dir = os.path.join(
        folder, "bert-uncased" if model.aligner.lowercase else "bert-cased"
    )
    os.makedirs(tokenizer_dir)
    vocab = model.aligner.vocab
    with open(os.path.join(tokenizer_dir, "vocab.txt"), "w", encoding="utf-8") as vocab_file:
        vocab_file.writelines(token + "\n" for token in sorted(vocab, key=vocab.__getitem__))
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": model.aligner.lowercase,
    }
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), "w") as config_file:
        json.dump(tokenizer_config, config_file)
    return upstream, SrlReader(bert_model_name=tokenizer_dir)


def upstream_instance(reader: SrlReader, words: List[str], predicate: List[int]) -> Instance:
    verb_label = [1 if i in predicate else 0 for i in range(len(words))]
    return reader.text_to_instance([Token(word) for word in words], verb_label)


def check_same_inputs(
    sentences: Sequence[Sentence], reader: SrlReader, labeler: SemanticRoleLabeler
) -> int:
    """Upstream's wordpiece ids and verb indicators equal ours for every frame."""
    count = 0
    for words, predicates in sentences:
        for predicate in predicates:
            instance = upstream_instance(reader, words, predicate)
            ours = wordpiece_frame(labeler.aligner, words, predicate, labeler.max_wordpieces)
            ids = [token.text_id for token in instance["tokens"].tokens]  # type: ignore
            indicator = list(instance["verb_indicator"].labels)  # type: ignore
            if ids != ours.input_ids or indicator != ours.token_type_ids:
                raise ValueError(
                    f"upstream's wordpieces differ from ours for {words} / {predicate}"
                )
            count += 1
    return count


def run_ours(labeler: SemanticRoleLabeler, sentences: Sequence[Sentence]) -> List[List[str]]:
    """All sentences at once (so frames can be sorted by length); the tags of every frame."""
    items = [{"tokens": words, "predicates": predicates} for words, predicates in sentences]
    results = labeler.predict_batch(items)
    return [verb["tags"] for result in results for verb in result["verbs"]]


def run_our_predictor(predictor: HfSrlPredictor, sentences: Sequence[Sentence]) -> List[List[str]]:
    """`allennlp predict`-style: JSON lines through `HfSrlPredictor.predict_batch_json`."""
    lines = [{"tokens": words, "predicates": predicates} for words, predicates in sentences]
    results = predictor.predict_batch_json(lines)
    return [verb["tags"] for result in results for verb in result["verbs"]]


def run_upstream(
    model: SrlBert, reader: SrlReader, sentences: Sequence[Sentence], batch_size: int
) -> List[List[str]]:
    """
    What `SemanticRoleLabelerPredictor.predict_batch_json` does after spaCy, with gold
    predicates: one instance per predicate, `batch_size` instances per `forward_on_instances`
    call in input order, then its result dictionaries.
    """
    instances = [
        upstream_instance(reader, words, predicate)
        for words, predicates in sentences
        for predicate in predicates
    ]
    outputs: List[Dict[str, Any]] = []
    for begin in range(0, len(instances), batch_size):
        outputs.extend(model.forward_on_instances(instances[begin : begin + batch_size]))
    results: List[Dict[str, Any]] = []
    position = 0
    for words, predicates in sentences:
        verbs = []
        for output in outputs[position : position + len(predicates)]:
            description = SemanticRoleLabelerPredictor.make_srl_string(
                output["words"], output["tags"]
            )
            verbs.append(
                {"verb": output["verb"], "description": description, "tags": output["tags"]}
            )
        position += len(predicates)
        results.append({"words": words, "verbs": verbs})
    sanitize(results)
    return [verb["tags"] for result in results for verb in result["verbs"]]


def agreement(ours: Sequence[List[str]], theirs: Sequence[List[str]]) -> Dict[str, Any]:
    differing = sum(a != b for a, b in zip(ours, theirs))
    return {
        "frames": len(ours),
        "identical_percent": 100.0 * (len(ours) - differing) / max(len(ours), 1),
        "differing_frames": differing,
    }


def compare_predictors(
    args: argparse.Namespace,
    model: HfSrlModel,
    dataset_reader: Any,
    sentences: List[Sentence],
    device: torch.device,
) -> List[Dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="srl_bench_") as folder:
        # The reader has loaded its tokenizer when this returns.
        upstream, reader = build_upstream(model, folder)
    model.to(device).eval()
    upstream.to(device)
    checked = check_same_inputs(
        sentences, reader, SemanticRoleLabeler(model.hf_model, model.aligner)
    )
    print(f"wordpiece ids and verb indicators identical to upstream's for all {checked} frames")
    rows = []
    for batch_size in args.batch_sizes:
        subset = sentences
        if args.small_batch_sentences and batch_size < 8:
            subset = sentences[: args.small_batch_sentences]
        labeler = SemanticRoleLabeler(model.hf_model, model.aligner, batch_size=batch_size)
        runners: Dict[str, Callable[[Sequence[Sentence]], List[List[str]]]] = {
            "ours": lambda chunk: run_ours(labeler, chunk),
            "upstream": lambda chunk: run_upstream(upstream, reader, chunk, batch_size),
        }
        if not args.skip_predictor:
            predictor = HfSrlPredictor(model, dataset_reader, batch_size=batch_size)
            runners["predictor"] = lambda chunk: run_our_predictor(predictor, chunk)
        seconds, tags = best_times(runners, subset, args, model, device)
        num_frames = len(tags["ours"])
        row: Dict[str, Any] = {
            "batch_size": batch_size,
            "sentences": len(subset),
            "frames": num_frames,
            "ours_s": seconds["ours"],
            "ours_predicates_per_s": num_frames / seconds["ours"],
            "upstream_s": seconds["upstream"],
            "upstream_predicates_per_s": num_frames / seconds["upstream"],
            "speedup": seconds["upstream"] / seconds["ours"],
            "agreement": agreement(tags["ours"], tags["upstream"]),
        }
        if "predictor" in seconds:
            row["predictor_s"] = seconds["predictor"]
            row["predictor_predicates_per_s"] = num_frames / seconds["predictor"]
            row["predictor_identical_to_labeler"] = tags["predictor"] == tags["ours"]
        rows.append(row)
        print_row(row)
    return rows


def best_times(
    runners: Dict[str, Callable[[Sequence[Sentence]], List[List[str]]]],
    sentences: Sequence[Sentence],
    args: argparse.Namespace,
    model: HfSrlModel,
    device: torch.device,
) -> Tuple[Dict[str, float], Dict[str, List[List[str]]]]:
    """
    Seconds per runner over all `sentences`: the sum over chunks of `--chunk-sentences` (default
    one chunk) of the fastest of `--repeats` interleaved runs (`fastest_interleaved`). Tags of
    the first run, in input order.
    """
    for runner in runners.values():
        runner(sentences[:8])  # warm-up
    seconds = {name: 0.0 for name in runners}
    tags: Dict[str, List[List[str]]] = {name: [] for name in runners}
    chunk_size = args.chunk_sentences or len(sentences)
    for begin in range(0, len(sentences), chunk_size):
        chunk = sentences[begin : begin + chunk_size]
        fastest, chunk_tags = fastest_interleaved(
            {name: functools.partial(run, chunk) for name, run in runners.items()},
            args.repeats,
            device,
            # Tokenization from cold each time, as upstream's (uncached) tokenizer.
            before_each=model.aligner.word_to_ids.cache_clear,
        )
        for name in runners:
            seconds[name] += fastest[name]
            tags[name].extend(chunk_tags[name])
    return seconds, tags


def print_row(row: Dict[str, Any]) -> None:
    agree = row["agreement"]
    predictor = ""
    if "predictor_predicates_per_s" in row:
        predictor = f"  hf_srl predictor {row['predictor_predicates_per_s']:8.1f}/s"
    print(
        f"batch {row['batch_size']:4d} ({row['sentences']} sentences, {row['frames']} frames):"
        f" ours {row['ours_predicates_per_s']:8.1f}/s"
        f"  upstream {row['upstream_predicates_per_s']:8.1f}/s  speedup {row['speedup']:5.2f}x"
        f"  identical frames {agree['identical_percent']:.2f}% ({agree['differing_frames']} differ)"
        f"{predictor}",
        flush=True,
    )


def frame_logits(
    labeler: SemanticRoleLabeler, sentences: Sequence[Sentence]
) -> Tuple[List[WordpieceFrame], List[torch.Tensor]]:
    """Every frame and its tag logits (unpadded, on the model's device), in input order."""
    frames = [
        wordpiece_frame(labeler.aligner, words, predicate, labeler.max_wordpieces)
        for words, predicates in sentences
        for predicate in predicates
    ]
    logits: List[Optional[torch.Tensor]] = [None] * len(frames)
    for batch in labeler.batches(frames):
        # Shape: (batch_size, num_wordpieces, num_labels)
        batch_logits = labeler.forward([frame for _, frame in batch]).logits.float()
        for row, (index, frame) in enumerate(batch):
            logits[index] = batch_logits[row, : len(frame.input_ids)]
    return frames, logits  # type: ignore[return-value]


def compare_decoding(
    args: argparse.Namespace,
    model: HfSrlModel,
    sentences: List[Sentence],
    device: torch.device,
) -> List[Dict[str, Any]]:
    """
    The package's batched decoding (`decode_tags`) against upstream's per-instance loop, on the
    same logits. Ours decodes batches of the labeler's (sorted by length) and includes the
    softmax; upstream's `SrlBert` computes the softmax in its forward pass, so its loop gets the
    probabilities.
    """
    labels = model.hf_model.labels
    frames, logits = frame_logits(
        SemanticRoleLabeler(model.hf_model, model.aligner, batch_size=64), sentences
    )
    lengths = [len(frame.input_ids) for frame in frames]
    # Shape of each: (num_wordpieces, num_labels)
    probabilities = [torch.softmax(frame_logit, dim=-1) for frame_logit in logits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        upstream = SrlBert(
            model.vocab, bert_model=model.hf_model.config.to_dict(), srl_eval_path=None
        )
    upstream_transitions = upstream.get_viterbi_pairwise_potentials()
    upstream_start = upstream.get_start_transitions()

    def upstream_loop() -> List[List[int]]:
        # As SrlBert.make_output_human_readable: each instance to the CPU, then viterbi_decode.
        return [
            viterbi_decode(
                p.detach().cpu(), upstream_transitions, allowed_start_transitions=upstream_start
            )[0]
            for p in probabilities
        ]

    upstream_best = float("inf")
    rows = []
    for batch_size in args.decode_batch_sizes:
        # The labeler's batches (sorted by length), their logits zero padded.
        batches = []
        labeler = SemanticRoleLabeler(model.hf_model, model.aligner, batch_size=batch_size)
        for batch in labeler.batches(frames):
            indices = [index for index, _ in batch]
            padded = torch.nn.utils.rnn.pad_sequence([logits[i] for i in indices], batch_first=True)
            batches.append((indices, padded))

        def ours_batched() -> List[List[int]]:
            paths: List[Optional[List[int]]] = [None] * len(lengths)
            for indices, batch in batches:
                decoded = decode_tags(batch, [lengths[i] for i in indices], labels)
                for index, path in zip(indices, decoded):
                    paths[index] = path
            return paths  # type: ignore

        ours_batched()  # warm-up
        fastest, paths = fastest_interleaved(
            {"ours": ours_batched, "upstream": upstream_loop}, args.repeats, device
        )
        our_paths, upstream_paths = paths["ours"], paths["upstream"]
        ours_s = fastest["ours"]
        # The upstream loop does not depend on the batch size: its best run over all of them.
        upstream_best = min(upstream_best, fastest["upstream"])
        upstream_s = upstream_best
        if our_paths != upstream_paths:
            differing = sum(a != b for a, b in zip(our_paths, upstream_paths))
            raise AssertionError(
                f"batched decoding differs from viterbi_decode on {differing} frames"
            )
        row = {
            "batch_size": batch_size,
            "frames": len(lengths),
            "ours_s": ours_s,
            "upstream_s": upstream_s,
            "speedup": upstream_s / ours_s,
            "identical_paths": True,
        }
        rows.append(row)
        print(
            f"decode batch {batch_size:5d}: ours {len(lengths) / ours_s:9.1f} frames/s"
            f"  upstream viterbi_decode {len(lengths) / upstream_s:8.1f} frames/s"
            f"  speedup {row['speedup']:6.1f}x  identical paths",
            flush=True,
        )
    return rows


def encoder_flops(config: BertConfig, batch_size: int, length: int, num_labels: int) -> float:
    """
    Forward FLOPs (2 per multiply-add) of the encoder and heads on a padded batch:
    per layer and token, 2 * (4 h^2 + 2 h i) for the Q, K, V, output and feed-forward matrices
    (24 h^2 when i = 4h) plus 4 h L for the attention scores and their product with V; then
    2 h (num_labels + 3) for the two heads. Embeddings, softmax and layer norms are left out.
    """
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = layers * (2 * (4 * h * h + 2 * h * i) + 4 * h * length) + 2 * h * (num_labels + 3)
    return float(per_token * batch_size * length)


def bert_base_throughput(
    args: argparse.Namespace, model: HfSrlModel, sentences: List[Sentence], device: torch.device
) -> List[Dict[str, Any]]:
    """Predicates/s and achieved TFLOP/s of a BERT-base-sized labeler (random weights)."""
    labels = model.hf_model.labels
    config = bert_base_config(len(model.aligner.vocab), labels)
    torch.manual_seed(0)
    hf_model = BertForSemanticRoleLabeling(config).to(device).eval()
    autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.autocast)
    frames_in = [
        (words, predicate) for words, predicates in sentences for predicate in predicates
    ] * args.passes
    rows = []
    for batch_size in args.batch_sizes:
        labeler = SemanticRoleLabeler(
            hf_model, model.aligner, batch_size=batch_size, autocast_dtype=autocast
        )
        inputs = [
            wordpiece_frame(model.aligner, words, predicate, labeler.max_wordpieces)
            for words, predicate in frames_in
        ]
        batches: List[List[WordpieceFrame]] = [
            [frame for _, frame in batch] for batch in labeler.batches(inputs)
        ]
        flops = sum(
            encoder_flops(config, len(batch), max(len(f.input_ids) for f in batch), len(labels))
            for batch in batches
        )

        def encoder_only() -> None:
            for batch in batches:
                labeler.forward(batch)

        encoder_only()  # warm-up: kernels, cuBLAS, the caching allocator at every shape
        labeler.label_frames(frames_in[: batch_size * 2])
        encoder_s, _ = timed(encoder_only, device)
        total_s, _ = timed(lambda: labeler.label_frames(frames_in), device)
        row = {
            "batch_size": batch_size,
            "frames": len(frames_in),
            "predicates_per_s": len(frames_in) / total_s,
            "encoder_predicates_per_s": len(frames_in) / encoder_s,
            "forward_tflop": flops / 1e12,
            "encoder_tflops": flops / encoder_s / 1e12,
            "end_to_end_tflops": flops / total_s / 1e12,
        }
        if device.type == "cuda":
            row["encoder_percent_of_bf16_peak"] = 100 * row["encoder_tflops"] / BF16_PEAK_TFLOPS
            row["end_to_end_percent_of_bf16_peak"] = (
                100 * row["end_to_end_tflops"] / BF16_PEAK_TFLOPS
            )
        rows.append(row)
        peak = ""
        if device.type == "cuda":
            peak = (
                f" ({row['encoder_percent_of_bf16_peak']:.1f}% / "
                f"{row['end_to_end_percent_of_bf16_peak']:.1f}% of {BF16_PEAK_TFLOPS:.0f} bf16 peak)"
            )
        print(
            f"bert-base batch {batch_size:5d}: labeler {row['predicates_per_s']:9.1f} predicates/s"
            f" (encoder alone {row['encoder_predicates_per_s']:9.1f}/s);"
            f" encoder {row['encoder_tflops']:.3g} TFLOP/s, end to end {row['end_to_end_tflops']:.3g}"
            f" TFLOP/s{peak}",
            flush=True,
        )
    return rows


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--archive", help="an hf_srl model.tar.gz; default: MiniLM with an untrained head"
    )
    parser.add_argument(
        "--bert-model", help="checkpoint folder without --archive (default: MiniLM)"
    )
    parser.add_argument(
        "--data",
        help="a CoNLL-2012 dev folder, a conll2012 folder or a .tar.gz of one "
        "(default: the shipped data/ewt_propbank_srl.tar.gz)",
    )
    parser.add_argument("--max-sentences", type=int, help="read only the first N dev sentences")
    parser.add_argument(
        "--batch-sizes",
        help="frames per forward pass (default 1,8,64; 64,256,1024,4096 with --bert-base)",
    )
    parser.add_argument(
        "--small-batch-sentences",
        type=int,
        help="batch sizes below 8 run on the first N sentences only",
    )
    parser.add_argument(
        "--decode-batch-sizes", default="64,1024", help="batch sizes of the decoding comparison"
    )
    parser.add_argument(
        "--chunk-sentences",
        type=int,
        help="sentences per predictor call (default: all at once; ours sorts frames within a call)",
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="time each chunk this many times, keep the fastest"
    )
    parser.add_argument(
        "--skip-predictor", action="store_true", help="do not also time HfSrlPredictor"
    )
    parser.add_argument("--skip-decode", action="store_true", help="skip the decoding comparison")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--autocast",
        choices=["none", "bf16", "fp16"],
        default="none",
        help="encoder autocast (GPU)",
    )
    parser.add_argument(
        "--bert-base",
        action="store_true",
        help="BERT-base-sized labeler throughput and TFLOP/s only",
    )
    parser.add_argument(
        "--passes",
        type=int,
        help="--bert-base: pass over the dev frames N times (default 8 on GPU)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few sentences, to check that the code runs"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick and args.max_sentences is None:
        args.max_sentences = 24
    default_sizes = "64,256,1024,4096" if args.bert_base else "1,8,64"
    args.batch_sizes = [int(size) for size in (args.batch_sizes or default_sizes).split(",")]
    args.decode_batch_sizes = [int(size) for size in args.decode_batch_sizes.split(",")]
    if args.passes is None:
        args.passes = 8 if args.device.startswith("cuda") and not args.quick else 1
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    setup_environment(args.threads)
    device = torch.device(args.device)
    data = split_path(args.data, "dev")
    sentences, labels = read_sentences(str(data), args.max_sentences)
    num_frames = sum(len(predicates) for _, predicates in sentences)
    model, dataset_reader = load_model(args, labels)
    weights = shown(args.archive or args.bert_model)
    report: Dict[str, Any] = {
        "command": " ".join(
            ["python benchmarks/predict_throughput.py"] + list(argv or sys.argv[1:])
        ),
        "environment": dict(environment_info(str(device)), load_average_at_start=os.getloadavg()),
        "weights": weights if args.archive else f"{weights} with an untrained SRL head",
        "data": shown(data),
        "sentences": len(sentences),
        "frames": num_frames,
    }
    print(json.dumps(report["environment"]))
    print(
        f"{len(sentences)} sentences, {num_frames} frames of {report['data']}; "
        f"weights: {report['weights']}",
        flush=True,
    )
    if args.bert_base:
        report["bert_base"] = bert_base_throughput(args, model, sentences, device)
    else:
        report["throughput"] = compare_predictors(args, model, dataset_reader, sentences, device)
        if not args.skip_decode:
            report["decoding"] = compare_decoding(args, model, sentences, device)
    report["environment"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as json_file:
            json.dump(report, json_file, indent=2)
    return report


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        main()
