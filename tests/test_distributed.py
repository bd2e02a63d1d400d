"""AllenNLP's distributed training with two CPU workers: it runs, reports F1, exports once."""

import json

import torch
from transformers import BertForTokenClassification

from srl_plugin.hf.checkpoints.weights import read_safetensors
from tests.cli import train_tiny


def test_two_cpu_workers(tiny_bert, tmp_path):
    output = tmp_path / "run"
    overrides = json.dumps(
        {
            "distributed": {"cuda_devices": [-1, -1]},
            "trainer.num_epochs": 2,
            # Also the export that transformers 4.20 reads by itself (pytorch_model.bin).
            "trainer.callbacks": [{"type": "hf_export", "pytorch_bin": True}],
        }
    )
    result = train_tiny(tiny_bert, str(output), overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert "best_validation_f1-measure-overall" in metrics
    assert "best_validation_predicate-f1" in metrics
    # Each worker has its own log; only the primary exports.
    logs = [(output / f"out_worker{rank}.log").read_text() for rank in (0, 1)]
    assert [log.count("wrote the Hugging Face export") for log in logs] == [1, 0]
    assert (output / "hf_model" / "model.safetensors").is_file()
    model = BertForTokenClassification.from_pretrained(str(output / "hf_model"))
    saved = read_safetensors(str(output / "hf_model" / "model.safetensors"))
    assert torch.equal(model.classifier.weight, saved["classifier.weight"])
    assert (output / "model.tar.gz").is_file()
