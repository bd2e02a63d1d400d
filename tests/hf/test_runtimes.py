"""
The labeler's runtimes and precisions (`srl_plugin.hf.runtimes`) in every environment: torch
int8 quantizes the linear layers and labels much as fp32 does, threads are honoured, and a
runtime, precision or device that cannot work is a clear error (ONNX Runtime itself:
tests/hf/test_onnx.py).
"""

import sys

import pytest
import torch

from srl_plugin.hf import SemanticRoleLabeler
from srl_plugin.hf.cli.options import Parser, add_device_arguments
from srl_plugin.hf.corpus import load_labeler
from srl_plugin.hf.runtimes import MissingExtraError

ITEMS = [
    {"tokens": ["The", "cat", "sat", "on", "the", "mat", "."], "predicates": [2]},
    {"tokens": ["The", "dog", "ran", "and", "the", "cat", "sat", "."], "predicates": [2, 6]},
]


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_torch_int8_quantizes_every_linear_layer(tiny_export, restore_threads):
    fp32 = SemanticRoleLabeler.from_pretrained(tiny_export)
    int8 = SemanticRoleLabeler.from_pretrained(tiny_export, precision="int8", threads=1)
    assert torch.get_num_threads() == 1
    linear = [m for m in fp32.model.modules() if type(m) is torch.nn.Linear]
    assert linear and not [m for m in int8.model.modules() if type(m) is torch.nn.Linear]
    quantized = [m for m in int8.model.modules() if m._get_name() == "DynamicQuantizedLinear"]
    assert len(quantized) == len(linear)
    expected, got = fp32.predict_batch(ITEMS), int8.predict_batch(ITEMS)
    pairs = [
        (a, b)
        for ours, theirs in zip(got, expected)
        for verb, reference in zip(ours["verbs"], theirs["verbs"])
        for a, b in zip(verb["tags"], reference["tags"])
    ]
    assert len(pairs) == 7 + 8 + 8
    assert sum(a == b for a, b in pairs) >= 0.8 * len(pairs)


def test_load_labeler_takes_precision_and_its_older_name(tiny_export, restore_threads):
    labeler = load_labeler(tiny_export, 4, "cpu", dtype="int8", threads=1)
    assert labeler.precision == "int8" and labeler.runtime == "torch"
    assert load_labeler(tiny_export, 4, "cpu", "fp32").precision == "fp32"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"runtime": "tensorrt"}, "runtime must be one of torch, onnxruntime, not 'tensorrt'"),
        ({"precision": "int4"}, "precision must be one of fp32, int8, bf16, fp16, not 'int4'"),
        ({"precision": "bf16"}, "precision bf16 needs a CUDA device"),
        ({"precision": "int8", "device": "cuda"}, "int8 runs on CPU only"),
        ({"threads": 0}, "threads must be positive, not 0"),
    ],
)
def test_what_cannot_run_is_named(tiny_export, options, message):
    with pytest.raises(ValueError, match=message):
        SemanticRoleLabeler.from_pretrained(tiny_export, **options)
    if "device" not in options:
        with pytest.raises(ValueError, match=message):
            load_labeler(tiny_export, device="cpu", **options)


def test_missing_onnxruntime_names_the_extra(tiny_export, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r'pip install "srl_plugin\[onnx\]"') as error:
        load_labeler(tiny_export, device="cpu", runtime="onnxruntime")
    assert isinstance(error.value, ImportError) and isinstance(error.value, ValueError)


def test_device_options():
    parser = Parser(prog="srl-test")
    add_device_arguments(parser)
    args = parser.parse_args([])
    assert (args.runtime, args.precision, args.dtype, args.threads) == (
        "torch",
        "fp32",
        "fp32",
        None,
    )
    args = parser.parse_args(["--dtype", "int8", "--runtime", "onnxruntime", "--threads", "2"])
    assert (args.runtime, args.precision, args.dtype, args.threads) == (
        "onnxruntime",
        "int8",
        "int8",
        2,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "int4"])


@pytest.mark.parametrize("fusion_layer", [0, 1])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_torch_runner_gives_sense_logits_with_the_tags(tiny_bert, fusion_layer, precision):
    """`forward` (and `label` for a fused model) answer the sense head's scores of each frame."""
    from transformers import BertConfig

    from srl_plugin.hf.checkpoints.building import build_srl_model, to_srl_names
    from srl_plugin.hf.checkpoints.weights import read_weights
    from srl_plugin.hf.config import SrlSettings, set_rolesets, set_srl_settings
    from srl_plugin.hf.runtimes import TorchRunner

    config = BertConfig.from_pretrained(tiny_bert)
    set_srl_settings(config, SrlSettings.options(True, fusion_layer))
    set_rolesets(config, ["have.01", "have.03"])
    torch.manual_seed(0)
    labels = ["O", "B-V", "B-ARG0", "I-ARG0"]
    model = build_srl_model(config, to_srl_names(read_weights(tiny_bert)), labels, tiny_bert)
    with torch.no_grad():
        ids = torch.tensor([[2, 10, 11, 12, 3], [2, 10, 11, 12, 3]])
        mask, types = torch.ones_like(ids), torch.zeros_like(ids)
        types[0, 2], types[1, 3] = 1, 1
        expected = model.eval()(input_ids=ids, attention_mask=mask, token_type_ids=types)
    runner = TorchRunner(model, precision)
    if fusion_layer:
        shared, _ = runner.encode(ids, mask)
        output = runner.label(shared, mask, types)
    else:
        output = runner.forward(ids, mask, types)
    assert output.sense_logits.shape == (2, 2) and output.logits.shape == (2, 5, 4)
    # int8 changes the numbers a little, fp32 not at all.
    tolerance = 0.5 if precision == "int8" else 1e-5
    assert torch.allclose(output.sense_logits, expected.sense_logits, atol=tolerance)
