"""The model card of an export against the metrics of the run that wrote it."""

import json
import os

from huggingface_hub import ModelCard

from srl_plugin.hf.checkpoints.model_card import MODEL_INDEX_METRICS


def check_card_metrics(export: str, metrics_file: str) -> None:
    """`ModelCard.load` parses the card; its model-index holds the run's best validation metrics."""
    metrics = json.load(open(metrics_file))
    card = ModelCard.load(os.path.join(export, "README.md"))
    data = card.data.to_dict()
    assert {"license", "language", "library_name", "tags"} <= set(data)
    assert "pipeline_tag" not in data
    results = data["model-index"][0]["results"]
    values = {m["name"]: m["value"] for result in results for m in result["metrics"]}
    checked = 0
    for key, _, name in MODEL_INDEX_METRICS:
        if f"best_validation_{key}" in metrics:
            assert values[name] == round(metrics[f"best_validation_{key}"], 4), name
            checked += 1
    assert checked >= 4  # span P/R/F1 and predicate F1 at least
    assert "/tmp" not in str(card) and os.path.dirname(os.path.abspath(export)) not in str(card)
