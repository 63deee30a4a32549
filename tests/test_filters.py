"""The escaping filters of local_extensions.py, each on its own: examples of what it writes,
and properties (hypothesis) that its output reads back as exactly the text typed, in the
format's own parser. Rendered files with free text are tested in test_free_text.py."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import Environment

import local_extensions as ext
from tests.helpers import BIN, CONTEXT, shown, squash

# Free text as the pre-generation hook lets it through: one line, printable, tab allowed.
one_line = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cn", "Co")),
        st.sampled_from(list("\t\"'\\`*_[]<>&|~$#!{}+-=.()1 ")),
    )
)
# Anything at all that a str can hold (the filters escape what the hook refuses, too).
any_text = st.text(st.characters(blacklist_categories=("Cs",)))


def test_cookiecutter_loads_every_filter():
    """The `_extensions` of cookiecutter.json give the templates each filter by its name,
    from a fresh import of local_extensions.py each time (see LoadAfresh)."""
    filters = Environment(extensions=CONTEXT["_extensions"]).filters
    for function in [*ext.ESCAPES, ext.answer_forms]:
        assert filters[function.__name__].__module__ == "local_extensions"
        assert filters[function.__name__].__code__.co_code == function.__code__.co_code
    assert CONTEXT["_extensions"][-1] == "local_extensions.LoadAfresh"
    assert "local_extensions" not in sys.modules


# --- toml_str ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", '"plain"'),
        ('say "hi" \\ now', '"say \\"hi\\" \\\\ now"'),
        ("tab\there", '"tab\\there"'),
        ("ünïcode 😀", '"ünïcode 😀"'),
        ("line\nbreak\x7f", '"line\\u000Abreak\\u007F"'),
    ],
)
def test_toml_str_examples(text, expected):
    assert ext.toml_str(text) == expected


@given(text=any_text)
def test_toml_str_reads_back(text):
    assert tomllib.loads(f"key = {ext.toml_str(text)}\n")["key"] == text


# --- json_str ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a "b" \\ c', '"a \\"b\\" \\\\ c"'),
        ("tab\tnl\n", '"tab\\tnl\\u000a"'),
        ("ünïcode 😀", '"ünïcode 😀"'),  # readable, not \\u escapes
        ("\x85\u2028\ufeff", '"\\u0085\\u2028\\ufeff"'),
    ],
)
def test_json_str_examples(text, expected):
    assert ext.json_str(text) == expected


@given(text=any_text)
@example(text='a\tb "c" \\ d\x00\x1f\x7f\x85\xa0\u2028\u2029\ufeff\ufffe\uffff 😀 👩\u200d💻')
def test_json_str_reads_back_as_json_and_yaml(text):
    written = ext.json_str(text)
    assert json.loads(written) == text
    assert yaml.safe_load(written) == text


# --- py_str -----------------------------------------------------------------------------------


def test_py_str_quotes_like_ruff():
    assert ext.py_str("Orders API") == '"Orders API"'
    assert ext.py_str("it's") == '"it\'s"'
    assert ext.py_str('say "hi"') == "'say \"hi\"'"  # fewer escapes
    assert ext.py_str("a \"b\" 'c'") == '"a \\"b\\" \'c\'"'  # a tie: double quotes
    assert ext.py_str("é\t\\") == '"\\xe9\\t\\\\"'  # ASCII only


def test_py_str_wraps_a_long_value():
    assert ext.py_str("x" * (ext.PY_ONE_LINE - 2)) == '"' + "x" * (ext.PY_ONE_LINE - 2) + '"'
    wrapped = ext.py_str("x" * (ext.PY_ONE_LINE - 1))
    assert wrapped == f'(\n        "{"x" * (ext.PY_ONE_LINE - 1)}"\n    )'
    lines = ext.py_str("y" * 200).splitlines()
    assert lines[0] == "("
    assert lines[-1] == "    )"
    assert [len(line) for line in lines[1:-1]] == [8 + ext.PY_CHUNK] * 2 + [8 + 200 - 180 + 2]


@given(text=any_text)
@example(text="é" * 30 + '"' * 10)
def test_py_str_reads_back_and_fits_the_line(text):
    written = ext.py_str(text)
    assert ast.literal_eval(written) == text
    assert written.isascii()
    statement = f"    title: str = {written}"
    assert all(len(line) <= 100 for line in statement.splitlines()), statement
    ast.parse(f"class Settings:\n{statement}\n")


def ruff_format_changes(source: str) -> str:
    """What `ruff format` (the rendered project's line length, 100) would change in
    `source`: an empty string when it leaves the file as it is."""
    result = subprocess.run(
        [BIN / "ruff", "format", "--no-cache", "--line-length", "100", "--diff", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "text",
    [
        "x" * 89,  # one literal of 91 columns: fits inside the parentheses
        "x" * 90,  # 92 columns: the most that fits there
        "x" * 91,  # 93: two literals
        '""""\U000172b0\u0124"/"!|".)"["""""["\'\'\'\xc7|=,3' * 2,
        # hypothesis found this one: 92 columns once joined, so ruff format joined two pieces
        '""""\U000172b0\u0124"/\U0002b29e"\U00018c19\U0002beef\t!|".)"["""""["\'\'\'\xc7\u0111|=,3',
    ],
)
def test_py_str_is_what_ruff_format_writes(text):
    text = text.encode().decode("unicode_escape")
    assert ruff_format_changes(f"class Settings:\n    title: str = {ext.py_str(text)}\n") == ""


@settings(max_examples=150, deadline=None)
@given(text=one_line.filter(lambda s: len(s) > 20))
def test_py_str_is_what_ruff_format_writes_for_any_answer(text):
    """ruff format leaves the literal as it is, whatever its length (one subprocess per
    example: the rendered project's own ruff format check is the one that counts)."""
    assert ruff_format_changes(f"class Settings:\n    title: str = {ext.py_str(text)}\n") == ""


# --- md_text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Orders API  ", "Orders API"),
        ("*bold* `code` [link](x) <b>&amp;", "\\*bold\\* \\`code\\` \\[link\\](x) \\<b\\>\\&amp;"),
        ("- not a list", "\\- not a list"),
        ("a - b", "a - b"),
        ("12. not a list", "12\\. not a list"),
        ("1) nor this", "1\\) nor this"),
        ("v1.2", "v1.2"),
        ("# not a heading", "\\# not a heading"),
    ],
)
def test_md_text_examples(text, expected):
    assert ext.md_text(text) == expected


