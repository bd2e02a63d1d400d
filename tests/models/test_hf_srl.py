"""
`hf_srl` as allennlp-models tests its models: it trains, saves and loads to the same weights and
predictions, and every trainable parameter gets a gradient.
"""

import json

from allennlp.common.testing import ModelTestCase

from tests.cli import TINY_CONFIG, tiny_config_vars


class TestHfSrlModel(ModelTestCase):
    def test_model_can_train_save_and_load(self, tiny_bert, monkeypatch):
        for name, value in tiny_config_vars(tiny_bert).items():
            monkeypatch.setenv(name, value)
        overrides = {
            "trainer.num_epochs": 1,
            # The whole sample in one batch. The batch the gradient check takes then holds both
            # kinds of instance, frames (which train the tagger) and sentences (which train the
            # predicate head), so no parameter has to be left out of the check; and the bucket
            # sampler's random batch order cannot give the trained and the reloaded model
            # different first batches to compare.
            "data_loader.batch_sampler.batch_size": 400,
        }
        self.ensure_model_can_train_save_and_load(
            TINY_CONFIG, overrides=json.dumps(overrides), seed=0
        )
