"""
The ONNX form of an export: `EXPORT/onnx/`, written by `srl-onnx EXPORT` (`write_onnx`), read
by the labeler's `onnxruntime` runtime (`srl_plugin.hf.runtimes`) or by ONNX Runtime in any
language.

The graphs are traced from the model's own code, not re-implemented:

- `predicate_fusion_layer` 0: one graph, `model` (the SRL class's `forward`): `input_ids`,
  `attention_mask`, `token_type_ids` (int64, `[batch, wordpieces]`; `token_type_ids` is 1 on the
  predicate's sub-words) -> `logits` (`[batch, wordpieces, labels]`) and, with a predicate head,
  `predicate_logits` (`[batch, wordpieces, 3]`, read on inputs whose `token_type_ids` are 0),
  and with a sense head `sense_logits` (`[batch, rolesets]`, the manifest's `rolesets`).
- fused models: `encode` (`fusion.encode_sentences`: `input_ids`, `attention_mask` -> `shared`
  `[batch, wordpieces, hidden]`, `predicate_logits`), once per sentence, and `label`
  (`fusion.label_shared`: `shared`, `attention_mask`, `token_type_ids` -> `logits` and, with a
  sense head, `sense_logits`), once per predicate, `shared` repeated for each of a sentence's
  predicates.

Batch and length axes are dynamic. `manifest.json` says what to feed and what comes back (names,
types, shapes), the labels in id order, the precision of each file and the opset. The graphs
stop at the logits: the BIO-constrained Viterbi (`srl_plugin.hf.decoding`) is the caller's.

int8 is ONNX Runtime's dynamic quantization (`onnxruntime.quantization.quantize_dynamic`) of the
fp32 graphs' weight matrix products, per output channel: int8 weights, activations quantized on
the fly, no calibration data (`benchmarks/cpu_serving.py` measures its F1 and speed).
"""

import contextlib
import io
import json
import logging
import os
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn

from srl_plugin.hf.checkpoints.export import atomic_directory, read_encoder_config, read_export
from srl_plugin.hf.checkpoints.weights import file_sha256, weights_file
from srl_plugin.hf.config import config_labels, set_rolesets, update_srl_settings
from srl_plugin.hf.frames import config_max_wordpieces, wordpiece_frame
from srl_plugin.hf.fusion import encode_sentences, label_shared
from srl_plugin.hf.labels import PREDICATE_LABELS
from srl_plugin.hf.tokenization import Aligner

logger = logging.getLogger(__name__)

ONNX_FOLDER = "onnx"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "srl_plugin-onnx"
MANIFEST_VERSION = 1
DEFAULT_OPSET = 18
# ONNX Runtime fp32 logits must be this close to PyTorch's (absolute) on the sample inputs.
TOLERANCE = 1e-4
ONNX_EXTRA = 'pip install "srl_plugin[onnx]"'
WORDPIECE_AXES = ["batch", "wordpieces"]

# Sentences whose frames are the sample inputs of tracing and validation: two batches of
# different sizes and lengths, padded, with one- and two-word predicates.
SAMPLE_FRAMES = [
    (["The", "committee", "approved", "the", "budget", "on", "Tuesday", "."], [2]),
    (["She", "did", "n't", "want", "to", "go", "home", "."], [3]),
    (["Prices", "rose", "."], [1]),
]
CHECK_FRAMES = [
    (["They", "broke", "up", "after", "the", "long", "meeting", "ended", "in", "a", "row", "."], [1, 2]),
    (["I", "like", "it", "."], [1]),
    # Long enough for relative positions in log buckets (DeBERTa-v2) and many sub-words.
    ("Zygmunt said that the unexpectedly long and rather heated negotiations , which had "
     "started early on Monday morning in Brussels , ended without any agreement on the "
     "budget , the tariffs or the timetable for the next round of talks .".split(), [1]),
]  # fmt: skip


def onnx_folder(directory: str) -> str:
    return os.path.join(directory, ONNX_FOLDER)


class _Forward(nn.Module):
    """The `model` graph: the SRL class's forward (predicate marker at the input)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        output = self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        outputs = (output.logits, output.predicate_logits, output.sense_logits)
        return tuple(tensor for tensor in outputs if tensor is not None)


class _Encode(nn.Module):
    """The `encode` graph: `fusion.encode_sentences`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Any, attention_mask: Any) -> Any:
        shared, predicate_logits = encode_sentences(self.model, input_ids, attention_mask)
        return (shared,) if predicate_logits is None else (shared, predicate_logits)


