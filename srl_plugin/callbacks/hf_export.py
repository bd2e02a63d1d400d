"""
`hf_export`: writes the Hugging Face export of the best weights into the serialization folder
at the end of training, so one `allennlp train` run gives both serializations.
"""

import json
import logging
import os
from typing import Any, Dict, List, Optional

from allennlp.training.callbacks.callback import TrainerCallback

from srl_plugin.archives.files import DEFAULT_EXPORT_DIR
from srl_plugin.hf.checkpoints.export import write_export
from srl_plugin.hf.checkpoints.model_card import (
    model_architecture,
    predicate_head_status,
    render_model_card,
)

logger = logging.getLogger(__name__)


@TrainerCallback.register("hf_export")
class HfExportCallback(TrainerCallback):
    """
    After training ends well, writes `<serialization_dir>/<export_dir>/`: `config.json` (with
    `id2label`/`label2id` from the `labels` vocabulary and, for a model with a sense head,
    `srl_rolesets` from the `roleset_labels` one), `model.safetensors` (the best epoch's weights,
    with Hugging Face names), the tokenizer files and a `README.md` model card whose
    `model-index` holds the best validation metrics (span, predicate and sense scores).

    Only the primary worker writes, into a temporary folder renamed into place, so an interrupted
    run never leaves a half-written export. If training fails, nothing is exported and the
    training error is what you see.

    To carry the export inside `model.tar.gz` (which makes the archive self-contained: it no
    longer needs `bert_model`'s folder), list it in the config's `include_in_archive`, as
    `training_configs/srl.jsonnet` does.

    # Parameters

    serialization_dir : `str`
        Given by AllenNLP.
    export_dir : `str`, optional (default = `"hf_model"`)
        The export's folder, relative to the serialization folder.
    pytorch_bin : `bool`, optional (default = `False`)
        Also write the weights as `pytorch_model.bin` (a torch pickle), for transformers versions
        that read no safetensors through `from_pretrained` (4.20, the AllenNLP one).
    license : `str`, optional (default = `"unknown"`)
        The model card's licence id (e.g. `cc-by-sa-4.0` for a model trained on EWT).
    language : `str`, optional (default = `"en"`)
        The model card's language.
    datasets : `List[str]`, optional
        Hub ids or names of the training data, for the model card.
    base_model : `str`, optional
        The Hub id of `bert_model` when it is a local folder, for the model card (a path in a
        Hugging Face cache is recognised without it).
    """

    def __init__(
        self,
        serialization_dir: str,
        export_dir: str = DEFAULT_EXPORT_DIR,
        pytorch_bin: bool = False,
        license: str = "unknown",
        language: str = "en",
        datasets: Optional[List[str]] = None,
        base_model: Optional[str] = None,
    ) -> None:
        super().__init__(serialization_dir)
        self.export_dir = export_dir
        self.pytorch_bin = pytorch_bin
        self.card_metadata: Dict[str, Any] = {
            "license": license,
            "language": language,
            "datasets": datasets or [],
            "base_model": base_model,
        }

    @property
    def export_path(self) -> str:
        return os.path.join(self.serialization_dir, self.export_dir)

    def on_start(self, trainer: Any, is_primary: bool = True, **kwargs: Any) -> None:
        super().on_start(trainer, is_primary=is_primary, **kwargs)
        if not hasattr(trainer.model, "hf_model"):
            raise ValueError(
                f"the hf_export callback needs an hf_srl model, not {type(trainer.model).__name__}"
            )
        included = self._training_config().get("include_in_archive") or []
        if is_primary and self.export_dir not in included:
            logger.warning(
                'include_in_archive does not list "%s": the Hugging Face export will be written '
                "but not put into model.tar.gz, and the archive will need %s to load",
                self.export_dir,
                trainer.model.base_checkpoint,
            )

    def on_end(
        self,
        trainer: Any,
        metrics: Optional[Dict[str, Any]] = None,
        epoch: Optional[int] = None,
        is_primary: bool = True,
        **kwargs: Any,
    ) -> None:
        if not is_primary:
            return
        if metrics is None:
            # on_end also runs when training raised; exporting then could only hide that error.
            logger.warning("training did not finish; no Hugging Face export was written")
            return
        model = trainer.model
        config = self._training_config()
        card = render_model_card(
            base_checkpoint=model.base_checkpoint,
            labels=model.hf_model.labels,
            train_data=config.get("train_data_path"),
            validation_data=config.get("validation_data_path"),
            metrics={k: v for k, v in metrics.items() if k.startswith("best_validation_")},
            predicate_head=predicate_head_status(model.hf_model),
            **model_architecture(model.hf_model),
            pytorch_bin=self.pytorch_bin,
            **self.card_metadata,
        )
        path = write_export(
            model.hf_model, model.aligner, self.export_path, card, pytorch_bin=self.pytorch_bin
        )
        logger.info("wrote the Hugging Face export to %s", path)

    def _training_config(self) -> Dict[str, Any]:
        path = os.path.join(self.serialization_dir, "config.json")
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as config_file:
            return json.load(config_file)
