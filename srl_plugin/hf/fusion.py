"""
Shared encoding of a sentence across its predicates (`srl_predicate_fusion_layer`, `srl_plugin.hf.config`).

With fusion layer `f > 0` the sentence is encoded once without a predicate marker by the
embeddings and the first `f` layers; that shared encoding is repeated for each predicate, a
learned marker vector is added to the predicate's wordpieces, and only the remaining layers run
per predicate. The predicate-identification head reads the shared encoding, so labelling a raw
sentence with `P` predicates costs about `f + (L - f) * P` layer passes instead of `L * (P + 1)`.
With few layers left after the marker, the tagger reads each sub-word together with its
predicate (`with_predicate_pair`, `srl_predicate_pair_head`, on by default with fusion).

The second half is the fused-inference API of an SRL model, which the labeler, the pipeline and
the heads' fitting call: `encode_sentences` (the shared encoding and the predicate head's
logits, once per sentence), `label_shared` (frames from those encodings), `predicate_features`
and `sense_features` (what the predicate and sense heads read); `init_predicate_marker` starts
the marker for training. The sense head reads the top of the marked layers, as the tagger does,
so `label_shared` gives each frame's senses with its tags.

The layers are called one by one with an additive attention mask, which every transformers
version from 4.20 to 5.x accepts for eager and SDPA attention; the BERT-style encoders
(BERT, RoBERTa, XLM-R, ELECTRA) all keep their layers in `encoder.layer`.
"""

from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import nn

# The families whose layers `run_layers` can call: BERT-style `encoder.layer` with an additive
# mask. DeBERTa's layers also take relative positions, ALBERT shares its layers in groups.
FUSION_FAMILIES = ("bert", "roberta", "xlm-roberta", "electra")