class _Label(nn.Module):
    """The `label` graph: `fusion.label_shared`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, shared: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        output = label_shared(self.model, shared, attention_mask, token_type_ids)
        if output.sense_logits is None:
            return (output.logits,)
        return output.logits, output.sense_logits


def graph_specs(model: Any) -> Dict[str, Dict[str, Any]]:
    """
    The graphs of a model's ONNX form and their inputs and outputs (name -> dtype and shape),
    as the manifest records them.
    """
    config = model.config
    ids = {"dtype": "int64", "shape": WORDPIECE_AXES}
    shared = {"dtype": "float32", "shape": WORDPIECE_AXES + [config.hidden_size]}
    logits = {"dtype": "float32", "shape": WORDPIECE_AXES + [len(model.labels)]}
    predicate = {"dtype": "float32", "shape": WORDPIECE_AXES + [len(PREDICATE_LABELS)]}
    has_head = model.predicate_classifier is not None
    # One row per frame: the predicate's scores of each roleset.
    senses = (
        {"sense_logits": {"dtype": "float32", "shape": ["batch", len(model.rolesets)]}}
        if model.sense_classifier is not None
        else {}
    )
    if not model.predicate_fusion_layer:
        outputs = {
            "logits": logits,
            **({"predicate_logits": predicate} if has_head else {}),
            **senses,
        }
        return {
            "model": {
                "inputs": {"input_ids": ids, "attention_mask": ids, "token_type_ids": ids},
                "outputs": outputs,
            }
        }
    encoded = {"shared": shared, **({"predicate_logits": predicate} if has_head else {})}
    return {
        "encode": {"inputs": {"input_ids": ids, "attention_mask": ids}, "outputs": encoded},
        "label": {
            "inputs": {"shared": shared, "attention_mask": ids, "token_type_ids": ids},
            "outputs": {"logits": logits, **senses},
        },
    }


def graph_file(graph: str, precision: str) -> str:
    """`model.onnx`, `encode.int8.onnx`, ...: the file of a graph in one precision."""
    return f"{graph}.onnx" if precision == "fp32" else f"{graph}.{precision}.onnx"


def write_onnx(
    directory: str,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
    per_channel: bool = True,
    overwrite: bool = False,
) -> str:
    """
    Writes the ONNX form of the export in `directory` into `directory/onnx/` (see the module's
    docstring): fp32 graphs, checked against PyTorch (logits within `TOLERANCE` on sample
    frames), and with `int8` their int8 quantization. Atomic: a failure leaves no `onnx/` and no
    temporary folder. Returns the folder.

    # Raises

    `ValueError` naming what is wrong: no ONNX exporter (the `onnx` extra), an encoder family
    the exporter cannot trace (and why), graphs that do not give PyTorch's logits, an existing
    `onnx/` without `overwrite`.
    """
    _require_exporter()
    target = onnx_folder(directory)
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists (use --force to replace it)")
    model, aligner = read_export(directory)
    model.eval()
    specs = graph_specs(model)
    samples = _sample_inputs(model, aligner, SAMPLE_FRAMES)
    checks = _sample_inputs(model, aligner, CHECK_FRAMES)
    precisions = ["fp32"] + (["int8"] if int8 else [])
    with atomic_directory(target) as staging:
        differences = {}
        for graph, spec in specs.items():
            path = os.path.join(staging, graph_file(graph, "fp32"))
            _export_graph(model, graph, spec, samples[graph], path, opset)
            differences[graph] = _check_graph(graph, spec, path, model, [samples, checks])
            if int8:
                _quantize(path, os.path.join(staging, graph_file(graph, "int8")), per_channel)
                _check_runs(os.path.join(staging, graph_file(graph, "int8")), spec, checks[graph])
        manifest = _manifest(model, specs, precisions, opset, per_channel, differences)
        manifest["weights_sha256"] = file_sha256(weights_file(directory))
        with open(os.path.join(staging, MANIFEST_FILE), "w", encoding="utf-8") as manifest_file:
            json.dump(manifest, manifest_file, indent=2)
            manifest_file.write("\n")
    return target


def _require_exporter() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter)
    except ImportError as error:
        raise ValueError(
            f"writing the ONNX form needs onnx, onnxscript and onnxruntime ({error.name} is "
            f"missing): {ONNX_EXTRA}"
        ) from None
    if not hasattr(torch, "export"):
        raise ValueError(
            f"writing the ONNX form needs torch >= 2.5 (its torch.export-based exporter); "
            f"this is torch {torch.__version__}"
        )


def _sample_inputs(
    model: Any, aligner: Aligner, frames: Sequence[Tuple[List[str], List[int]]]
) -> Dict[str, Tuple[torch.Tensor, ...]]:
    """Each graph's inputs for `frames`, padded as the labeler pads them."""
    from srl_plugin.hf.labeler import SemanticRoleLabeler

    labeler = SemanticRoleLabeler(model, aligner)
    limit = config_max_wordpieces(model.config)
    framed = [wordpiece_frame(aligner, words, predicate, limit) for words, predicate in frames]
    input_ids, attention_mask, token_type_ids = labeler.tensors(framed)
    if not model.predicate_fusion_layer:
        return {"model": (input_ids, attention_mask, token_type_ids)}
    with torch.no_grad():
        shared, _ = encode_sentences(model, input_ids, attention_mask)
    return {
        "encode": (input_ids, attention_mask),
        "label": (shared, attention_mask, token_type_ids),
    }


