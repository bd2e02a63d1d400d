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


def allennlp_command(*args: str, cwd: str = str(PROJECT_ROOT), env=None):
    """Runs `allennlp ARGS --include-package srl_plugin` in a subprocess; returns the result."""
    import subprocess

    # One thread: tiny models run several times faster than with threads fighting for 2 cores.
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    full_env.update(env or {})
    command = [sys.executable, "-m", "allennlp.__main__", *args, "--include-package", "srl_plugin"]
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True)


def train_tiny(checkpoint: str, output: str, overrides: str = "", extra_env=None):
    """`allennlp train tests/fixtures/tiny_srl.jsonnet` on the EWT sample from `checkpoint`."""
    env = {
        "SRL_TRAIN_DATA_PATH": str(EWT_SAMPLE),
        "SRL_VALIDATION_DATA_PATH": str(EWT_SAMPLE),
        "BERT_MODEL": checkpoint,
        **(extra_env or {}),
    }
    args = ["train", str(FIXTURES_ROOT / "tiny_srl.jsonnet"), "-s", output]
    if overrides:
        args += ["-o", overrides]
    return allennlp_command(*args, env=env)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """
    One real `allennlp train` run of the recipe with the hf_export callback, from a tiny BERT
    saved as safetensors (the format transformers 4.20 cannot read), whose folder is deleted
    afterwards to prove the archive self-contained. Returns the serialization folder.
    """
    import shutil

    from tests.tiny_bert import conll_words, make_tiny_bert

    root = tmp_path_factory.mktemp("trained")
    checkpoint = make_tiny_bert(str(root / "base"), conll_words(str(EWT_SAMPLE)), safetensors=True)
    output = root / "run"
    result = train_tiny(checkpoint, str(output), '{"trainer.num_epochs": 6}')
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.rmtree(checkpoint)
    return output


@pytest.fixture(scope="session")
def srl_bert_run(tmp_path_factory):
    """
    One `allennlp train` run of allennlp-models' own `srl_bert` model and `srl` reader on the EWT
    sample, from a tiny BERT whose folder name says "uncased" (so that reader lowercases, as for
    bert-base-uncased). Returns the serialization folder; its `model.tar.gz` is the archive.
    """
    import json

    from tests.tiny_bert import conll_words, make_tiny_bert

    root = tmp_path_factory.mktemp("srl_bert")
    # 512 positions: allennlp-models' reader does not cut the sample's longest sentences.
    bert = make_tiny_bert(
        str(root / "tiny-bert-uncased"), conll_words(str(EWT_SAMPLE)), max_position_embeddings=512
    )
    config = {
        "dataset_reader": {"type": "srl", "bert_model_name": bert},
        "train_data_path": str(EWT_SAMPLE),
        "model": {"type": "srl_bert", "bert_model": bert, "embedding_dropout": 0.1},
        "data_loader": {"batch_size": 16, "shuffle": True},
        "trainer": {
            "optimizer": {"type": "huggingface_adamw", "lr": 5e-3},
            "num_epochs": 10,
            "cuda_device": -1,
        },
    }
    config_path = root / "srl_bert.json"
    config_path.write_text(json.dumps(config))
    output = root / "run"
    # One thread: a tiny model trains several times faster than with threads fighting for cores.
    result = allennlp_command(
        "train", str(config_path), "-s", str(output), env={"OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output
