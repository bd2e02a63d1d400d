"""
What runs an SRL model's arithmetic for the labeler: a runtime (`torch` or `onnxruntime`) at a
precision (`fp32`; `int8` on CPU; `bf16`/`fp16` autocast on a GPU, torch only), on a number
of threads.

The labeler calls a model in three places, each a method of a runner: `forward` (a batch of
frames -> tag logits, predicate logits and sense logits, `predicate_fusion_layer` 0), `encode`
(sentences -> the shared encoding and predicate logits, `fusion.encode_sentences`) and `label`
(frames from shared encodings -> tag logits and sense logits, `fusion.label_shared`). `forward`
and `label` answer a `SemanticRoleLabelingOutput` (`sense_logits` `None` without a sense head).
Inputs and outputs are torch tensors either way; batching, windowing and the BIO-constrained
decoding stay the labeler's.

- `TorchRunner`: the model itself; `int8` replaces its linear layers (encoder and heads) by
  dynamically quantized ones (`torch.ao.quantization.quantize_dynamic`: int8 weights per
  output channel, activations quantized on the fly, fbgemm kernels), in place.
- `OnnxRuntimeRunner`: the export's `onnx/` graphs (`srl-onnx`,
  `srl_plugin.hf.checkpoints.onnx_export`) in ONNX Runtime sessions.
"""

import contextlib
import warnings
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from srl_plugin.hf.fusion import encode_sentences, label_shared

RUNTIMES = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "int8", "bf16", "fp16")
# Precisions that torch runs under autocast on a GPU, by their torch dtype's name.
AUTOCAST_PRECISIONS = {"bf16": "bfloat16", "fp16": "float16"}
ONNX_EXTRA = 'pip install "srl_plugin[onnx]"'


class MissingExtraError(ImportError, ValueError):
    """An optional dependency is not installed (an `ImportError`, and a `ValueError` so that
    the console scripts report it in one line)."""