_GRAPHS = {"model": _Forward, "encode": _Encode, "label": _Label}


def _export_graph(
    model: Any,
    graph: str,
    spec: Dict[str, Any],
    inputs: Tuple[torch.Tensor, ...],
    path: str,
    opset: int,
) -> None:
    modern: Any = torch  # torch >= 2.5 (checked by _require_exporter); typed for older stubs too
    batch = modern.export.Dim("batch", min=1)
    wordpieces = modern.export.Dim("wordpieces", min=1, max=config_max_wordpieces(model.config))
    dynamic = {name: {0: batch, 1: wordpieces} for name in spec["inputs"]}
    try:
        with _quiet():
            program = modern.onnx.export(
                _GRAPHS[graph](model).eval(),
                inputs,
                input_names=list(spec["inputs"]),
                output_names=list(spec["outputs"]),
                opset_version=opset,
                dynamo=True,
                dynamic_shapes=dynamic,
                verbose=False,
            )
            program.save(path, external_data=_too_large_for_one_file(model))
    except Exception as error:  # the exporter's errors have no common type
        raise ValueError(
            f"{model.family.model_type} ({type(model).__name__}) cannot be exported to ONNX: "
            f"torch.onnx could not trace its {graph!r} graph: "
            f"{_first_line(error)}"
        ) from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """
    Silences the exporter's and quantizer's progress lines on stdout, their warnings and their
    log records below ERROR (a missing torchvision, "consider pre-processing"): they would mix
    with a command's output and say nothing about this model.
    """
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


def _too_large_for_one_file(model: nn.Module) -> bool:
    # Protobuf's 2 GiB limit: larger weights go to a `.data` file beside the graph.
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    return size > 1.8 * 2**30


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _session(path: str, threads: Optional[int] = None) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _torch_outputs(model: Any, graph: str, inputs: Tuple[torch.Tensor, ...]) -> Tuple[Any, ...]:
    with torch.no_grad():
        return tuple(_GRAPHS[graph](model)(*inputs))


def _check_graph(
    graph: str,
    spec: Dict[str, Any],
    path: str,
    model: Any,
    sample_sets: Sequence[Dict[str, Tuple[torch.Tensor, ...]]],
) -> float:
    """
    The largest absolute difference between ONNX Runtime's and PyTorch's outputs on the sample
    inputs (at wordpieces that are not padding); `ValueError` above `TOLERANCE`.
    """
    session = _session(path, threads=1)
    largest = 0.0
    for samples in sample_sets:
        inputs = samples[graph]
        feed = {name: tensor.numpy() for name, tensor in zip(spec["inputs"], inputs)}
        got = session.run(list(spec["outputs"]), feed)
        expected = _torch_outputs(model, graph, inputs)
        mask = feed["attention_mask"].astype(bool)
        for name, ours, theirs in zip(spec["outputs"], got, expected):
            theirs = theirs.numpy()
            if ours.ndim > 2:  # per wordpiece: padding is not compared
                ours, theirs = ours[mask], theirs[mask]
            difference = float(abs(ours - theirs).max())
            if not difference <= TOLERANCE:
                raise ValueError(
                    f"the ONNX {graph!r} graph's {name} differ from PyTorch's by {difference:.2g} "
                    f"(more than {TOLERANCE:g}) on inputs of shape {tuple(inputs[0].shape)}: "
                    f"{model.family.model_type} does not export faithfully with this torch "
                    f"({torch.__version__}) and opset"
                )
            largest = max(largest, difference)
    return largest


def _check_runs(path: str, spec: Dict[str, Any], inputs: Tuple[torch.Tensor, ...]) -> None:
    feed = {name: tensor.numpy() for name, tensor in zip(spec["inputs"], inputs)}
    _session(path, threads=1).run(list(spec["outputs"]), feed)


