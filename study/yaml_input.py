"""User YAML (spec files, `--set` values) read safely, strictly and cheaply.

PyYAML's safe loader builds only plain values, but on its own it accepts three things a
spec must not have: an alias bomb (a few hundred bytes whose aliases expand to billions
of values: validating or printing it never ends), a key given twice (the last one wins
silently), and exponents without a dot (`1e-4` is a string in YAML 1.1). `load_yaml`
refuses the first two with a short message and reads the third as the number it is.
"""

from __future__ import annotations

import re

import yaml

from study.exits import BadInput, echo_value

MAX_BYTES = 1_000_000  # a spec is a few hundred bytes; a megabyte is already absurd
MAX_NODES = 100_000  # values after expanding aliases


class YamlError(ValueError):
    """YAML that is not a usable spec or value; the message says why, briefly."""


# YAML 1.2 floats that YAML 1.1 reads as strings: 1e-4, 1E5, -2e+3 (no dot).
_EXPONENT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")


class _DuplicateKey(ValueError):
    pass


class StrictLoader(yaml.SafeLoader):
    """The safe loader without silent duplicate keys, and with YAML 1.2 exponents."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float)):
                    continue  # the safe loader refuses unhashable keys itself
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise _DuplicateKey(f"duplicate key {str(key)[:40]!r} (line {line})")
                seen.add(key)
        return super().construct_mapping(node, deep)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+0123456789"))


def load_yaml(text: str | bytes, what: str = "spec") -> object:
    """Parse `text` into plain values; YamlError for oversize, non-text or bad YAML,
    alias bombs and duplicate keys (the message never echoes an expanded value)."""
    if len(text) > MAX_BYTES:
        raise YamlError(f"{what}: {len(text):,} bytes; a spec is at most {MAX_BYTES:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise YamlError(f"{what}: not a text file (not UTF-8): is it a YAML spec?") from None
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, what)
        return loader.construct_document(node)
    except _DuplicateKey as error:
        raise YamlError(f"{what}: {error}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"{what}: not valid YAML: {_brief(error)}") from None
    except RecursionError:
        raise YamlError(f"{what}: nested too deeply to be a spec") from None
    finally:
        loader.dispose()


def _check_size(root: yaml.Node, what: str) -> None:
    """Refuse a document whose aliases expand to more than MAX_NODES values (or loop)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise YamlError(f"{what}: an alias refers to itself (a recursive structure)")
        visiting.add(key)
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise YamlError(
                    f"{what}: expands to more than {MAX_NODES:,} values (through aliases?); "
                    "a spec is small"
                )
        visiting.discard(key)
        sizes[key] = total
        return total

    size(root)


def _brief(error: yaml.YAMLError) -> str:
    """A YAML error's problem and line, without the echoed snippet of the input."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{problem}{where}"


def parse_assignments(assignments: list[str]) -> dict[str, object]:
    """`key=value` strings to a dict; values are read as YAML scalars (5, 1e-3, true, hinge)."""
    values = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        key = key.strip()
        if not separator or not key:
            raise BadInput(f"--set expects key=value, got {echo_value(assignment)}")
        if key in values:
            raise BadInput(f"--set {key}: given twice")
        try:
            values[key] = load_yaml(text, f"--set {key}") if text else ""
        except YamlError as error:
            raise BadInput(str(error)) from None
    return values
