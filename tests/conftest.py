import os
import sys
from pathlib import Path

import pytest

# Tests and benchmarks import `tests.tiny_bert`; run from any directory.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

FIXTURES_ROOT = PROJECT_ROOT / "tests" / "fixtures"
EWT_SAMPLE = FIXTURES_ROOT / "ewt_sample"
CONFIGS_ROOT = PROJECT_ROOT / "training_configs"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A tiny BERT checkpoint (pytorch_model.bin) whose vocabulary covers the EWT sample."""
    from tests.tiny_bert import conll_words, make_tiny_bert

    return make_tiny_bert(str(tmp_path_factory.mktemp("tiny_bert")), conll_words(str(EWT_SAMPLE)))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Nothing may be downloaded: make transformers fail fast instead of retrying the hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