@given(text=one_line.filter(str.strip))
@example(text="---")
@example(text="1. x")
@example(text="> quote | a | table ~~struck~~ $math$")
def test_md_text_shows_as_typed(text):
    """As a heading and as a paragraph of its own, the text shows exactly as typed."""
    written = ext.md_text(text)
    blocks = shown(f"# {written}\n\n{written}\n")
    assert [squash(block) for block in blocks] == [squash(text)] * 2


# --- answer_forms -----------------------------------------------------------------------------


def test_answer_forms_are_the_braced_answers_as_written():
    name = "Brace {{ x }} é " + "long " * 20 + "end"
    forms = ext.answer_forms({"project_name": name, "slug": "plain", "_private": "{{ y }}"})
    assert name in forms
    assert ext.toml_str(name) in forms
    assert ext.json_str(name) in forms
    # A wrapped Python literal, line by line: its first chunk holds the braces.
    first_chunk = ext.py_str(name).splitlines()[1].strip()
    assert first_chunk in forms
    assert all("{" in form for form in forms)
    assert not any("y }}" in form for form in forms)
    assert forms == sorted(forms, key=len, reverse=True)  # longest first


# --- origin_list ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("  ", []),
        ("*", ["*"]),
        ("https://a.example.com", ["https://a.example.com"]),
        (
            "https://a.example.com , http://localhost:3000",
            ["https://a.example.com", "http://localhost:3000"],
        ),
    ],
)
def test_origin_list_examples(text, expected):
    assert ext.origin_list(text) == expected
