"""Escaping filters of the template: free text written into each target format.

Cookiecutter loads them through `_extensions` in cookiecutter.json (its documented local
extensions, made with `simple_filter` at the end of this file); the templates use them as
`{{ cookiecutter.description | toml_str }}`. Each filter is a plain function of the answer
as typed that returns it ready to paste where the format expects a value. The
pre-generation hook has already refused line breaks and control characters in free text
(tab excepted); the filters escape them anyway, so that no value can break out.
tests/test_filters.py tests each filter on its own. This module imports nothing beyond
cookiecutter: cruft loads it too (docs/updating.md).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension

# --- TOML -----------------------------------------------------------------------------------

# TOML basic strings: `"` and `\` escaped, control characters other than tab as escapes
# (toml.io/en/v1.0.0#string); everything else, non-ASCII included, stays as typed.
_TOML_ESCAPES = {code: f"\\u{code:04X}" for code in [*range(0x20), 0x7F]}
_TOML_ESCAPES.update({0x09: "\\t", 0x22: '\\"', 0x5C: "\\\\"})


def toml_str(value: str) -> str:
    """A TOML basic string (with its quotes) holding `value` exactly."""
    return '"' + str(value).translate(_TOML_ESCAPES) + '"'


# --- JSON that YAML reads the same ------------------------------------------------------------

# Only `"`, `\`, control characters, the C1 range and the characters YAML will not take
# literally (line and paragraph separators, BOM, non-characters) are escaped. Unlike
# `tojson`/`jsonify`, non-ASCII text stays readable, and no surrogate pair is written
# (PyYAML decodes an escaped surrogate pair wrongly).
_JSON_ESCAPES = {
    code: f"\\u{code:04x}"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF]
}
_JSON_ESCAPES.update({0x09: "\\t", 0x22: '\\"', 0x5C: "\\\\"})


def json_str(value: str) -> str:
    """A JSON string (with its quotes) holding `value` exactly, that reads the same as a
    YAML double-quoted scalar (`.cookiecutter.json` is both a record and a config file)."""
    return '"' + str(value).translate(_JSON_ESCAPES) + '"'


# --- Python ---------------------------------------------------------------------------------

# The literal lands after `    title: str = ` (17 columns) in a project whose ruff
# line-length is 100: on one line it may take 83 columns. Longer, it goes inside
# parentheses, indented 8, where a line holds 92 columns: one literal if it fits there
# (ruff format would join shorter pieces into it), else implicitly concatenated literals
# of at most 92 columns each, one per line, which ruff check and ruff format leave as
# they are (joined, they could not fit).
PY_ONE_LINE = 83
PY_CHUNK = 92


def _py_literal(text: str) -> str:
    """One ASCII-only Python string literal of `text`, quoted the way ruff's formatter
    prefers (double quotes unless the text holds more double than single quotes)."""
    text = text.replace("\\", "\\\\")
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = text.replace(quote, "\\" + quote)
    # Everything but printable ASCII as a \t, \x, \u or \U escape.
    return (
        quote
        + "".join(c if c.isascii() and c.isprintable() else ascii(c)[1:-1] for c in body)
        + quote
    )


def py_str(value: str) -> str:
    """A Python expression for the string `value`: one literal if it fits the line, else
    a parenthesised run of literals, each line within the project's line length."""
    value = str(value)
    one = _py_literal(value)
    if len(one) <= PY_ONE_LINE:
        return one
    chunks, current = [], ""
    for char in value:
        if current and len(_py_literal(current + char)) > PY_CHUNK:
            chunks.append(current)
            current = char
        else:
            current += char
    lines = "".join(f"        {_py_literal(chunk)}\n" for chunk in [*chunks, current])
    return f"(\n{lines}    )"


# --- Markdown -------------------------------------------------------------------------------

# Characters that start or end Markdown inline syntax (emphasis, code, links, HTML, entities,
# tables, strikethrough, math, headings), escaped wherever they are; `+ - =` only first
# (list item, setext underline), and `.` or `)` after leading digits (ordered list).
MD_SPECIALS = frozenset("\\`*_[]<>&|~$#!{}")


def md_text(value: str) -> str:
    """`value` as Markdown inline text that shows exactly as typed (trimmed), in a heading
    or a paragraph of its own."""
    text = str(value).strip()
    out = []
    for index, char in enumerate(text):
        if (
            char in MD_SPECIALS
            or (index == 0 and char in "+-=")
            or (char in ".)" and text[:index].isdigit())
        ):
            out.append("\\")
        out.append(char)
    return "".join(out)


ESCAPES = [json_str, md_text, py_str, toml_str]


# --- answers with a structure -----------------------------------------------------------------


def origin_list(value: str) -> list[str]:
    """The origins of the `cors_origins` answer: comma-separated, spaces around the commas
    allowed, empty for none (the pre-generation hook's `cors_origins` reads it the same way
    and has checked each origin)."""
    return [origin.strip() for origin in str(value).split(",")] if str(value).strip() else []


def answer_forms(context: dict) -> list[str]:
    """Every string answer that holds a `{`, as typed and as each filter above writes it,
    line by line: the post-generation hook takes these for data, not for Jinja leftovers."""
    forms = set()
    for key, value in context.items():
        if isinstance(value, str) and "{" in value and not key.startswith("_"):
            for form in [value, *(escape(value) for escape in ESCAPES)]:
                forms.update(line.strip() for line in form.splitlines() if "{" in line)
    return sorted(forms, key=len, reverse=True)


# The Jinja extensions that cookiecutter.json's `_extensions` names, one filter each.
JsonStr, MdText, PyStr, TomlStr, AnswerForms, OriginList = map(
    simple_filter, [*ESCAPES, answer_forms, origin_list]
)


class LoadAfresh(Extension):
    """Last in `_extensions`: once the filters are registered, forget this module and its
    bytecode, so that the next Jinja environment reads the file again. `cruft update`
    renders the service's template version and the new one in one process, from one
    directory; without this the new render would get the old version's filters, or fail
    on a filter the old version lacks (cruft/cruft#253, open)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        module = sys.modules.pop(__name__, None)
        if module is not None and module.__file__:
            Path(importlib.util.cache_from_source(module.__file__)).unlink(missing_ok=True)
