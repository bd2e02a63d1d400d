"""
The export folder: `model.safetensors` and no pickle by default, `pytorch_model.bin` only where
asked, old `.bin` exports still read (tensors only), heads only as saved, a model card that
`huggingface_hub` parses, and Hub repo ids resolved from the local cache.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from srl_plugin.hf.checkpoints.export import read_export
from srl_plugin.hf.checkpoints.hub import resolve_model_dir
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.checkpoints.weights import CheckpointError
from tests import PROJECT_ROOT
from tests.hf.tiny_export import METRICS, make_tiny_export

SENTENCE = "The cat sat on the mat ."
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def export(tiny_bert, tmp_path_factory):
    return make_tiny_export(tiny_bert, str(tmp_path_factory.mktemp("files") / "export"))


def _is_pickle(path):
    with open(path, "rb") as file:
        start = file.read(4)
    # torch.save writes a zip (PK) holding a pickle, or a bare pickle (protocol marker 0x80).
    return start.startswith(b"PK") or start[:1] == b"\x80"


def test_export_holds_safetensors_and_no_pickle(export):
    names = sorted(os.listdir(export))
    assert "model.safetensors" in names and "pytorch_model.bin" not in names
    assert not [name for name in names if _is_pickle(os.path.join(export, name))]
    model, _ = read_export(export)
    saved = load_file(os.path.join(export, "model.safetensors"))
    state = model.state_dict()
    assert saved and all(torch.equal(tensor, state[name]) for name, tensor in saved.items())


def test_pytorch_bin_only_where_asked_and_old_bin_exports_still_load(tiny_bert, tmp_path):
    folder = make_tiny_export(tiny_bert, str(tmp_path / "both"), pytorch_bin=True)
    assert {"model.safetensors", "pytorch_model.bin"} <= set(os.listdir(folder))
    assert "--pytorch-bin" not in open(os.path.join(folder, "README.md")).read()
    from_safetensors, _ = read_export(folder)
    os.remove(os.path.join(folder, "model.safetensors"))  # an export of before: .bin only
    from_bin, _ = read_export(folder)
    for name, tensor in from_safetensors.state_dict().items():
        assert torch.equal(tensor, from_bin.state_dict()[name]), name


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_code_in_an_old_bin_export_is_refused(export, tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(export, folder)
    os.remove(folder / "model.safetensors")
    with open(folder / "pytorch_model.bin", "wb") as file:
        pickle.dump({"classifier.weight": _RunsCode()}, file)
    with pytest.raises(CheckpointError, match="pytorch_model.bin"):
        read_export(str(folder))


def test_stock_class_loads_the_safetensors_export(export):
    import transformers
    from transformers import AutoModelForTokenClassification, BertForTokenClassification

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    if (major, minor) >= (4, 30):
        model = AutoModelForTokenClassification.from_pretrained(export)
    else:  # 4.20 reads no safetensors: the model card's recipe
        model = BertForTokenClassification.from_pretrained(
            None, config=export, state_dict=load_file(os.path.join(export, "model.safetensors"))
        )
    ours, _ = read_export(export)
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    types = torch.tensor([[0, 0, 1, 0, 0]])
    with torch.no_grad():
        expected = ours(input_ids=ids, token_type_ids=types).logits
        assert torch.allclose(model.eval()(input_ids=ids, token_type_ids=types).logits, expected)


def test_a_head_that_was_not_saved_is_never_loaded(tiny_bert, tmp_path):
    folder = make_tiny_export(tiny_bert, str(tmp_path / "headless"), predicate_head=False)
    # Even when config.json claims one, the head exists only if its weights were saved.
    config_path = os.path.join(folder, "config.json")
    config = json.load(open(config_path))
    assert config["srl_predicate_head"] is False
    config["srl_predicate_head"] = True
    json.dump(config, open(config_path, "w"))
    labeler = SemanticRoleLabeler.from_pretrained(folder)
    assert labeler.model.predicate_classifier is None
    with pytest.raises(
        ValueError, match="no predicate-identification head.*give them as word indices"
    ):
        labeler.predict(SENTENCE)
    with pytest.raises(ValueError, match="no predicate-identification head"):
        labeler.find_predicates([["The", "cat", "sat"]])
    output = labeler.predict({"sentence": SENTENCE, "predicates": [2]})
    assert [verb["verb"] for verb in output["verbs"]] == ["sat"]


def test_model_card_parses_and_carries_the_metrics(export):
    card = ModelCard.load(os.path.join(export, "README.md"))
    data = card.data.to_dict()
    assert data["license"] == "cc-by-sa-4.0" and data["language"] == "en"
    assert data["library_name"] == "transformers" and data["datasets"] == ["ewt"]
    assert "semantic-role-labeling" in data["tags"]
    assert "pipeline_tag" not in data  # the stock token-classification pipeline gets it wrong
    results = data["model-index"][0]["results"]
    values = {m["name"]: m["value"] for result in results for m in result["metrics"]}
    assert values["Span F1 (srl-eval.pl, gold predicates)"] == round(
        METRICS["best_validation_f1-measure-overall"], 4
    )
    assert values["Predicate identification F1"] == round(
        METRICS["best_validation_predicate-f1"], 4
    )
    text = str(card)
    assert "/somewhere" not in text and os.path.dirname(export) not in text
    assert "conll2012/train" in text and "pip install ." in text


def _cache_with(export, cache, repo_id="acme/tiny-srl"):
    """The Hugging Face cache layout, by hand: refs/main and snapshots/<revision>/."""
    storage = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    shutil.copytree(export, os.path.join(storage, "snapshots", REVISION))
    os.makedirs(os.path.join(storage, "refs"))
    with open(os.path.join(storage, "refs", "main"), "w") as ref:
        ref.write(REVISION)
    return repo_id


def test_repo_id_resolves_from_the_local_cache_only(export, tmp_path, monkeypatch):
    cache = str(tmp_path / "hub")
    repo_id = _cache_with(export, cache)
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", cache)
    folder = resolve_model_dir(repo_id)
    assert folder.endswith(REVISION) and os.path.isfile(os.path.join(folder, "model.safetensors"))
    expected = SemanticRoleLabeler.from_pretrained(export).predict(SENTENCE)
    assert SemanticRoleLabeler.from_pretrained(repo_id).predict(SENTENCE) == expected
    with pytest.raises(FileNotFoundError, match="not in the local Hugging Face cache"):
        resolve_model_dir("acme/not-cached")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        resolve_model_dir("/no/such/folder")


def test_pipeline_takes_a_cached_repo_id(export, tmp_path):
    pipelines = pytest.importorskip("transformers.pipelines")
    if not hasattr(pipelines, "PIPELINE_REGISTRY"):
        pytest.skip("custom pipelines need transformers 4.26 or later")
    cache = str(tmp_path / "hub")
    repo_id = _cache_with(export, cache)
    expected = SemanticRoleLabeler.from_pretrained(export).predict(SENTENCE)
    script = (
        "import json, sys\n"
        "from transformers import pipeline\n"
        "import srl_plugin.hf\n"
        f"srl = pipeline('semantic-role-labeling', model={repo_id!r})\n"
        f"print(json.dumps(srl({SENTENCE!r})))\n"
    )
    # The cache variables are read when huggingface_hub is imported: a fresh interpreter.
    env = dict(os.environ, HF_HUB_CACHE=cache, HUGGINGFACE_HUB_CACHE=cache, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
