"""
The `semantic-role-labeling` transformers pipeline task, where transformers supports custom
pipelines (4.26 and later): `pipeline("semantic-role-labeling", model=export_dir)`.

Importing this module registers the task; `srl_plugin.hf` imports it when possible.
"""

from typing import Any, Dict

from transformers import Pipeline

from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.modeling import AutoModelForSemanticRoleLabeling
from srl_plugin.hf.tokenization import aligner_from_pretrained

TASK = "semantic-role-labeling"


class SemanticRoleLabelingPipeline(Pipeline):
    """
    Takes what `SemanticRoleLabeler.predict` takes (a sentence, a list of words, or
    `{"tokens": [...], "predicates": [...]}`) and returns its frames.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labeler = SemanticRoleLabeler(
            self.model, aligner_from_pretrained(self.model.name_or_path)
        )

    def _sanitize_parameters(self, **kwargs: Any):
        return {}, {}, {}

    def preprocess(self, inputs: Any) -> Dict[str, Any]:
        return {"item": inputs}

    def _forward(self, model_inputs: Dict[str, Any]) -> Dict[str, Any]:
        return {"frames": self.labeler.predict(model_inputs["item"])}

    def postprocess(self, model_outputs: Dict[str, Any]) -> Dict[str, Any]:
        return model_outputs["frames"]


def register() -> bool:
    """Registers the task; returns False where transformers has no custom pipeline registry."""
    try:
        from transformers.pipelines import PIPELINE_REGISTRY
    except ImportError:
        return False
    PIPELINE_REGISTRY.register_pipeline(
        TASK, pipeline_class=SemanticRoleLabelingPipeline, pt_model=AutoModelForSemanticRoleLabeling
    )
    return True


register()
