"""
Shared encoding of a sentence across its predicates (`config.predicate_fusion_layer`).

With fusion layer `f > 0` the sentence is encoded once without a predicate marker by the
embeddings and the first `f` layers; that shared encoding is repeated for each predicate, a
learned marker vector is added to the predicate's wordpieces, and only the remaining layers run
per predicate. The predicate-identification head reads the shared encoding, so labelling a raw
sentence with `P` predicates costs about `f + (L - f) * P` layer passes instead of `L * (P + 1)`.
With few layers left after the marker, the tagger reads each sub-word together with its
predicate (`with_predicate_pair`, `config.predicate_pair_head`, on by default with fusion).

The layers are called one by one with an additive attention mask, which every transformers
version from 4.20 to 5.x accepts for eager and SDPA attention; the BERT-style encoders
(BERT, RoBERTa, XLM-R, ELECTRA) all keep their layers in `encoder.layer`.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

# The families whose layers `run_layers` can call: BERT-style `encoder.layer` with an additive
# mask. DeBERTa's layers also take relative positions, ALBERT shares its layers in groups.
FUSION_FAMILIES = ("bert", "roberta", "xlm-roberta", "electra")

# Offsets from the predicate that get an embedding of their own (farther ones share the last).
DEFAULT_DISTANCE_RADIUS = 16
# The offset embeddings start at this fraction of the hidden states' size (the marker's).
DISTANCE_SCALE = 0.5


def set_predicate_fusion(
    config: Any, fusion_layer: int, distance_radius: int, pair_head: Optional[bool] = None
) -> None:
    """
    Records the shared encoding in a model's config: `predicate_fusion_layer`, and with it
    `predicate_distance_radius` (0 without fusion, where the input marker needs neither) and
    `predicate_pair_head` (the tagger reads each sub-word with its predicate: `with_predicate_pair`;
    by default on with fusion, off without, so that fusion layer 0 stays `SrlBert`'s model).
    """
    config.predicate_fusion_layer = fusion_layer
    config.predicate_distance_radius = distance_radius if fusion_layer else 0
    config.predicate_pair_head = fusion_layer > 0 if pair_head is None else pair_head


def predicate_fusion_options(config: Any) -> Dict[str, Any]:
    """
    The `hf_srl` model options that `set_predicate_fusion` recorded in `config` (none for
    today's model), so that an archive made from an export builds the same model.
    """
    fusion_layer = int(getattr(config, "predicate_fusion_layer", 0) or 0)
    pair_head = bool(getattr(config, "predicate_pair_head", False))
    if not fusion_layer and not pair_head:
        return {}
    return {
        "predicate_fusion_layer": fusion_layer,
        "predicate_distance_radius": int(getattr(config, "predicate_distance_radius", 0) or 0),
        "predicate_pair_head": pair_head,
    }


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