def _quantize(source: str, target: str, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            source,
            target,
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
        )


def _manifest(
    model: Any,
    specs: Dict[str, Dict[str, Any]],
    precisions: Sequence[str],
    opset: int,
    per_channel: bool,
    differences: Dict[str, float],
) -> Dict[str, Any]:
    import onnxruntime

    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "model_type": model.family.model_type,
        "predicate_fusion_layer": model.predicate_fusion_layer,
        "predicate_head": model.predicate_classifier is not None,
        "sense_head": model.sense_classifier is not None,
        "max_wordpieces": config_max_wordpieces(model.config),
        "opset": opset,
        "precisions": list(precisions),
        "int8": (
            {
                "method": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "per_channel": per_channel,
                "op_types": ["MatMul", "Gemm"],
            }
            if "int8" in precisions
            else None
        ),
        "graphs": {
            graph: {
                "files": {precision: graph_file(graph, precision) for precision in precisions},
                **spec,
            }
            for graph, spec in specs.items()
        },
        "labels": config_labels(model.config),
        "predicate_labels": list(PREDICATE_LABELS),
        "rolesets": model.rolesets,
        "fp32_max_abs_difference_from_torch": differences,
        "exported_with": {
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "usage": (
            "token_type_ids is 1 on the predicate's sub-words, else 0; attention_mask 1 on "
            "sub-words, 0 on padding. A word's tag is its first sub-word's, decoded with the "
            "BIO-constrained Viterbi of srl_plugin/hf/decoding.py over softmax(logits). "
            "predicate_logits (O, B-V, I-V) are read on inputs with token_type_ids all 0. "
            "sense_logits score the rolesets (in this order) of each frame's predicate, decoded "
            "by srl_plugin/hf/senses.py. "
            "With predicate_fusion_layer > 0: run encode once per sentence, then label once "
            "per predicate with that sentence's shared rows."
        ),
    }


def read_manifest(directory: str, precision: str) -> Dict[str, Any]:
    """
    The manifest of an export's ONNX form, checked: it holds `precision` and was written from
    the export's weights. `ValueError` saying to run `srl-onnx` where there is none or it is
    stale.
    """
    folder = onnx_folder(directory)
    if not os.path.isfile(os.path.join(folder, MANIFEST_FILE)):
        raise ValueError(
            f"{directory} has no ONNX form ({ONNX_FOLDER}/{MANIFEST_FILE}): write it first with "
            f"`srl-onnx {directory}`"
        )
    manifest = read_manifest_file(folder, precision, directory)
    if manifest.get("weights_sha256") != file_sha256(weights_file(directory)):
        raise ValueError(
            f"{folder} was written from other weights than {weights_file(directory)}: write it "
            f"again with `srl-onnx {directory} --force`"
        )
    return manifest


def read_manifest_file(folder: str, precision: str, export: str = "EXPORT") -> Dict[str, Any]:
    """The manifest in an `onnx/` folder, which must hold `precision`'s graphs."""
    path = os.path.join(folder, MANIFEST_FILE)
    try:
        with open(path, encoding="utf-8") as manifest_file:
            manifest = json.load(manifest_file)
    except OSError as error:
        raise ValueError(f"{folder}: no readable {MANIFEST_FILE} ({error.strerror})") from None
    except ValueError as error:
        raise ValueError(f"{path}: unreadable manifest ({error})") from None
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{path}: not a manifest of srl_plugin's ONNX form (version 1)")
    if precision not in manifest["precisions"]:
        raise ValueError(
            f"{folder} holds the precisions {', '.join(manifest['precisions'])}, not {precision}:"
            f" write it again with `srl-onnx {export} --int8 --force`"
        )
    return manifest


def onnx_model_skeleton(directory: str, manifest: Dict[str, Any]) -> Any:
    """
    The export's SRL model without its weights (on torch's `meta` device, where torch has one):
    what the labeler reads of a model (config, labels, heads) when ONNX Runtime runs the graphs.
    """
    from srl_plugin.hf.modeling import srl_class

    config = read_encoder_config(directory, directory)
    update_srl_settings(config, predicate_head=bool(manifest["predicate_head"]))
    if not manifest.get("sense_head"):
        set_rolesets(config, [])
    meta: Any = torch.device("meta")
    if not hasattr(meta, "__enter__"):  # torch < 2: no device context, the weights are read
        return read_export(directory)[0]
    with meta:
        model = srl_class(config, directory)(config)
    return model.eval()
