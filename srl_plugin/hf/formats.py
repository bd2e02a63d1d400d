"""
Writers for labelled results (the dictionaries of `SemanticRoleLabeler.predict_batch`): JSON
lines, the CoNLL columns that `srl-eval.pl` reads, and a self-contained HTML page. Each writer
turns one result into one complete record (a line, a block, a section), so a stream of them can
be written as it is produced and cut only between records. Frames with a predicate sense (a model
with a sense head, `srl_plugin.hf.outputs`) add their lemma and roleset to the CoNLL block and
their roleset and role descriptions to the HTML; frames without one are written as before.

A document's result (`srl_plugin.hf.documents`) is one record too, written in pieces as its
sentences are labelled (`document_piece`): a JSON line `{"id": ..., "sentences": [...]}`, a
CoNLL `#begin document (ID); part 000` ... `#end document` block, or an HTML section, each
around the sentences' records as above.
"""

import html
import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from srl_plugin.hf.documents import (
    DocumentEnd,
    DocumentError,
    DocumentPiece,
    DocumentSentences,
    DocumentStart,
)
from srl_plugin.hf.labels import PREDICATE_ROLE, bio_tags_to_spans, convert_bio_tags_to_conll_format

FORMATS = ("jsonl", "conll", "html")
# The column widths of allennlp-models' write_conll_formatted_tags_to_file.
_CONLL_WIDTH = 15


def json_line(result: Dict[str, Any]) -> str:
    """One JSON line, readable UTF-8 where possible, with a final newline."""
    return _json(result) + "\n"


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate that came in (JSON allows "\ud800") cannot be encoded as UTF-8: this
        # value is written with ASCII escapes instead of killing the run.
        text = json.dumps(value, ensure_ascii=True)
    return text


def conll_block(result: Dict[str, Any]) -> str:
    """
    One sentence in the CoNLL-2005 SRL columns read by `srl-eval.pl` (and written by
    allennlp-models' `write_to_conll_eval_file`): per word, the predicate column (the word where
    a frame's predicate starts, `-` elsewhere), then one bracketed column per frame in the order
    of the predicates in the sentence, then a blank line. An error result gives no block.

    Where frames have a sense (`lemma`, `roleset`), two columns follow: the predicate's lemma and
    its roleset (`have`, `have.03`) on the line of the word where it starts, `-` elsewhere, as
    CoNLL-2012's columns 7 and 8. They come last because `srl-eval.pl` takes each column after
    the first for the arguments of the next predicate and ignores the columns left over, so it
    scores the block exactly as it would without them.
    """
    if "error" in result:
        return ""
    words = result["words"]
    verbs = sorted(result["verbs"], key=lambda verb: verb["predicate_indices"][0])
    targets = ["-"] * len(words)
    for verb in verbs:
        targets[verb["predicate_indices"][0]] = _conll_word(words[verb["predicate_indices"][0]])
    columns = [convert_bio_tags_to_conll_format(verb["tags"]) for verb in verbs]
    if any("lemma" in verb or "roleset" in verb for verb in verbs):
        lemmas, rolesets = ["-"] * len(words), ["-"] * len(words)
        for verb in verbs:
            lemmas[verb["predicate_indices"][0]] = _conll_cell(verb.get("lemma"))
            rolesets[verb["predicate_indices"][0]] = _conll_cell(verb.get("roleset"))
        columns += [lemmas, rolesets]
    lines = []
    for index, target in enumerate(targets):
        cells = [target.ljust(_CONLL_WIDTH)] + [
            column[index].rjust(_CONLL_WIDTH) for column in columns
        ]
        lines.append(" ".join(cells).rstrip() + "\n")
    return "".join(lines) + "\n"


def _conll_word(word: str) -> str:
    # srl-eval.pl splits lines on whitespace and takes "-" for "no predicate here".
    word = "_".join(word.split())
    return "_" if word == "-" else word


def _conll_cell(value: Optional[str]) -> str:
    # One whitespace-free cell, "-" where there is no value (as on the lines of other words).
    return "_".join((value or "").split()) or "-"


# Colours of the roles: the core arguments, modifiers and the predicate, as in displaCy's palette.
_COLOURS = {
    PREDICATE_ROLE: "#ff8197",
    "ARG0": "#7aecec",
    "ARG1": "#bfeeb7",
    "ARG2": "#feca74",
    "ARG3": "#aa9cfc",
    "ARG4": "#c887fb",
    "ARG5": "#9cc9cc",
}
_MODIFIER_COLOUR = "#e4e7d2"
_OTHER_COLOUR = "#ddd"

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em;
       color: #222; background: #fff; }
