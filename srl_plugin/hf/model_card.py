"""The `README.md` model card written into every export."""

from typing import Any, Dict, Optional, Sequence


def render_model_card(
    base_checkpoint: str,
    labels: Sequence[str],
    train_data: Optional[str] = None,
    validation_data: Optional[str] = None,
    metrics: Optional[Dict[str, Any]] = None,
) -> str:
    """
    A model card: what the model is, what it was trained from and on, its scores and how to load
    it with and without AllenNLP.
    """
    roles = sorted({label[2:] for label in labels if label.startswith("B-")})
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: token-classification",
        "tags: [semantic-role-labeling, srl, bert, allennlp, srl_plugin]",
        "---",
        "",
        "# BERT semantic role labelling (srl_plugin export)",
        "",
        "BERT SRL (Shi & Lin, 2019, as in allennlp-models' `SrlBert`): the predicate is marked with",
        "`token_type_ids` (1 on its wordpieces), a linear layer tags every wordpiece with BIO role",
        "tags, and BIO-constrained Viterbi decoding gives each word the tag of its first wordpiece.",
        "A second head (`predicate_classifier`) finds predicates in sentences fed without marker.",
        "",
        f"- Base checkpoint: `{base_checkpoint}`",
        f"- Training data: `{train_data or 'unknown'}`",
        f"- Validation data: `{validation_data or 'unknown'}`",
        f"- Labels: {len(labels)} BIO tags over {len(roles)} roles ({', '.join(roles[:12])}"
        + (", ..." if len(roles) > 12 else "")
        + ")",
        "",
    ]
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "| --- | --- |"]
        for name, value in sorted(metrics.items()):
            if isinstance(value, float):
                lines.append(f"| {name} | {value:.4f} |")
        lines.append("")
    lines += [
        "## Loading",
        "",
        "Frames, with `pip install srl_plugin` (no AllenNLP needed):",
        "",
        "```python",
        "from srl_plugin.hf import SemanticRoleLabeler",
        "",
        'labeler = SemanticRoleLabeler.from_pretrained("path/to/this/folder")',
        'labeler.predict("The cat sat on the mat .")',
        "```",
        "",
        "Plain transformers (logits; decode with `BertForSemanticRoleLabeling.decode`):",
        "",
        "```python",
        "from transformers import AutoTokenizer, BertForTokenClassification",
        "",
        'model = BertForTokenClassification.from_pretrained("path/to/this/folder")',
        'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
        'words = ["The", "cat", "sat", "."]',
        "encoded = tokenizer(words, is_split_into_words=True, return_tensors='pt')",
        "encoded['token_type_ids'][0, 3] = 1  # the predicate's wordpieces",
        "logits = model(**encoded).logits",
        "```",
        "",
        "The tokenizer splits each given word with WordPiece only (no punctuation splitting), as",
        "allennlp-models' SRL reader does; a word's tag is read at its first wordpiece.",
        "",
        "With AllenNLP (`srl_plugin` listed in `.allennlp_plugins` or `~/.allennlp/plugins`):",
        "`allennlp srl-import THIS_FOLDER model.tar.gz`.",
        "",
    ]
    return "\n".join(lines)
