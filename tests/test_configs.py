"""Every shipped config builds: reader, data, vocabulary, model and trainer (a dry run)."""

import glob
import os

import pytest
from allennlp.commands.train import train_model
from allennlp.common import Params

from tests import CONFIGS_ROOT
from tests.cli import TINY_CONFIG, tiny_config_vars

CONFIGS = sorted(glob.glob(str(CONFIGS_ROOT / "*.jsonnet"))) + [str(TINY_CONFIG)]


@pytest.mark.parametrize("config", CONFIGS, ids=os.path.basename)
def test_config_builds(config, tiny_bert, tmp_path, monkeypatch):
    ext_vars = {
        **tiny_config_vars(tiny_bert),
        "DEMO_TRAIN_INSTANCES": "50",
        "DEMO_VALIDATION_INSTANCES": "20",
    }
    for name, value in ext_vars.items():
        monkeypatch.setenv(name, value)
    params = Params.from_file(config, params_overrides='{"trainer.num_epochs": 1}')
    assert params["model"]["type"] == "hf_srl" and params["dataset_reader"]["type"] == "hf_srl"
    assert {"type": "hf_export"} in params.as_dict()["trainer"]["callbacks"]
    assert train_model(params, str(tmp_path / "out"), dry_run=True) is None
    assert (tmp_path / "out" / "vocabulary" / "labels.txt").is_file()
