"""
The sense head (`sense_classifier`, config `srl_rolesets`) and its one decoder
(`srl_plugin.hf.senses`): where it reads (today's model and the fused one), that a model without
it is unchanged, that exports keep it and stock classes still load them, design B against design
A, the fallbacks, role descriptions, and a head fitted on a frozen encoder
(`srl-fit-predicates --heads sense`) against logistic regression on the same features.
"""

import gzip
import json
import os
from pathlib import Path
from typing import List, Tuple

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModelForTokenClassification, BertConfig

from srl_plugin.hf.checkpoints.building import build_srl_model, to_srl_names
from srl_plugin.hf.checkpoints.export import read_export, write_export
from srl_plugin.hf.checkpoints.model_card import (
    FITTED,
    MODEL_INDEX_METRICS,
    model_architecture,
    predicate_head_status,
    render_model_card,
)
from srl_plugin.hf.checkpoints.weights import read_weights
from srl_plugin.hf.cli import fit_predicates
from srl_plugin.hf.config import SrlSettings, config_rolesets, set_rolesets, set_srl_settings
from srl_plugin.hf.conll import read_conll2012
from srl_plugin.hf.fusion import fused_encoding, label_shared, sense_features
from srl_plugin.hf.modeling import AutoModelForSemanticRoleLabeling
from srl_plugin.hf.predicate_fitting import (
    decodable_examples,
    evaluate_senses,
    fit_sense_head,
    frame_features,
    sense_examples,
)
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf import rolesets
from srl_plugin.hf.rolesets import EXAMPLES_WEIGHT, RolesetExample, RolesetTable, read_examples
from srl_plugin.hf.senses import Sense, SenseDecoder, lemmatize, predicate_lemma
from srl_plugin.hf.tokenization import WordPieceAligner
from tests.tiny_bert import make_tiny_bert

LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1", "B-ARGM-TMP", "I-ARGM-TMP"]
ROLESETS = ["approve.01", "have.01", "have.03", "have.LV", "run.01", "run.02"]

# The toy corpus: `run` operates something (run.01: "runs the company") or moves fast (run.02:
# "runs fast"), told apart by the words after it; `have` possesses (have.03) or is an auxiliary
# (have.01: "has run"). Subjects differ between the fitting and the held-out sentences.
OBJECTS = ["company", "shop", "team", "business", "store", "firm", "club", "bank"]
ADVERBS = ["fast", "home", "quickly", "away", "daily", "outside", "slowly", "often"]
THINGS = ["car", "dog", "house", "bike", "cat", "boat", "garden", "phone"]
FIT_SUBJECTS = ["She", "He", "They", "We"]
HELD_OUT_SUBJECTS = ["Anna", "Tom"]


def toy_sentences(subjects: List[str]) -> List[Tuple[List[str], List[Tuple[int, str, str]]]]:
    """(words, [(predicate index, lemma, roleset), ...]) of the toy corpus."""
    sentences = []
    for subject in subjects:
        for noun in OBJECTS:
            sentences.append(([subject, "runs", "the", noun, "."], [(1, "run", "run.01")]))
        for adverb in ADVERBS:
            sentences.append(([subject, "runs", adverb, "."], [(1, "run", "run.02")]))
        for thing in THINGS:
            sentences.append(([subject, "has", "a", thing, "."], [(1, "have", "have.03")]))
            sentences.append(
                (
                    [subject, "has", "eaten", "the", thing, "."],
                    [(1, "have", "have.01"), (2, "eat", "eat.01")],
                )
            )
    return sentences


