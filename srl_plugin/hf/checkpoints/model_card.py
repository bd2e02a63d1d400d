"""
The `README.md` model card written into every export, with `huggingface_hub`'s `ModelCard`: its
metadata (licence, language, datasets, base model, library, tags and a `model-index` with the
validation scores) parses with `ModelCard.load` in every huggingface_hub from 0.10 on.

No absolute local path goes into a card: checkpoints and data are named by their Hub id, or by
the last parts of their path.
"""

import os
import re
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import EvalResult

from srl_plugin.hf.config import config_rolesets, sense_head_fit, srl_settings

TASK_TYPE = "semantic-role-labeling"
TASK_NAME = "Semantic role labelling"
TAGS = ["semantic-role-labeling", "srl", "bert", "propbank", "allennlp", "srl_plugin"]
INSTALL = "from a clone of the srl_plugin repository: `pip install .` (not on PyPI)"
# The run's `best_validation_*` metrics that go into the model-index: (key, metric type, name).
MODEL_INDEX_METRICS = (
    ("f1-measure-overall", "f1", "Span F1 (srl-eval.pl, gold predicates)"),
    ("precision-overall", "precision", "Span precision (srl-eval.pl)"),
    ("recall-overall", "recall", "Span recall (srl-eval.pl)"),
    ("predicate-f1", "f1", "Predicate identification F1"),
    ("predicate-precision", "precision", "Predicate identification precision"),
    ("predicate-recall", "recall", "Predicate identification recall"),
    ("sense_accuracy", "accuracy", "Sense accuracy (gold predicates)"),
    ("predicate_sense_f1", "f1", "Predicate and sense F1"),
    ("predicate_sense_precision", "precision", "Predicate and sense precision"),
    ("predicate_sense_recall", "recall", "Predicate and sense recall"),
)
# The run's metrics that describe a head, by head: a head fitted afterwards replaces what they
# measured, so the card drops them and reports the fit's own figures (`fitted_head_results`).
HEAD_METRICS = {
    "predicate": ("predicate-", "predicate_sense_"),
    "sense": ("sense_accuracy", "predicate_sense_"),
}
FITTED = " (head fitted afterwards)"
_HUB_CACHE_FOLDER = re.compile(r"models--([^/\\]+)--([^/\\]+)[/\\]snapshots[/\\]")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def describe_checkpoint(name_or_path: Optional[str]) -> Tuple[Optional[str], str]:
    """
    `(Hub id or None, description)` of a base checkpoint, without absolute paths: a Hub id (given
    as such, or read from a Hugging Face cache path `models--org--name/snapshots/...`) names
    itself; a local folder is described by its last two path parts.
    """
    if not name_or_path:
        return None, "an unknown checkpoint"
    cached = _HUB_CACHE_FOLDER.search(name_or_path)
    if cached:
        repo_id = f"{cached.group(1)}/{cached.group(2)}"
        return repo_id, f"`{repo_id}`"
    if _REPO_ID.match(name_or_path) and not os.path.exists(name_or_path):
        return name_or_path, f"`{name_or_path}`"
    return None, f"a local checkpoint folder (`{relative_description(name_or_path)}`)"


def relative_description(path: Optional[str], parts: int = 2) -> str:
    """The last `parts` components of a path (`conll2012/train`), never an absolute path."""
    if not path:
        return "unknown"
    components = [c for c in re.split(r"[/\\]+", str(path)) if c and c not in (".", "..")]
    return "/".join(components[-parts:]) or "unknown"