def check_runtime(runtime: str, precision: str, device_type: str) -> None:
    """`ValueError` naming what is wrong with a runtime, precision and device (`cpu`/`cuda`)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "int8" and device_type != "cpu":
        raise ValueError(
            f"precision int8 runs on CPU only (dynamic int8 kernels), not on {device_type}: on "
            f"a GPU use bf16 or fp16"
        )
    if precision in AUTOCAST_PRECISIONS and device_type != "cuda":
        raise ValueError(
            f"precision {precision} needs a CUDA device (GPU autocast); on CPU use fp32 or int8"
        )
    if precision in AUTOCAST_PRECISIONS and runtime == "onnxruntime":
        raise ValueError(
            f"the onnxruntime runtime runs the fp32 and int8 graphs, not {precision}: use "
            f"--runtime torch for {precision} autocast on a GPU"
        )


def precision_of(autocast_dtype: Optional[torch.dtype]) -> str:
    """The precision that an autocast dtype (the labeler's older argument) stands for."""
    if autocast_dtype is None:
        return "fp32"
    for precision, name in AUTOCAST_PRECISIONS.items():
        if autocast_dtype == getattr(torch, name):
            return precision
    raise ValueError(
        f"autocast_dtype must be torch.bfloat16 or torch.float16, not {autocast_dtype}"
    )


def import_onnxruntime() -> Any:
    """The `onnxruntime` module, or `MissingExtraError` naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError(
            f"the onnxruntime runtime needs ONNX Runtime, which is not installed: {ONNX_EXTRA}"
        ) from None
    return onnxruntime


class TorchRunner:
    """
    Runs the model in PyTorch: fp32, int8 (its linear layers quantized in place, CPU) or under
    bf16/fp16 autocast on a GPU.
    """

    def __init__(self, model: nn.Module, precision: str = "fp32") -> None:
        if precision == "int8":
            quantize_linear_layers(model)
        self.model = model
        self.autocast_dtype = (
            getattr(torch, AUTOCAST_PRECISIONS[precision])
            if precision in AUTOCAST_PRECISIONS
            else None
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _autocast(self) -> Any:
        if self.autocast_dtype is not None and self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)
        return contextlib.nullcontext()

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> Any:
        """The model's output (`logits`, `predicate_logits`, `sense_logits`)."""
        with torch.no_grad(), self._autocast():
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """`fusion.encode_sentences`."""
        with torch.no_grad(), self._autocast():
            return encode_sentences(self.model, input_ids, attention_mask)

    def label(
        self, shared: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> Any:
        """`fusion.label_shared`: the frames' `logits` and `sense_logits`."""
        with torch.no_grad(), self._autocast():
            return label_shared(self.model, shared, attention_mask, token_type_ids)


def quantize_linear_layers(model: nn.Module) -> None:
    """
    Replaces every `nn.Linear` of `model` (the encoder's and the heads') by its dynamically
    quantized int8 counterpart, in place: torch.ao's eager dynamic quantization, whose fbgemm /
    x86 kernels exist from torch 1.10 (the AllenNLP environment's 1.12) to 2.13 (where it is
    marked deprecated in favour of torchao, a further dependency).
    """
    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError:  # pragma: no cover - a torch without torch.ao's eager quantization
        raise ValueError(
            f"torch {torch.__version__} has no torch.ao.quantization.quantize_dynamic: use "
            f"--runtime onnxruntime for int8"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch >= 2.10's deprecation notices
        # Per output channel: per-tensor weights cost MiniLM 1 to 2 end-to-end F1 points on EWT
        # dev, per-channel ones under 1, at the same speed (benchmarks/cpu_serving.py).
        quantize_dynamic(
            model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
        )


class OnnxRuntimeRunner:
    """
    Runs an export's ONNX form (`onnx/`, see `srl_plugin.hf.checkpoints.onnx_export`) in ONNX
    Runtime: fp32 or int8 graphs, on CPU (or CUDA's provider for fp32), `threads` intra-op
    threads and one inter-op thread.
    """

    def __init__(
        self,
        folder: str,
        manifest: Dict[str, Any],
        precision: str = "fp32",
        threads: Optional[int] = None,
        device: str = "cpu",
    ) -> None:
        import os

        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings about unused initializers
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                raise ValueError(
                    "device cuda: this ONNX Runtime has no CUDA provider (pip install "
                    "onnxruntime-gpu)"
                )
            index = device.split(":")[1] if ":" in device else "0"
            providers: Any = [("CUDAExecutionProvider", {"device_id": int(index)})]
        else:
            providers = ["CPUExecutionProvider"]
        self.graphs = manifest["graphs"]
        self.sessions = {
            graph: onnxruntime.InferenceSession(
                os.path.join(folder, spec["files"][precision]), options, providers=providers
            )
            for graph, spec in self.graphs.items()
        }
        self.device = torch.device("cpu")  # inputs go to ONNX Runtime as numpy arrays

    def _run(self, graph: str, *inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        spec = self.graphs[graph]
        feed = {name: tensor.cpu().numpy() for name, tensor in zip(spec["inputs"], inputs)}
        outputs = self.sessions[graph].run(list(spec["outputs"]), feed)
        return {name: torch.from_numpy(output) for name, output in zip(spec["outputs"], outputs)}

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> Any:
        """The `model` graph's `logits`, `predicate_logits` and `sense_logits`, as the model's."""
        from srl_plugin.hf.modeling import SemanticRoleLabelingOutput

        outputs = self._run("model", input_ids, attention_mask, token_type_ids)
        return SemanticRoleLabelingOutput(
            logits=outputs["logits"],
            predicate_logits=outputs.get("predicate_logits"),
            sense_logits=outputs.get("sense_logits"),
        )

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The `encode` graph's `shared` and `predicate_logits`."""
        outputs = self._run("encode", input_ids, attention_mask)
        return outputs["shared"], outputs.get("predicate_logits")

    def label(
        self, shared: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> Any:
        """The `label` graph's `logits` and `sense_logits`, as `TorchRunner.label` gives them."""
        from srl_plugin.hf.modeling import SemanticRoleLabelingOutput

        outputs = self._run("label", shared, attention_mask, token_type_ids)
        return SemanticRoleLabelingOutput(
            logits=outputs["logits"], sense_logits=outputs.get("sense_logits")
        )


def set_threads(threads: Optional[int]) -> None:
    """torch's intra-op threads (the model under torch, the labeler's decoding under both)."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be positive, not {threads}")
        torch.set_num_threads(threads)