def write_conll(path: Path, sentences) -> str:
    """The sentences as a CoNLL-2012 file: ARG0 the subject, ARG1 what follows the predicate."""
    lines = []
    for number, (words, frames) in enumerate(sentences):
        lines.append(f"#begin document (toy/{number}); part 000")
        senses = {index: (lemma, roleset) for index, lemma, roleset in frames}
        for position, word in enumerate(words):
            lemma, roleset = senses.get(position, ("-", "-"))
            columns = []
            for index, _, _ in frames:
                if position == index:
                    columns.append("(V*)")
                elif position == 0:
                    columns.append("(ARG0*)")
                elif position == index + 1 and position < len(words) - 1:
                    columns.append("(ARG1*" + (")" if position == len(words) - 2 else ""))
                elif index + 1 < position < len(words) - 1:
                    columns.append("*)" if position == len(words) - 2 else "*")
                else:
                    columns.append("*")
            fields = ["toy", "0", str(position), word, "XX", "*", lemma, roleset, "-", "-", "*"]
            lines.append("\t".join(fields + columns + ["-"]))
        lines += ["", "#end document"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy_senses")
    fit = write_conll(folder / "fit.gold_conll", toy_sentences(FIT_SUBJECTS))
    held_out = write_conll(folder / "held_out.gold_conll", toy_sentences(HELD_OUT_SUBJECTS))
    words = [w for words, _ in toy_sentences(FIT_SUBJECTS + HELD_OUT_SUBJECTS) for w in words]
    # "zzblorf" is not a word of the vocabulary: it splits into several wordpieces.
    tiny = make_tiny_bert(str(folder / "tiny_bert"), words + ["approval", "zoo"])
    return {"fit": fit, "held_out": held_out, "tiny_bert": tiny}


def tiny_model(tiny_bert: str, fusion_layer: int = 0, rolesets=ROLESETS, seed: int = 0):
    config = BertConfig.from_pretrained(tiny_bert)
    set_srl_settings(config, SrlSettings.options(True, fusion_layer))
    set_rolesets(config, rolesets)
    torch.manual_seed(seed)
    model = build_srl_model(config, to_srl_names(read_weights(tiny_bert)), LABELS, tiny_bert)
    return model.eval()


def batch(aligner, sentences, predicates):
    """Padded ids, mask and predicate indicator of frames (one predicate word each)."""
    from srl_plugin.hf.frames import wordpiece_frame

    frames = [wordpiece_frame(aligner, w, [p], 128) for w, p in zip(sentences, predicates)]
    length = max(len(f.input_ids) for f in frames)
    ids = torch.zeros(len(frames), length, dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, frame in enumerate(frames):
        ids[row, : len(frame.input_ids)] = torch.tensor(frame.input_ids)
        mask[row, : len(frame.input_ids)] = 1
        types[row, : len(frame.input_ids)] = torch.tensor(frame.token_type_ids)
    return ids, mask, types


SENTENCES = [
    ["She", "runs", "the", "company", "."],
    ["He", "runs", "home", "."],
    ["They", "has", "eaten", "the", "approval", "zzblorf", "."],
]


# Where the head reads


@pytest.mark.parametrize("fusion_layer", [0, 1])
def test_sense_logits_read_the_first_predicate_subword(toy_data, fusion_layer):
    model = tiny_model(toy_data["tiny_bert"], fusion_layer)
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    # The last frame's predicate is "zzblorf", several wordpieces long.
    ids, mask, types = batch(aligner, SENTENCES, [1, 1, 5])
    types[1] = 0  # a row without a predicate reads position 0
    with torch.no_grad():
        output = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        if fusion_layer:
            encoded = fused_encoding(
                model.bert, model.predicate_marker, ids, mask, types, 1, model.predicate_distance
            )[0]
        else:
            encoded = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
    first = [int(row.nonzero()[0]) if row.any() else 0 for row in types]
    assert first[2] < int(types[2].nonzero()[-1])  # several marked sub-words: the first is read
    expected = model.sense_classifier(encoded[torch.arange(3), first])
    assert output.sense_logits.shape == (3, len(ROLESETS))
    assert torch.allclose(output.sense_logits, expected, atol=1e-5)
    assert torch.allclose(sense_features(model, ids, mask, types), encoded[torch.arange(3), first])
    if fusion_layer:
        # The fused labelling path gives the same senses from the shared encodings.
        shared = fused_encoding(
            model.bert, model.predicate_marker, ids, mask, types, 1, model.predicate_distance
        )[1]
        labelled = label_shared(model, shared, mask, types)
        assert torch.allclose(labelled.sense_logits, output.sense_logits, atol=1e-5)
        assert torch.allclose(labelled.logits, output.logits, atol=1e-5)


def test_sense_labels_add_a_loss_and_minus_100_adds_none(toy_data):
    model = tiny_model(toy_data["tiny_bert"])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    ids, mask, types = batch(aligner, SENTENCES, [1, 1, 5])
    plain = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    ignored = model(
        input_ids=ids,
        attention_mask=mask,
        token_type_ids=types,
        sense_labels=torch.full((3,), -100),
    )
    assert plain.loss is None and float(ignored.loss.detach()) == 0.0
    labels = torch.tensor([4, 5, -100])
    loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, sense_labels=labels).loss
    expected = torch.nn.functional.cross_entropy(plain.sense_logits[:2], labels[:2])
    assert torch.allclose(loss, expected)


def test_a_model_without_rolesets_is_unchanged(toy_data):
    without = tiny_model(toy_data["tiny_bert"], rolesets=[])
    with_head = tiny_model(toy_data["tiny_bert"])
    assert without.sense_classifier is None and without.rolesets == []
    assert "srl_rolesets" not in without.config.to_dict()
    extra = set(with_head.state_dict()) - set(without.state_dict())
    assert extra == {"sense_classifier.weight", "sense_classifier.bias"}
    assert not any(name.startswith("sense") for name, _ in without.named_modules() if name)
    # Every other weight is drawn as without the head, so the outputs are the same.
    for name, tensor in without.state_dict().items():
        assert torch.equal(tensor, with_head.state_dict()[name]), name
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    ids, mask, types = batch(aligner, SENTENCES, [1, 1, 5])
    old = without(input_ids=ids, attention_mask=mask, token_type_ids=types)
    new = with_head(input_ids=ids, attention_mask=mask, token_type_ids=types)
    assert old.sense_logits is None and torch.equal(old.logits, new.logits)
    assert len(old.to_tuple()) == 2  # logits and predicate logits, as before senses


# Exports


def test_exports_keep_the_head_and_stock_classes_load_them(toy_data, tmp_path):
    model = tiny_model(toy_data["tiny_bert"])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    ids, mask, types = batch(aligner, SENTENCES, [1, 1, 5])
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    card = render_model_card(
        "base",
        LABELS,
        metrics={
            "best_validation_sense_accuracy": 0.9123,
            "best_validation_predicate_sense_f1": 0.8,
        },
        predicate_head=predicate_head_status(model),
        **model_architecture(model),
    )
    export = write_export(model, aligner, str(tmp_path / "export"), card, pytorch_bin=True)
    config = json.loads(Path(export, "config.json").read_text())
    assert config["srl_rolesets"] == ROLESETS

    for reloaded in (
        read_export(export)[0],
        AutoModelForSemanticRoleLabeling.from_pretrained(export),
    ):
        assert reloaded.rolesets == ROLESETS
        with torch.no_grad():
            output = reloaded.eval()(input_ids=ids, attention_mask=mask, token_type_ids=types)
        assert torch.equal(output.sense_logits, expected.sense_logits)
    model.save_pretrained(str(tmp_path / "saved"))
    saved = AutoModelForSemanticRoleLabeling.from_pretrained(str(tmp_path / "saved"))
    assert saved.rolesets == ROLESETS
    assert torch.equal(saved.sense_classifier.weight, model.sense_classifier.weight)

    # The stock class: the sense head is an unused weight; one frame's logits are the same.
    stock, info = AutoModelForTokenClassification.from_pretrained(export, output_loading_info=True)
    assert {"sense_classifier.weight", "sense_classifier.bias"} <= set(info["unexpected_keys"])
    assert not info["missing_keys"]
    with torch.no_grad():
        logits = stock.eval()(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert torch.allclose(logits, expected.logits, atol=1e-5)

    text = Path(export, "README.md").read_text()
    assert "sense_classifier" in text and "give no senses" in text
    names = [
        name for key, _, name in MODEL_INDEX_METRICS if key.startswith(("sense", "predicate_s"))
    ]
    for name, value in [(names[0], 0.9123), (names[1], 0.8)]:
        assert f"name: {name}" in text and f"value: {value}" in text


def test_an_export_whose_config_and_weights_disagree_is_refused(toy_data, tmp_path):
    from srl_plugin.hf.checkpoints.weights import CheckpointError

    model = tiny_model(toy_data["tiny_bert"])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    export = write_export(model, aligner, str(tmp_path / "export"), "")
    path = Path(export, "config.json")
    config = json.loads(path.read_text())
    config["srl_rolesets"] = ROLESETS[:-1]
    path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="lists 5 rolesets .* has 6 rows"):
        read_export(export)


# Decoding


@pytest.fixture(scope="module")
def decoder():
    return SenseDecoder(ROLESETS)


def test_design_b_chooses_among_the_lemmas_rolesets_design_a_among_all(decoder):
    # Shape: (3, 6); the best row overall is approve.01's.
    logits = torch.tensor(
        [
            [9.0, 1.0, 2.0, 0.0, 0.0, 0.0],
            [9.0, 0.0, 0.0, 0.0, 1.0, 3.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )
    restricted = decoder.decode(logits, ["had", "ran", "approval"])
    assert [s.roleset for s in restricted] == ["have.03", "run.02", "approve.01"]
    assert [s.lemma for s in restricted] == ["have", "run", "approval"]
    assert restricted[0].name == "own, possess" and restricted[0].from_model
    candidates = torch.tensor([1.0, 2.0, 0.0])  # have.01, have.03, have.LV
    assert restricted[0].score == pytest.approx(float(candidates.softmax(0)[1]))
    assert restricted[2].score == pytest.approx(1.0)  # its lemma's only roleset in the head
    unrestricted = decoder.decode(logits, ["had", "ran", "approval"], restrict=False)
    assert [s.roleset for s in unrestricted] == ["approve.01", "approve.01", "approve.01"]
    assert unrestricted[0].score == pytest.approx(float(logits[0].softmax(0)[0]))
    # Given lemmas are used as they are.
    given = decoder.decode(logits[1:2], ["'s"], lemmas=["run"])
    assert given[0].roleset == "run.02" and given[0].lemma == "run"


def test_unknown_lemmas_fall_back_without_a_crash(decoder):
    logits = torch.zeros(3, len(ROLESETS))
    senses = decoder.decode(logits, ["zzblorfed", "happier", "looking forward"])
    assert senses[0] == Sense("zzblorfed.01", None, None, False, "zzblorfed")
    # A lemma the frame files know but the head does not: their first roleset, not the model's.
    assert senses[1] == Sense("happy.01", "joyful", None, False, "happy")
    assert senses[2].lemma == "look_forward" and not senses[2].from_model
    with pytest.raises(ValueError, match=r"shape \(frames, 6\)"):
        decoder.decode(torch.zeros(1, 3), ["had"])


def test_roles_are_described_for_verbal_nominal_and_adjectival_rolesets(decoder):
    assert decoder.describe("have.03", "ARG0") == "owner"
    assert decoder.describe("have.03", "R-ARG0") == "owner"
    assert decoder.describe("have.03", "C-ARG1") == "possession"
    # "approval" is a noun form of approve.01, whose roles it shares.
    noun = decoder.decode(torch.zeros(1, len(ROLESETS)), ["approval"])[0]
    assert decoder.describe(noun.roleset, "ARG0") == "approver"
    assert decoder.describe("happy.01", "ARG1") == "experiencer of happiness"
    assert decoder.describe("have.LV", "ARG0") is None
    assert decoder.describe("zzblorf.01", "ARG0") is None
    assert decoder.describe("have.03", "ARGM-TMP") is None


def test_lemmas_come_from_the_lemmatizer_repaired_by_the_frame_files():
    assert [lemmatize(w) for w in ["had", "Approved", "'s", "ran"]] == [
        "have",
        "approve",
        "be",
        "run",
    ]
    # simplemma makes "thinking" "thinke"; the frame files know the word's own form.
    assert RolesetTable.shipped().candidates(lemmatize("thinking"))
    assert predicate_lemma("looking forward") == "look_forward"
    lemmatize.cache_clear()
    lemmatize("had")
    lemmatize("had")
    assert lemmatize.cache_info().hits == 1


def test_decoder_of_a_model_follows_its_rolesets(toy_data):
    model = tiny_model(toy_data["tiny_bert"])
    assert SenseDecoder.of(model) is SenseDecoder.of(model)
    assert SenseDecoder.of(model).rolesets == ROLESETS
    assert SenseDecoder.of(tiny_model(toy_data["tiny_bert"], rolesets=[])) is None


# Fitting on a frozen encoder


def logistic_regression_accuracy(features, gold, predicates, held_features, held_gold, held_preds):
    """
    The oracle: per lemma, a multinomial logistic regression on the same features (scikit-learn
    where installed, else torch's L-BFGS on the plain cross entropy), scored on held-out frames.
    """
    lemmas = [predicate_lemma(p) for p in predicates]
    held_lemmas = [predicate_lemma(p) for p in held_preds]
    right = 0
    for lemma in sorted(set(held_lemmas)):
        rows = [i for i, l in enumerate(lemmas) if l == lemma]
        held = [i for i, l in enumerate(held_lemmas) if l == lemma]
        classes = sorted({gold[i] for i in rows})
        if len(classes) == 1:
            right += sum(held_gold[i] == classes[0] for i in held)
            continue
        x, y = features[rows], torch.tensor([classes.index(gold[i]) for i in rows])
        try:
            from sklearn.linear_model import LogisticRegression

            fitted = LogisticRegression(C=1e4, max_iter=5000).fit(x.numpy(), y.numpy())
            predicted = fitted.predict(held_features[held].numpy()).tolist()
        except ImportError:
            head = torch.nn.Linear(x.size(1), len(classes))
            optimizer = torch.optim.LBFGS(head.parameters(), max_iter=500)

            def closure():
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(head(x), y)
                loss.backward()
                return loss

            optimizer.step(closure)
            predicted = head(held_features[held]).argmax(-1).tolist()
        right += sum(classes[p] == held_gold[i] for p, i in zip(predicted, held))
    return right / len(held_gold)


@pytest.mark.parametrize("fusion_layer", [0, 1])
def test_a_fitted_sense_head_learns_what_logistic_regression_learns(
    toy_data, fusion_layer, one_torch_thread
):
    model = tiny_model(toy_data["tiny_bert"], fusion_layer, rolesets=[])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    fit = list(read_conll2012(toy_data["fit"], keep_lines=True))
    record = fit_sense_head(model, aligner, fit, "toy/fit")
    assert model.rolesets == ["eat.01", "have.01", "have.03", "run.01", "run.02"]
    assert config_rolesets(model.config) == model.rolesets
    assert model.config.srl_sense_head_fit == record and record["frames"] == 160

    labeler = SemanticRoleLabeler(model, aligner)
    frames, gold, predicates = sense_examples(fit)
    held = list(read_conll2012(toy_data["held_out"], keep_lines=True))
    held_frames, held_gold, held_predicates = sense_examples(held)
    features = frame_features(labeler, frames)
    held_features = frame_features(labeler, held_frames)
    oracle = logistic_regression_accuracy(
        features, gold, predicates, held_features, held_gold, held_predicates
    )
    # The toy corpus is separable on these features (the oracle beats the majority), and the
    # fitted head, read by the model's own forward, does as well as the oracle.
    majority = sum(g in ("run.01", "have.03", "eat.01") for g in held_gold) / len(held_gold)
    assert oracle > majority + 0.1, (oracle, majority)
    scores = evaluate_senses(model, aligner, toy_data["held_out"])
    # On held-out frames, within two of 80 (the two fits regularize differently).
    assert round(scores["sense_accuracy"] * 80) >= round(oracle * 80) - 2, (scores, oracle)
    assert record["fit_sense_accuracy"] > majority + 0.1
    # The model reads the head where it was fitted: its own sense logits give the same senses.
    ids, mask, types = batch(aligner, [w for w, _ in held_frames], [p[0] for _, p in held_frames])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).sense_logits
    decoded = [s.roleset for s in SenseDecoder.of(model).decode(logits, held_predicates)]
    assert sum(d == g for d, g in zip(decoded, held_gold)) / len(held_gold) == pytest.approx(
        scores["sense_accuracy"]
    )


def test_frame_file_examples_give_the_head_the_rolesets_its_corpus_lacks(
    toy_data, one_torch_thread
):
    """
    Fitted on a corpus without `run.02` ("run" as "move fast"), the head has no row for it and
    calls every "run" `run.01`; fitted on the same corpus and `run.02` examples, it tells the two
    apart on held-out frames. Each example weighs `examples_weight` of a corpus frame: two copies
    at half weight are the same loss as one at full weight, hence the same head, and one copy at
    half weight is not.
    """
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    fit = list(read_conll2012(toy_data["fit"], keep_lines=True))
    without_run_02 = [s for s in fit if "run.02" not in s.frame_rolesets]
    examples = [
        RolesetExample("run.02", list(s.words), 1) for s in fit if "run.02" in s.frame_rolesets
    ]
    # An example whose predicate index points at another word ("the" has no run.02) is left out.
    misplaced = RolesetExample("run.02", ["She", "runs", "the", "company", "."], 2)
    assert decodable_examples(examples + [misplaced], ["run.01"]) == examples

    held = list(read_conll2012(toy_data["held_out"], keep_lines=True))
    _, held_gold, _ = sense_examples(held)
    run_frames = [i for i, g in enumerate(held_gold) if g.startswith("run.")]
    heads = {}
    for name, extra, weight in (
        ("corpus only", [], EXAMPLES_WEIGHT),
        ("examples", examples + [misplaced], 1.0),
        ("examples twice, half weight", examples + examples, 0.5),
        ("examples, half weight", examples, 0.5),
    ):
        model = tiny_model(toy_data["tiny_bert"], rolesets=[])
        record = fit_sense_head(
            model, aligner, without_run_02, "toy/fit", examples=extra, examples_weight=weight
        )
        labeler = SemanticRoleLabeler(model, aligner)
        held_frames, _, held_predicates = sense_examples(held)
        with torch.no_grad():
            logits = model.sense_classifier(frame_features(labeler, held_frames))
        senses = SenseDecoder.of(model).decode(logits, held_predicates)
        heads[name] = (model, record, [senses[i].roleset for i in run_frames])
    gold_runs = [held_gold[i] for i in run_frames]

    model, record, decoded = heads["corpus only"]
    assert "run.02" not in model.rolesets and "frame_file_examples" not in record
    assert set(decoded) == {"run.01"}
    model, record, decoded = heads["examples"]
    assert "run.02" in model.rolesets
    assert record["frames"] == sum(len(s.frame_rolesets) for s in without_run_02)
    assert record["frame_file_examples"] == len(examples)
    assert record["frame_file_examples_weight"] == 1.0
    # Against the oracle (per-lemma logistic regression) fitted on the same frames, corpus and
    # examples alike (weight 1), scored on the held-out "run" frames: within two of them.
    labeler = SemanticRoleLabeler(model, aligner)
    frames, gold, predicates = sense_examples(without_run_02)
    frames += [(e.words, [e.predicate]) for e in examples]
    gold += [e.roleset for e in examples]
    predicates += [e.words[e.predicate] for e in examples]
    held_frames, _, held_predicates = sense_examples(held)
    runs = [held_frames[i] for i in run_frames]
    oracle = logistic_regression_accuracy(
        frame_features(labeler, frames),
        gold,
        predicates,
        frame_features(labeler, runs),
        gold_runs,
        [held_predicates[i] for i in run_frames],
    )
    right = sum(d == g for d, g in zip(decoded, gold_runs))
    assert "run.02" in decoded and oracle > 0.6, (oracle, decoded)
    assert right >= round(oracle * len(gold_runs)) - 2, (right, oracle, len(gold_runs))

    twice = heads["examples twice, half weight"][0].sense_classifier
    once = heads["examples"][0].sense_classifier
    half = heads["examples, half weight"][0].sense_classifier
    # The same optimum, up to where L-BFGS stops; the half-weight head is far from it.
    same = (twice.weight - once.weight).abs().max()
    other = (half.weight - once.weight).abs().max()
    assert same < 5e-3 and other > 20 * same, (same, other)


def test_the_shipped_frame_file_examples_are_read_whole():
    examples = read_examples()
    assert len(examples) > 20_000
    assert all(0 <= e.predicate < len(e.words) for e in examples)
    # have.03 ("own, possess") has examples, as most rolesets do.
    assert any(e.roleset == "have.03" for e in examples)
    assert len({e.roleset for e in examples}) > 9_000


def test_srl_fit_predicates_fits_a_sense_head_into_an_export(toy_data, tmp_path, capsys):
    model = tiny_model(toy_data["tiny_bert"], rolesets=[])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    source = write_export(model, aligner, str(tmp_path / "source"), "# tiny\n")
    output = str(tmp_path / "fitted")
    argv = [source, toy_data["fit"], "--heads", "sense", "--output", output]
    assert fit_predicates.main(argv + ["--dev", toy_data["held_out"]]) == 0
    printed = capsys.readouterr().out
    assert "senses on" in printed and "sense_accuracy" in printed
    fitted, _ = read_export(output)
    assert fitted.rolesets == ["eat.01", "have.01", "have.03", "run.01", "run.02"]
    record = fitted.config.srl_sense_head_fit
    assert record["data"].endswith("/fit.gold_conll") and not record["data"].startswith("/")
    assert any(key.endswith("sense_accuracy") and "held_out" in key for key in record)
    # The predicate head is untouched; the card says how the sense head was made.
    assert torch.equal(fitted.predicate_classifier.weight, model.predicate_classifier.weight)
    card = Path(output, "README.md").read_text()
    assert "sense head was fitted afterwards" in card and "give no senses" in card

    # Data without rolesets: one line, exit 2.
    bare = tmp_path / "bare.gold_conll"
    bare.write_text(
        "".join(
            line.replace("run.01", "-")
            .replace("run.02", "-")
            .replace("have.01", "-")
            .replace("have.03", "-")
            .replace("eat.01", "-")
            for line in open(toy_data["fit"], encoding="utf-8")
        )
    )
    capsys.readouterr()
    code = fit_predicates.main(
        [source, str(bare), "--heads", "sense", "--output", output, "--force"]
    )
    assert code == 2
    assert "no frames with a roleset" in capsys.readouterr().err
    assert os.path.isdir(output)


def test_srl_fit_predicates_fits_on_the_frame_file_examples(
    toy_data, tmp_path, capsys, monkeypatch
):
    """
    `--frame-examples` adds the package's examples (here a small file in their format) to the
    corpus at the default weight: the head gets rows for the rolesets only they have, the record
    says so; without `--heads sense`, or with a negative weight, it is a clear error.
    """
    examples = tmp_path / "examples.json.gz"
    with gzip.open(examples, "wt", encoding="utf-8") as written:
        # The third points at "She": left out.
        rows = [["run.02", "She runs fast .", 1], ["run.03", "The car runs .", 2]]
        rows.append(["run.04", "She runs fast .", 0])
        json.dump({"source": "test", "examples": rows, "left_out": {}}, written)
    monkeypatch.setattr(rolesets, "EXAMPLES_PATH", examples)
    model = tiny_model(toy_data["tiny_bert"], rolesets=[])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    source = write_export(model, aligner, str(tmp_path / "source"), "# tiny\n")
    output = str(tmp_path / "fitted")
    argv = [source, toy_data["fit"], "--output", output]
    assert fit_predicates.main(argv + ["--frame-examples"]) == 2
    assert "--frame-examples fits the sense head" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        fit_predicates.main(argv + ["--heads", "sense", "--frame-examples", "-1"])
    assert exit.value.code == 2 and "must be 0 or more" in capsys.readouterr().err
    assert not os.path.exists(output)

    assert fit_predicates.main(argv + ["--heads", "sense", "--frame-examples"]) == 0
    fitted, _ = read_export(output)
    record = fitted.config.srl_sense_head_fit
    assert record["frame_file_examples"] == 2
    assert record["frame_file_examples_weight"] == EXAMPLES_WEIGHT
    card = Path(output, "README.md").read_text()
    assert (
        f"and 2 example sentences of PropBank's frame files, each weighing {EXAMPLES_WEIGHT}"
        in (" ".join(card.split()))
    )
    assert fitted.rolesets == ["eat.01", "have.01", "have.03", "run.01", "run.02", "run.03"]


def test_a_refitted_sense_head_replaces_the_runs_sense_figures_on_the_card(toy_data, tmp_path):
    # A trained export's card has the run's sense metrics; after a refit they measured a head
    # that is gone: the card reports the fit's figures instead, and keeps the span figures.
    model = tiny_model(toy_data["tiny_bert"])
    aligner = WordPieceAligner.from_pretrained(toy_data["tiny_bert"])
    metrics = {
        "best_validation_f1-measure-overall": 0.7007,
        "best_validation_sense_accuracy": 0.9123,
        "best_validation_predicate_sense_f1": 0.8111,
    }
    card = render_model_card(
        "base",
        LABELS,
        metrics=metrics,
        predicate_head=predicate_head_status(model),
        **model_architecture(model),
    )
    source = write_export(model, aligner, str(tmp_path / "source"), card)
    output = str(tmp_path / "fitted")
    argv = [source, toy_data["fit"], "--heads", "sense", "--output", output]
    assert fit_predicates.main(argv + ["--dev", toy_data["held_out"]]) == 0
    record = read_export(output)[0].config.srl_sense_head_fit
    dev_key = next(k for k in record if k.endswith(" sense_accuracy"))

    text = Path(output, "README.md").read_text()
    assert "0.9123" not in text and "0.8111" not in text
    assert "| sense_accuracy |" not in text and "| predicate_sense_f1 |" not in text
    assert "| f1-measure-overall | 0.7007 |" in text and "value: 0.7007" in text
    name = next(name for key, _, name in MODEL_INDEX_METRICS if key == "sense_accuracy")
    assert f"name: {name}{FITTED}" in text
    results = ModelCard.load(Path(output, "README.md")).data.eval_results
    fitted = [r for r in results if r.metric_name.endswith(FITTED)]
    assert [(r.metric_type, r.metric_value) for r in fitted] == [("accuracy", record[dev_key])]

    # A second fit (of the predicate head) keeps one entry of the sense head's figures.
    again = str(tmp_path / "again")
    assert fit_predicates.main([output, toy_data["fit"], "--output", again]) == 0
    results = ModelCard.load(Path(again, "README.md")).data.eval_results
    assert sum(r.metric_name.endswith(FITTED) for r in results) == 1
