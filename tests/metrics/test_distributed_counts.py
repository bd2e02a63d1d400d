"""Metric counts are all-reduced on the device the backend needs (CUDA under NCCL)."""

import pytest
import torch

import srl_plugin.metrics.distributed as distributed
from srl_plugin.metrics.predicate_f1 import PredicateF1
from srl_plugin.metrics.predicate_sense import FrameSense, PredicateSense, SentencePredicates
from srl_plugin.metrics.srl_span_f1 import SrlSpanF1


@pytest.fixture
def fake_nccl(monkeypatch):
    """A two-worker NCCL group on a CPU machine: records the device of every reduced tensor."""
    devices = []
    real_tensor = torch.tensor

    def tensor(data, dtype=None, device=None):
        # No CUDA here: record where the tensor was asked to live, build it on the CPU.
        devices.append(torch.device(device) if device is not None else torch.device("cpu"))
        return real_tensor(data, dtype=dtype)

    def all_reduce(tensor, op=None):
        tensor.mul_(2)  # the other worker holds the same counts

    def all_gather_object(output, value):
        output[:] = [value, value]

    monkeypatch.setattr(distributed.torch, "tensor", tensor)
    monkeypatch.setattr(distributed.dist, "get_backend", lambda: "nccl")
    monkeypatch.setattr(distributed.dist, "all_reduce", all_reduce)
    monkeypatch.setattr(torch.distributed, "all_gather_object", all_gather_object)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    for module in ("predicate_f1", "predicate_sense", "srl_span_f1"):
        monkeypatch.setattr(f"srl_plugin.metrics.{module}.is_distributed", lambda: True)
    return devices


def test_reduction_device_follows_the_backend(monkeypatch):
    monkeypatch.setattr(distributed.dist, "get_backend", lambda: "gloo")
    assert distributed.reduction_device() == torch.device("cpu")
    monkeypatch.setattr(distributed.dist, "get_backend", lambda: "nccl")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert distributed.reduction_device() == torch.device("cuda", 1)


def test_predicate_metric_reduces_on_cuda_under_nccl(fake_nccl):
    metric = PredicateF1()
    metric([[[1], [3]]], [[[1], [4]]])
    scores = metric.get_metric()
    assert fake_nccl == [torch.device("cuda", 0)]
    assert scores["predicate-precision"] == 0.5 and scores["predicate-recall"] == 0.5


def test_span_metric_reduces_on_cuda_under_nccl(fake_nccl):
    metric = SrlSpanF1()
    metric([1], [["a", "b", "c"]], [["B-ARG0", "B-V", "B-ARG1"]], [["B-ARG0", "B-V", "O"]])
    scores = metric.get_metric()
    assert fake_nccl == [torch.device("cuda", 0)]
    # Both workers' counts: ARG0 right twice, ARG1 predicted twice in excess.
    assert scores["precision-overall"] == pytest.approx(0.5)
    assert scores["recall-overall"] == pytest.approx(1.0)


def test_sense_metric_reduces_on_cuda_under_nccl(fake_nccl):
    metric = PredicateSense()
    metric(
        frames=[FrameSense("a", [1], "run.01", "run.01"), FrameSense("a", [3], "be.01", "be.03")],
        sentences=[SentencePredicates("a", [[1], [3]], [[1], [3]])],
    )
    scores = metric.get_metric()
    assert fake_nccl == [torch.device("cuda", 0)]
    # Both workers' counts (each joined its own sentences): the same ratios.
    assert scores["sense_accuracy"] == 0.5 and scores["predicate_sense_f1"] == 0.5