# The offset embeddings start at this fraction of the hidden states' size (the marker's).
DISTANCE_SCALE = 0.5


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Shape `(batch_size, 1, 1, num_wordpieces)`: 0 where attended, the dtype's minimum where not."""
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def encoder_layers(encoder_model: nn.Module) -> Any:
    """The transformer layers of a BERT-style encoder, raising for encoders laid out otherwise."""
    layers = getattr(getattr(encoder_model, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(
            f"predicate_fusion_layer > 0 needs an encoder with BERT-style layers "
            f"(encoder.layer); {type(encoder_model).__name__} has none"
        )
    return layers


def run_layers(
    layers: Sequence[nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Runs `hidden` through `layers` (each returns a tensor, or a tuple led by one before 4.x)."""
    mask = additive_mask(attention_mask, hidden.dtype)
    for layer in layers:
        output = layer(hidden, mask)
        hidden = output[0] if isinstance(output, tuple) else output
    return hidden


def distinct_rows(
    input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> Tuple[List[int], List[int]]:
    """
    The rows of a batch that differ (the first of each kind) and, for every row, the index of
    its kind: the frames of one sentence share their input and so one shared encoding.
    """
    keys = torch.cat([input_ids, attention_mask.to(input_ids.dtype)], dim=1).tolist()
    first: dict = {}
    inverse = [first.setdefault(tuple(key), len(first)) for key in keys]
    rows = [0] * len(first)
    for row, kind in reversed(list(enumerate(inverse))):
        rows[kind] = row
    return rows, inverse


def shared_encoding(
    encoder_model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    fusion_layer: int,
) -> torch.Tensor:
    """
    Shape `(batch_size, num_wordpieces, hidden_size)`: the embeddings (token type 0 throughout)
    and the first `fusion_layer` layers, the part of the encoder that no predicate marker reaches.
    """
    embeddings: Any = encoder_model.embeddings
    hidden = embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
    project: Any = getattr(encoder_model, "embeddings_project", None)  # ELECTRA's embeddings
    if project is not None:
        hidden = project(hidden)
    return run_layers(encoder_layers(encoder_model)[:fusion_layer], hidden, attention_mask)


def marked_encoding(
    encoder_model: nn.Module,
    marker: torch.Tensor,
    shared: torch.Tensor,
    attention_mask: torch.Tensor,
    predicate_mask: torch.Tensor,
    fusion_layer: int,
    distance: Optional[nn.Embedding] = None,
) -> torch.Tensor:
    """
    Shape `(batch_size, num_wordpieces, hidden_size)`: the remaining layers over `shared` (one
    row per frame) with `marker` added on each frame's predicate wordpieces (`predicate_mask`).
    """
    hidden = shared + marker * predicate_mask.unsqueeze(-1).to(shared.dtype)
    if distance is not None:
        hidden = hidden + distance(predicate_distances(predicate_mask, distance.num_embeddings))
    return run_layers(encoder_layers(encoder_model)[fusion_layer:], hidden, attention_mask)


def with_predicate_pair(
    hidden: torch.Tensor, predicate_mask: torch.Tensor, projection: nn.Linear
) -> torch.Tensor:
    """
    Shape `(batch_size, num_wordpieces, hidden_size)`: every sub-word's vector `h` plus
    `gelu(projection([h; p; h * p]))`, `p` the mean of its frame's predicate sub-words
    (`predicate_mask`; 0 in a frame without one). With one or two layers after the marker, the
    encoder alone has little room to relate each word to the predicate; this reads them together.
    """
    mask = predicate_mask.unsqueeze(-1).to(hidden.dtype)
    # Shape: (batch_size, 1, hidden_size)
    predicate = (hidden * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True).clamp(
        min=1.0
    )
    predicate = predicate.expand_as(hidden)
    pair = torch.cat([hidden, predicate, hidden * predicate], dim=-1)
    return hidden + nn.functional.gelu(projection(pair))


def predicate_vectors(hidden: torch.Tensor, token_type_ids: Optional[torch.Tensor]) -> torch.Tensor:
    """
    Shape `(batch_size, hidden_size)`: each row's vector at its first predicate sub-word (the
    first `token_type_ids == 1`), at position 0 in a row without a predicate: what the sense
    head reads.
    """
    if token_type_ids is None:
        return hidden[:, 0]
    # argmax gives the first of equal maxima (0 in an all-zero row), in torch and in ONNX.
    first = (token_type_ids == 1).long().argmax(dim=1)
    index = first.view(-1, 1, 1).expand(-1, 1, hidden.size(-1))
    return hidden.gather(1, index).squeeze(1)


def relative_position_table(num_embeddings: int, width: int) -> torch.Tensor:
    """
    Shape `(num_embeddings, width)`: sinusoids of the offsets `-r .. r` (`r = num_embeddings //
    2`), centred and scaled to unit rows: neighbouring offsets start alike, left and right apart.
    """
    offsets = torch.arange(num_embeddings, dtype=torch.float32)[:, None] - num_embeddings // 2
    # Wavelengths from 2*pi to about 2*pi*10^4, as in the Transformer's position encoding.
    frequencies = torch.exp(-torch.arange(0, width, 2, dtype=torch.float32) * (9.2 / width))
    table = torch.zeros(num_embeddings, width)
    table[:, 0::2] = torch.sin(offsets * frequencies)
    table[:, 1::2] = torch.cos(offsets * frequencies)[:, : width // 2]
    table = table - table.mean(dim=0, keepdim=True)
    return table / table.norm(dim=1, keepdim=True).clamp(min=1e-6)


def predicate_distances(predicate_mask: torch.Tensor, num_embeddings: int) -> torch.Tensor:
    """
    Shape `(batch_size, num_wordpieces)`: each wordpiece's offset from its frame's first
    predicate wordpiece, clipped to +-(num_embeddings // 2) and shifted to an embedding index.
    """
    radius = num_embeddings // 2
    positions = torch.arange(predicate_mask.size(1), device=predicate_mask.device)
    first = predicate_mask.long().argmax(dim=1, keepdim=True)
    return (positions.unsqueeze(0) - first).clamp(-radius, radius) + radius


def fused_encoding(
    encoder_model: nn.Module,
    marker: torch.Tensor,
    input_ids: Optional[torch.Tensor],
    attention_mask: Optional[torch.Tensor],
    token_type_ids: Optional[torch.Tensor],
    fusion_layer: int,
    distance: Optional[nn.Embedding] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    The encoder's output for a batch of frames (`token_type_ids` 1 on each frame's predicate),
    the shared part computed once per distinct sentence in the batch, and the shared encoding of
    every frame's sentence (what the predicate head reads).
    """
    if input_ids is None:
        raise ValueError("a fused model takes input_ids (no inputs_embeds)")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    rows, inverse = distinct_rows(input_ids, attention_mask)
    device = input_ids.device
    rows_tensor = torch.tensor(rows, device=device)
    # Shape: (num_sentences, num_wordpieces, hidden_size)
    shared = shared_encoding(
        encoder_model, input_ids[rows_tensor], attention_mask[rows_tensor], fusion_layer
    )
    # Shape: (batch_size, num_wordpieces, hidden_size)
    per_frame = shared[torch.tensor(inverse, device=device)]
    output = marked_encoding(
        encoder_model, marker, per_frame, attention_mask, token_type_ids, fusion_layer, distance
    )
    return output, per_frame


def init_predicate_marker(model: Any) -> None:
    """
    Starts a fused model's marker in the input marker's direction (the difference of the two
    token-type embeddings, what `token_type_ids = 1` adds at the input), at the size of the
    hidden states it is added to: the norm of the last LayerNorm weight of the layer below the
    fusion point, about the norm of that layer's outputs. At the token-type embeddings' own size
    (0.16 against hidden states of norm 11 in MiniLM) the layers above barely see the marker,
    and the optimizer's small steps take long to grow it. Does nothing without fusion.
    """
    if not model.predicate_fusion_layer:
        return
    types = model.base_model.embeddings.token_type_embeddings.weight
    layer = encoder_layers(model.base_model)[model.predicate_fusion_layer - 1]
    norms = [m.weight.norm() for m in layer.modules() if isinstance(m, nn.LayerNorm)]
    with torch.no_grad():
        direction = types[1] - types[0]
        if float(direction.norm()) == 0.0:  # identical rows: any fixed direction will do
            direction = torch.ones_like(direction)
        size = norms[-1] if norms else torch.tensor(float(direction.numel()) ** 0.5)
        model.predicate_marker.copy_(direction * (size / direction.norm()))
        if model.predicate_distance is not None:
            table = relative_position_table(*model.predicate_distance.weight.shape)
            model.predicate_distance.weight.copy_(table * (DISTANCE_SCALE * size))


def predicate_features(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """
    What an SRL model's predicate head reads for sentences without a marker, shape
    `(batch_size, num_wordpieces, hidden_size)`: the shared encoding with fusion, else the
    encoder's output.
    """
    if model.predicate_fusion_layer:
        return shared_encoding(
            model.base_model, input_ids, attention_mask, model.predicate_fusion_layer
        )
    return model.base_model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=torch.zeros_like(input_ids),
    )[0]


def sense_features(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
) -> torch.Tensor:
    """
    What an SRL model's sense head reads for frames (`token_type_ids` 1 on each predicate),
    shape `(batch_size, hidden_size)`: the marked encoder's output (with fusion, the top of the
    layers above the marker) at each predicate's first sub-word, as `forward` reads it in eval.
    """
    if model.predicate_fusion_layer:
        encoded, _ = fused_encoding(
            model.base_model,
            model.predicate_marker,
            input_ids,
            attention_mask,
            token_type_ids,
            model.predicate_fusion_layer,
            model.predicate_distance,
        )
    else:
        encoded = model.base_model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )[0]
    return predicate_vectors(encoded, token_type_ids)


def encode_sentences(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """
    A fused model's shared encoding of whole sentences (no marker) and its predicate head's
    logits on it, computed once per sentence for `label_shared` to reuse.

    # Returns

    `(shared, predicate_logits)`: shapes `(batch_size, num_wordpieces, hidden_size)` and
    `(batch_size, num_wordpieces, 3)` (`None` without a predicate head).
    """
    shared = predicate_features(model, input_ids, attention_mask)
    logits = None
    if model.predicate_classifier is not None:
        logits = model.predicate_classifier(model.dropout(shared))
    return shared, logits


def label_shared(
    model: Any, shared: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
) -> Any:
    """
    A fused model's frames from their sentences' shared encodings (one row per frame) and
    predicate markers, as a `SemanticRoleLabelingOutput`: `logits` (BIO, shape `(batch_size,
    num_wordpieces, num_labels)`) and `sense_logits` (`(batch_size, num_rolesets)`, read from
    the same top layer at each predicate; `None` without a sense head).
    """
    from srl_plugin.hf.modeling import SemanticRoleLabelingOutput  # (modeling imports this)

    encoded = marked_encoding(
        model.base_model,
        model.predicate_marker,
        shared,
        attention_mask,
        token_type_ids,
        model.predicate_fusion_layer,
        model.predicate_distance,
    )
    hidden = model.dropout(encoded)
    return SemanticRoleLabelingOutput(
        logits=model.tag_logits(hidden, token_type_ids),
        sense_logits=model.sense_logits(hidden, token_type_ids),
    )