def render_model_card(
    base_checkpoint: str,
    labels: Sequence[str],
    train_data: Optional[str] = None,
    validation_data: Optional[str] = None,
    metrics: Optional[Dict[str, Any]] = None,
    predicate_head: Optional[Dict[str, Any]] = None,
    license: str = "unknown",
    language: str = "en",
    datasets: Sequence[str] = (),
    base_model: Optional[str] = None,
    pytorch_bin: bool = False,
    architecture: str = "BertForSemanticRoleLabeling",
    fusion_layer: int = 0,
    pair_head: bool = False,
    sense_head: Optional[Dict[str, Any]] = None,
) -> str:
    """
    The model card of an export.

    # Parameters

    base_checkpoint : `str`
        What the model was fine-tuned from (a Hub id or a local folder; see `describe_checkpoint`).
    labels : `Sequence[str]`
        Its BIO tags.
    train_data, validation_data : `str`, optional
        The data paths (described by their last two path parts).
    metrics : `Dict[str, Any]`, optional
        The run's metrics (`best_validation_*` or plain names); those of `MODEL_INDEX_METRICS`
        go into the `model-index`, all numbers into the card's table.
    predicate_head : `Dict[str, Any]`, optional
        `predicate_head_status(model)`: whether there is a predicate head and how it was made.
    license, language, datasets :
        The card's metadata (a licence id such as `cc-by-sa-4.0`, default `unknown`).
    base_model : `str`, optional
        The Hub id of the base checkpoint when `base_checkpoint` is a local folder.
    pytorch_bin : `bool`
        Whether the export also holds `pytorch_model.bin`.
    architecture, fusion_layer, pair_head, sense_head :
        The SRL class (`config.architectures`), the config's `srl_predicate_fusion_layer` and
        `srl_predicate_pair_head`, and `sense_head_status`; see `model_architecture`.
    """
    hub_id, base_description = describe_checkpoint(base_checkpoint)
    if base_model:
        hub_id, base_description = base_model, f"`{base_model}`"
    metrics = {_plain_name(k): v for k, v in (metrics or {}).items()}
    validation_name = relative_description(validation_data)
    data = ModelCardData(
        language=language,
        license=license,
        library_name="transformers",
        tags=list(TAGS),
        datasets=list(datasets) or None,
        eval_results=_eval_results(metrics, validation_name, list(datasets)) or None,
        model_name=f"srl_plugin {_family_name(architecture)} SRL" if metrics else None,
        **({"base_model": hub_id} if hub_id else {}),
    )
    body = _body(
        base_description,
        labels,
        train_data,
        validation_name,
        metrics,
        predicate_head,
        pytorch_bin,
        architecture,
        fusion_layer,
        pair_head,
        sense_head,
    )
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _plain_name(key: str) -> str:
    for prefix in ("best_validation_", "validation_"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _eval_results(
    metrics: Dict[str, Any], validation_name: str, datasets: List[str]
) -> List[EvalResult]:
    results = []
    for key, metric_type, name in MODEL_INDEX_METRICS:
        if isinstance(metrics.get(key), (int, float)):
            results.append(
                EvalResult(
                    task_type=TASK_TYPE,
                    task_name=TASK_NAME,
                    dataset_type=datasets[0] if datasets else "conll2012-srl",
                    dataset_name=f"validation data ({validation_name})",
                    dataset_split="validation",
                    metric_type=metric_type,
                    metric_name=name,
                    metric_value=round(float(metrics[key]), 4),
                )
            )
    return results


def model_architecture(model: Any) -> Dict[str, Any]:
    """
    `render_model_card`'s `architecture`, `fusion_layer`, `pair_head` and `sense_head` of an SRL
    model.
    """
    return {
        "architecture": type(model).__name__,
        "fusion_layer": int(getattr(model, "predicate_fusion_layer", 0) or 0),
        "pair_head": getattr(model, "pair_projection", None) is not None,
        "sense_head": sense_head_status(model),
    }


def _family_name(architecture: str) -> str:
    return architecture[: -len("ForSemanticRoleLabeling")] or "BERT"


def predicate_head_status(model: Any) -> Dict[str, Any]:
    """Whether a `BertForSemanticRoleLabeling` has a predicate head, and how it was made."""
    fit = srl_settings(model.config).predicate_head_fit
    return {"present": getattr(model, "predicate_classifier", None) is not None, "fit": fit}


def sense_head_status(model: Any) -> Dict[str, Any]:
    """The rolesets of a model's sense head (`[]`: none) and how it was fitted, if it was."""
    present = getattr(model, "sense_classifier", None) is not None
    return {
        "rolesets": config_rolesets(model.config) if present else [],
        "fit": sense_head_fit(model.config),
    }


_HEAD_START, _HEAD_END = "<!-- predicate-head -->", "<!-- /predicate-head -->"
_SENSE_START, _SENSE_END = "<!-- sense-head -->", "<!-- /sense-head -->"


def _predicate_head_text(predicate_head: Optional[Dict[str, Any]]) -> List[str]:
    if predicate_head is None:
        return []
    if not predicate_head["present"]:
        text = [
            "**No predicate-identification head.** Give the predicates of each sentence",
            '(`{"tokens": [...], "predicates": [word indices]}`); a raw sentence gets an error',
            "saying so. `srl-fit-predicates THIS_FOLDER CONLL_DIR --output DIR` fits one on the",
            "frozen encoder from a CoNLL-2012 corpus.",
        ]
    elif not predicate_head["fit"]:
        text = ["The predicate-identification head was trained jointly with the SRL head."]
    else:
        fit = predicate_head["fit"]
        scores = ", ".join(
            f"{name.replace('_', ' ')} {value:.4f}"
            for name, value in fit.items()
            if isinstance(value, float)
        )
        text = [
            f"The predicate-identification head was fitted afterwards ({fit.get('method')}) on",
            f"`{fit.get('data')}` ({fit.get('sentences')} sentences), the encoder and SRL head",
            f"unchanged{': ' + scores if scores else ''}.",
        ]
    return [_HEAD_START] + text + [_HEAD_END, ""]


def _sense_head_text(sense_head: Optional[Dict[str, Any]], fusion_layer: int) -> List[str]:
    if sense_head is None:
        return []
    rolesets = sense_head["rolesets"]
    if not rolesets:
        text = [
            "**No sense head**: frames carry no PropBank roleset. `srl-fit-predicates THIS_FOLDER",
            "CONLL_DIR --heads sense --output DIR` fits one on the frozen encoder from a CoNLL-2012",
            "corpus with rolesets (its frameset column).",
        ]
    else:
        where = "the top of the layers above the marker" if fusion_layer else "the encoder's output"
        examples = ", ".join(f"`{r}`" for r in rolesets[:4]) + (
            ", ..." if len(rolesets) > 4 else ""
        )
        text = [
            f"**Predicate senses.** A third head (`sense_classifier`) scores {len(rolesets)}",
            f"PropBank rolesets ({examples}; `srl_rolesets` in `config.json`, in row order) for",
            f"each frame's predicate, read from {where} at the predicate's first sub-word.",
            "srl_plugin (`srl_plugin.hf.senses`) picks the best of the rolesets of the predicate's",
            "lemma (simplemma, and the noun and adjective forms of PropBank's frame files v3.4,",
            "CC BY-SA 4.0) and names the roleset and its roles from the frame files; a lemma the",
            "head does not know gets the frame files' first roleset of it, or `lemma.01`, marked",
            "as not from the model.",
        ]
        fit = sense_head["fit"]
        if fit:
            scores = ", ".join(
                f"{name.replace('_', ' ')} {value:.4f}"
                for name, value in fit.items()
                if isinstance(value, float) and name != "frame_file_examples_weight"
            )
            examples = fit.get("frame_file_examples")
            text += [
                f"The sense head was fitted afterwards ({fit.get('method')}) on `{fit.get('data')}`",
                f"({fit.get('sentences')} sentences"
                + (
                    f", and {examples} example sentences of PropBank's frame files, each weighing "
                    f"{fit.get('frame_file_examples_weight')} of a corpus frame"
                    if examples
                    else ""
                )
                + "), the encoder and other heads unchanged"
                + (f": {scores}." if scores else "."),
            ]
        text += [
            "Stock `*ForTokenClassification` classes load this export with `sense_classifier` as",
            "an unused weight and give no senses.",
        ]
    return [_SENSE_START] + text + [_SENSE_END, ""]


def _replace_section(text: str, start: str, end: str, paragraph: str) -> str:
    if start in text and end in text:
        before, rest = text.split(start, 1)
        return before + paragraph + rest.split(end, 1)[1]
    return text.rstrip("\n") + "\n\n" + paragraph + "\n"


def update_model_card(folder: str, model: Any, pytorch_bin: bool = False) -> str:
    """
    The model card of the export in `folder` with its predicate-head and sense-head paragraphs
    rewritten for `model` (after `srl-fit-predicates`); the rest, metadata included, is kept. A
    folder without a card gets a new one.
    """
    path = os.path.join(folder, "README.md")
    if not os.path.isfile(path):
        return render_model_card(
            getattr(model.config, "_name_or_path", ""),
            model.labels,
            predicate_head=predicate_head_status(model),
            pytorch_bin=pytorch_bin,
            **model_architecture(model),
        )
    card = ModelCard.load(path)
    fits = {
        "predicate": predicate_head_status(model)["fit"],
        "sense": sense_head_status(model)["fit"],
    }
    stale = {
        key
        for key, _, _ in MODEL_INDEX_METRICS
        for head, fit in fits.items()
        if fit and key.startswith(HEAD_METRICS[head])
    }
    _drop_metrics(card, stale, fits)
    paragraph = "\n".join(_predicate_head_text(predicate_head_status(model))[:-1])
    text = _replace_section(card.text, _HEAD_START, _HEAD_END, paragraph)
    # The validation table's rows of the run's metrics that no longer describe a head.
    text = "".join(
        line
        for line in text.splitlines(keepends=True)
        if not any(line.startswith(f"| {key} |") for key in stale)
    )
    senses = _sense_head_text(sense_head_status(model), model_architecture(model)["fusion_layer"])
    text = _replace_section(text, _SENSE_START, _SENSE_END, "\n".join(senses[:-1]))
    return str(ModelCard(f"---\n{card.data.to_yaml()}\n---\n{text}"))


def _drop_metrics(card: ModelCard, stale: Set[str], fits: Dict[str, Any]) -> None:
    # The model-index without the run's `stale` metrics nor earlier fits' figures, with the
    # current fits' figures on their data (`"<data> <metric>"` keys of the fit records).
    names = {name: key for key, _, name in MODEL_INDEX_METRICS}
    kept = [
        result
        for result in card.data.eval_results or []
        if names.get(result.metric_name) not in stale and not result.metric_name.endswith(FITTED)
    ]
    template = kept[0] if kept else None
    for head, fit in fits.items():
        for record_key, value in sorted((fit or {}).items()):
            data, _, metric = record_key.rpartition(" ")
            entry = next((e for e in MODEL_INDEX_METRICS if e[0] == metric), None)
            if not data or entry is None or not metric.startswith(HEAD_METRICS[head]):
                continue
            kept.append(
                EvalResult(
                    task_type=TASK_TYPE,
                    task_name=TASK_NAME,
                    dataset_type=template.dataset_type if template else "conll2012-srl",
                    # (the Hub groups results by dataset type and split, not by this name)
                    dataset_name=f"validation data ({data})",
                    dataset_split=template.dataset_split if template else "validation",
                    metric_type=entry[1],
                    metric_name=entry[2] + FITTED,
                    metric_value=value,
                )
            )
    card.data.eval_results = kept or None
    if kept and not card.data.model_name:
        card.data.model_name = "srl_plugin SRL"


def _body(
    base_description: str,
    labels: Sequence[str],
    train_data: Optional[str],
    validation_name: str,
    metrics: Dict[str, Any],
    predicate_head: Optional[Dict[str, Any]],
    pytorch_bin: bool,
    architecture: str,
    fusion_layer: int,
    pair_head: bool,
    sense_head: Optional[Dict[str, Any]] = None,
) -> str:
    roles = sorted({label[2:] for label in labels if label.startswith("B-")})
    family_name = _family_name(architecture)
    stock = architecture.replace("ForSemanticRoleLabeling", "ForTokenClassification")
    if fusion_layer:
        marker = [
            f"The sentence is encoded once by the first {fusion_layer} encoder layers (no marker);",
            "a learned marker vector (`predicate_marker`) is added there to the predicate's",
            "sub-words, with a learned embedding of every sub-word's offset from the predicate",
            "(`predicate_distance`, where `srl_predicate_distance_radius` > 0), and only the",
            f"remaining layers run per predicate (`srl_predicate_fusion_layer: {fusion_layer}` in",
            "`config.json`).",
        ]
    else:
        marker = ["The predicate is marked with `token_type_ids` (1 on its sub-words)."]
    if pair_head:
        marker += [
            "Every sub-word's output `h` is read with its predicate's `p` (`srl_predicate_pair_head`:",
            "`h + gelu(pair_projection([h; p; h * p]))`), and a linear layer tags it with BIO role",
        ]
    else:
        marker += ["A linear layer tags every sub-word with BIO role"]
    lines = [
        f"# {family_name} semantic role labelling (srl_plugin export)",
        "",
        f"SRL (Shi & Lin, 2019, as in allennlp-models' `SrlBert`) on a {family_name} encoder,",
        f"class `{architecture}`.",
        *marker,
        "tags, and BIO-constrained Viterbi decoding gives each word the tag of its first sub-word.",
        "A second head (`predicate_classifier`), where present, finds the predicates of a sentence",
        "fed without marker" + (" (it reads the shared encoding)." if fusion_layer else "."),
        "",
        f"- Base checkpoint: {base_description}",
        f"- Training data: `{relative_description(train_data)}` (CoNLL-2012 SRL)",
        f"- Validation data: `{validation_name}`",
        f"- Labels: {len(labels)} BIO tags over {len(roles)} roles ({', '.join(roles[:12])}"
        + (", ..." if len(roles) > 12 else "")
        + ")",
        "",
    ]
    lines += _predicate_head_text(predicate_head)
    lines += _sense_head_text(sense_head, fusion_layer)
    numbers = {k: v for k, v in sorted(metrics.items()) if isinstance(v, float)}
    if numbers:
        lines += ["## Validation metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {name} | {value:.4f} |" for name, value in numbers.items()]
        lines += [
            "",
            "Span scores are `srl-eval.pl`'s (CoNLL-2005 script), with gold predicates.",
            "",
        ]
    weights = "`model.safetensors`" + (" and `pytorch_model.bin`" if pytorch_bin else "")
    lines += [
        "## Loading",
        "",
        f"Install srl_plugin {INSTALL}; it needs no AllenNLP. Frames for raw sentences:",
        "",
        "```python",
        "from srl_plugin.hf import SemanticRoleLabeler",
        "",
        'labeler = SemanticRoleLabeler.from_pretrained("THIS_FOLDER_OR_REPO_ID")',
        'labeler.predict("The cat sat on the mat .")',
        'labeler.predict({"tokens": ["The", "cat", "sat", "."], "predicates": [2]})',
        "```",
        "",
        "or, after `import srl_plugin.hf`, the pipeline (transformers 4.26 or later):",
        '`pipeline("semantic-role-labeling", model="THIS_FOLDER_OR_REPO_ID")`.',
        "",
        "### What stock transformers classes can and cannot do",
        "",
    ]
    custom = bool(fusion_layer or pair_head)
    senses = bool(sense_head and sense_head["rolesets"])
    unused = (
        "the predicate and sense heads are unused weights"
        if senses
        else "the predicate head is the one unused weight"
    )
    if custom:
        what = (
            "the predicate marker enters inside the encoder"
            if fusion_layer
            else "the tagger reads each sub-word with its predicate"
        )
        lines += [
            f"`AutoModelForTokenClassification` / `{stock}` load the encoder and the tagger, but",
            f"**cannot run this model**: {what}, which",
            "the stock classes do not do, so their logits are wrong. Use srl_plugin's",
            f"`{architecture}` (`from_pretrained` works as for any transformers model).",
            "",
        ]
    else:
        lines += [
            f"The weights ({weights}) carry `{stock}`'s names, so",
            f"`AutoModelForTokenClassification` / `{stock}.from_pretrained` load",
            f"them ({unused}) and give correct logits **for one",
            "frame**, when `token_type_ids` is 1 on the predicate's sub-words:",
            "",
            "```python",
            "from transformers import AutoModelForTokenClassification, AutoTokenizer",
            "",
            'model = AutoModelForTokenClassification.from_pretrained("THIS_FOLDER_OR_REPO_ID")',
            'tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER_OR_REPO_ID")',
            'encoded = tokenizer(["The", "cat", "sat", "."], is_split_into_words=True,',
            '                    return_tensors="pt")',
            'encoded["token_type_ids"][0, 3] = 1  # the sub-words of the predicate "sat"',
            f"logits = model(**encoded).logits  # decode with {architecture}.decode",
            "```",
            "",
            "They cannot label a sentence by themselves: the stock `token-classification` pipeline",
            "sets no predicate marker and decodes each sub-word on its own, so its tags are wrong;",
            f"they do not find predicates{' or senses' if senses else ''} (the "
            f"head{'s are' if senses else ' is'} srl_plugin's `{architecture}`).",
        ]
    if family_name == "Bert":
        lines += [
            "The tokenizer splits each given word with WordPiece only (no punctuation splitting), as",
            "allennlp-models' SRL reader does; a word's tag is read at its first wordpiece.",
            "",
        ]
    else:
        lines += [
            "The tokenizer (`tokenizer.json`) splits each given word as a word of its own",
            "(`is_split_into_words=True`); a word's tag is read at its first sub-word.",
            "",
        ]
    if not pytorch_bin:
        lines += [
            "transformers versions that read no safetensors (4.20, the AllenNLP one) load it with",
            f"`{architecture if custom else stock}.from_pretrained(None, config=FOLDER,",
            "state_dict=safetensors.torch.load_file(",
            'FOLDER + "/model.safetensors"))`, or from an export written with `--pytorch-bin`.',
            "",
        ]
    lines += [
        "With AllenNLP (`srl_plugin` listed in `.allennlp_plugins` or `~/.allennlp/plugins`):",
        "`allennlp srl-import THIS_FOLDER_OR_REPO_ID model.tar.gz`.",
        "",
    ]
    return "\n".join(lines)