h1 { font-size: 1.3em; }
section.document { margin: 1.5em 0 2em; }
section.document > h2 { font-size: 1.1em; border-bottom: 2px solid #bbb; padding-bottom: 0.2em; }
section.sentence { border-bottom: 1px solid #ddd; padding: 0.6em 0 1em; }
p.words { font-size: 1.05em; margin: 0.2em 0 0.6em; color: #555; }
div.frame { line-height: 2.6; margin: 0.2em 0; }
span.frame-score { font-size: 0.7em; color: #888; margin-left: 0.8em; white-space: nowrap; }
mark.role { padding: 0.25em 0.45em; margin: 0 0.15em; border-radius: 0.35em;
            box-decoration-break: clone; -webkit-box-decoration-break: clone; }
mark.role span.label { font-size: 0.62em; font-weight: bold; text-transform: uppercase;
                       vertical-align: middle; margin-left: 0.45em; }
span.roleset { font-size: 0.62em; font-weight: bold; vertical-align: middle; margin-left: 0.45em;
               font-family: Menlo, Consolas, monospace; }
span.roleset.fallback { color: #444; font-weight: normal; }
span.gloss { font-size: 0.68em; font-style: italic; color: #444; vertical-align: middle;
             margin-left: 0.35em; }
div.error { color: #a00; font-family: monospace; }
"""


def html_header(title: str = "Semantic role labels") -> str:
    """The start of the page: everything before the first sentence."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
    )


def html_footer() -> str:
    return "</body>\n</html>\n"


def html_section(result: Dict[str, Any]) -> str:
    """One sentence: its words, then each frame as coloured role spans over the sentence."""
    if "error" in result:
        return f'<section class="sentence"><div class="error">{html.escape(result["error"])}</div></section>\n'
    words = result["words"]
    parts = ['<section class="sentence">', f'<p class="words">{html.escape(" ".join(words))}</p>']
    for verb in result["verbs"]:
        parts.append(_html_frame(words, verb))
    parts.append("</section>\n")
    return "\n".join(parts)


def _html_frame(words: Sequence[str], verb: Dict[str, Any]) -> str:
    # An argument's score and role description, by its span (the predicate has neither).
    arguments = {(a["start"], a["end"]): a for a in verb["arguments"]}
    sense = _html_sense(verb)
    pieces: List[str] = []
    position = 0
    for role, start, end in bio_tags_to_spans(verb["tags"]):
        pieces.extend(html.escape(word) for word in words[position:start])
        text = html.escape(" ".join(words[start : end + 1]))
        argument = arguments.get((start, end), {})
        score = argument.get("score")
        title = role if score is None else f"{role} {score:.2f}"
        gloss = ""
        if argument.get("role_description"):
            title += f": {argument['role_description']}"
            gloss = f'<span class="gloss">{html.escape(argument["role_description"])}</span>'
        elif role == PREDICATE_ROLE and sense:
            title += f": {_sense_title(verb)}"
            gloss, sense = sense, ""  # Next to the first word of the predicate only.
        pieces.append(
            f'<mark class="role" data-role="{html.escape(role)}" title="{html.escape(title)}" '
            f'style="background: {_colour(role)}">{text}'
            f'<span class="label">{html.escape(role)}</span>{gloss}</mark>'
        )
        position = end + 1
    pieces.extend(html.escape(word) for word in words[position:])
    if sense:  # No predicate among the tags: the sense opens the frame.
        pieces.insert(0, f'<span title="{html.escape(_sense_title(verb))}">{sense}</span>')
    notes = [] if verb.get("score") is None else [f"frame score {verb['score']:.2f}"]
    if verb.get("sense_score") is not None:
        notes.append(f"sense score {verb['sense_score']:.2f}")
    elif verb.get("sense_from_model") is False:
        notes.append("fallback sense")
    suffix = f'<span class="frame-score">{" · ".join(notes)}</span>' if notes else ""
    roleset = verb.get("roleset")
    attributes = f'data-verb="{html.escape(verb["verb"])}"'
    if roleset is not None:
        attributes += f' data-roleset="{html.escape(roleset)}"'
    return f'<div class="frame" {attributes}>{" ".join(pieces)}{suffix}</div>'


def _html_sense(verb: Dict[str, Any]) -> str:
    """The predicate's roleset and its name as shown after the predicate's label, or ""."""
    if verb.get("roleset") is None:
        return ""
    fallback = " fallback" if verb.get("sense_from_model") is False else ""
    shown = f'<span class="roleset{fallback}">{html.escape(verb["roleset"])}</span>'
    if verb.get("roleset_name"):
        shown += f'<span class="gloss">{html.escape(verb["roleset_name"])}</span>'
    return shown


def _sense_title(verb: Dict[str, Any]) -> str:
    title = verb["roleset"]
    if verb.get("roleset_name"):
        title += f" ({verb['roleset_name']})"
    if verb.get("sense_from_model") is False:
        title += ", a fallback: not predicted by the model"
    return title


def _colour(role: str) -> str:
    base = role[2:] if role[:2] in ("R-", "C-") else role
    if base in _COLOURS:
        return _COLOURS[base]
    return _MODIFIER_COLOUR if base.startswith("ARGM") else _OTHER_COLOUR


def render_html(results: Any, title: str = "Semantic role labels") -> str:
    """
    One self-contained HTML page (inline CSS, no script, nothing fetched) showing each frame of
    a result, or of a list of results, as coloured role spans over its sentence.
    """
    if isinstance(results, dict):
        results = [results]
    return html_header(title) + "".join(html_section(r) for r in results) + html_footer()


def record_writer(output_format: str) -> Tuple[str, Callable[[Dict[str, Any]], str], str]:
    """`(header, record_of_one_result, footer)` of `output_format` (jsonl, conll or html)."""
    if output_format == "jsonl":
        return "", json_line, ""
    if output_format == "conll":
        return "", conll_block, ""
    if output_format == "html":
        return html_header(), html_section, html_footer()
    raise ValueError(f"unknown output format {output_format!r}: expected one of {FORMATS}")


def document_piece(output_format: str, piece: DocumentPiece) -> str:
    """
    The text of one piece of a document's result (`srl_plugin.hf.documents`) in `output_format`;
    the header and footer are `record_writer`'s. The record is complete after a `DocumentEnd`
    or a `DocumentError`.

    - jsonl: `{"id": ..., <fields>, "sentences": [` at the start, the sentences' JSON objects
      separated by commas, `]}` and a newline at the end: one JSON line per document.
    - conll: `#begin document (ID); part 000`, the sentences' blocks (`conll_block`), `#end
      document`, as CoNLL-2012 files lay documents out (white space in the ID becomes `_`). A bad
      document writes nothing, as a bad sentence does. `srl-eval.pl` reads every non-blank line
      as a word of a sentence (it dies on `#begin document`): remove the document lines before
      scoring, `grep -v '^#' OUTPUT`, which leaves the sentences' blocks exactly.
    - html: a `<section class="document">` headed by the ID, the sentences' sections inside.
    """
    _, sentence_record, _ = record_writer(output_format)
    if isinstance(piece, DocumentSentences):
        if output_format == "jsonl":
            separator = ", " if piece.first else ""
            return separator + ", ".join(_json(sentence) for sentence in piece.sentences)
        return "".join(sentence_record(sentence) for sentence in piece.sentences)
    if isinstance(piece, DocumentStart):
        document_id = piece.head["id"]
        if output_format == "jsonl":
            return _json(piece.head)[:-1] + ', "sentences": ['
        if output_format == "conll":
            return f"#begin document ({'_'.join(str(document_id).split())}); part 000\n"
        return _html_document_start(document_id)
    if isinstance(piece, DocumentEnd):
        return {"jsonl": "]}\n", "conll": "#end document\n"}.get(output_format, "</section>\n")
    if isinstance(piece, DocumentError):
        if output_format == "html":
            error = html.escape(piece.record["error"])
            start = _html_document_start(piece.record["id"])
            return f'{start}<div class="error">{error}</div>\n</section>\n'
        return sentence_record(piece.record)
    raise TypeError(f"not a piece of a document's result: {type(piece).__name__}")


def _html_document_start(document_id: Any) -> str:
    shown = html.escape(str(document_id))
    return f'<section class="document" data-id="{shown}">\n<h2>{shown}</h2>\n'
