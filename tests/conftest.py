"""Session fixtures: tiny checkpoints, training runs and archives, the shipped data."""

import os
from pathlib import Path

import pytest

from tests import EWT_SAMPLE, SENSES_FIXTURE
from tests.cli import TINY_CONFIG, allennlp_command, tiny_config_vars, train_tiny


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A tiny BERT checkpoint (pytorch_model.bin) whose vocabulary covers the EWT sample."""
    from tests.tiny_bert import conll_words, make_tiny_bert

    return make_tiny_bert(str(tmp_path_factory.mktemp("tiny_bert")), conll_words(str(EWT_SAMPLE)))


@pytest.fixture(scope="session")
def senses_bert(tmp_path_factory) -> str:
    """A tiny BERT checkpoint whose vocabulary covers the senses fixture (whole words)."""
    from tests.tiny_bert import conll_words, make_tiny_bert

    return make_tiny_bert(
        str(tmp_path_factory.mktemp("senses_bert")), conll_words(str(SENSES_FIXTURE))
    )


@pytest.fixture(scope="session")
def ewt_conll2012(tmp_path_factory) -> Path:
    """The `conll2012` folder of the shipped data/ewt_propbank_srl.tar.gz, extracted once."""
    from tests.conll import shipped_conll2012

    return shipped_conll2012(str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def one_torch_thread():
    """
    One torch thread for a module's tests, as in the `allennlp` subprocesses (OMP_NUM_THREADS=1):
    tiny models run faster without threads fighting for cores, and an L-BFGS fit, which stops
    before its last digits settle, gives the same head in-process as in `srl-export` (~1e-2
    apart on many threads).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Nothing may be downloaded: make transformers fail fast instead of retrying the hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_archive(tiny_bert, tmp_path_factory) -> Path:
    """
    An hf_srl `model.tar.gz` of the tiny config built once, without training: the vocabulary of
    the EWT sample, random heads, the Hugging Face export inside as `allennlp train` puts it.
    Enough for tests of what the predictor answers (not of how well it labels).
    """
    from types import SimpleNamespace

    import torch
    from allennlp.common import Params
    from allennlp.data import DatasetReader, Vocabulary
    from allennlp.models import Model
    from allennlp.models.archival import archive_model

    from srl_plugin.callbacks.hf_export import HfExportCallback

    folder = tmp_path_factory.mktemp("tiny_archive")
    params = Params.from_file(str(TINY_CONFIG), ext_vars=tiny_config_vars(tiny_bert))
    params.to_file(str(folder / "config.json"))
    reader = DatasetReader.from_params(params["dataset_reader"].duplicate())
    vocab = Vocabulary.from_instances(reader.read(str(EWT_SAMPLE)))
    vocab.save_to_files(str(folder / "vocabulary"))
    torch.manual_seed(0)
    model = Model.from_params(vocab=vocab, params=params["model"].duplicate())
    torch.save(model.state_dict(), folder / "best.th")
    # The export as the hf_export callback writes it at the end of `allennlp train`.
    HfExportCallback(str(folder)).on_end(SimpleNamespace(model=model), metrics={})
    return Path(archive_model(folder, include_in_archive=params["include_in_archive"]))


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
def senses_run(tmp_path_factory):
    """
    One real `allennlp train` run of the tiny config on the senses fixture (data with rolesets:
    the model gets a sense head), from a tiny BERT saved as safetensors. Returns the
    serialization folder.
    """
    from tests.tiny_bert import conll_words, make_tiny_bert

    root = tmp_path_factory.mktemp("senses")
    checkpoint = make_tiny_bert(
        str(root / "base"), conll_words(str(SENSES_FIXTURE)), safetensors=True
    )
    output = root / "run"
    data = {
        "SRL_TRAIN_DATA_PATH": str(SENSES_FIXTURE),
        "SRL_VALIDATION_DATA_PATH": str(SENSES_FIXTURE),
    }
    result = train_tiny(checkpoint, str(output), '{"trainer.num_epochs": 4}', extra_env=data)
    assert result.returncode == 0, result.stderr[-3000:]
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
