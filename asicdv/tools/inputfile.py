"""Reading the project's YAML files (regression files, block.yaml, gate rules) with limits.

Every problem is one `UserError` line naming the file: missing or unreadable, larger than the limit,
not UTF-8, not YAML, an alias bomb (more nodes than the limit once aliases are expanded), nested too
deeply. The size and node limits keep a hostile file to a few MB of memory and well under a second.
Non-finite numbers (.nan, .inf) are refused by `finite_validator` for the JSON schemas.
"""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import yaml

from asicdv import UserError

MAX_BYTES = 1 << 20  # a regression or block file above 1 MiB is refused
MAX_NODES = 100_000  # YAML nodes once every alias is expanded (an alias bomb is 10^9)
MAX_DEPTH = 64  # nesting of lists and mappings


def read_text(path: Path, what: str, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, refused when missing, not a file, too large or not UTF-8."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserError(f"{path}: {what} is not a regular file")
        if size > max_bytes:
            raise UserError(f"{path}: {what} is {size} bytes; the limit is {max_bytes} bytes")
        raw = path.read_bytes()[: max_bytes + 1]
    except FileNotFoundError:
        raise UserError(f"{path}: {what} does not exist") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:  # it grew meanwhile
        raise UserError(f"{path}: {what} is over {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path}: {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _check_graph(root: yaml.Node, path: Path, what: str) -> None:
    """Count the nodes the composed graph expands to (aliases included) without expanding it."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:  # recursion is bounded by MAX_DEPTH
        key = id(node)
        if key in sizes:  # an alias of a node already counted
            return sizes[key]
        if key in active:
            raise UserError(f"{path}: {what} has an alias that refers to itself")
        if depth > MAX_DEPTH:
            raise UserError(f"{path}: {what} nests lists or mappings more than {MAX_DEPTH} deep")
        if isinstance(node, yaml.ScalarNode):
            total = 1
        else:
            active.add(key)
            pairs = node.value if isinstance(node, yaml.MappingNode) else [(child,) for child in node.value]
            total = 1 + sum(size(child, depth + 1) for pair in pairs for child in pair)
            active.discard(key)
        if total > MAX_NODES:
            raise UserError(
                f"{path}: {what} expands to more than {MAX_NODES} YAML nodes once its aliases are "
                "expanded: refused (an alias bomb?)"
            )
        sizes[key] = total
        return total

    size(root, 1)


def _flow_depth(text: str) -> int:
    """The deepest [ / { nesting outside quotes and comments (PyYAML's scanner is quadratic in it)."""
    depth = deepest = 0
    quote = None
    previous = "\n"
    for char in text:
        if quote:
            if char == quote or (char == "\n" and quote == "#"):
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and previous in " \t\n":
            quote = "#"
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return deepest


def load_yaml(path: Path, what: str, max_bytes: int = MAX_BYTES):
    """The file's data (safe YAML), or one UserError line."""
    text = read_text(path, what, max_bytes)
    if _flow_depth(text) > MAX_DEPTH:
        raise UserError(f"{path}: {what} nests lists or mappings more than {MAX_DEPTH} deep")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_graph(node, path, what)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: {what} is not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise UserError(f"{path}: {what} nests too deeply") from None


def _finite_number(checker, instance) -> bool:
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and (
        not isinstance(instance, float) or math.isfinite(instance)
    )


# Draft 2020-12 where `number` excludes NaN and the infinities (YAML's .nan and .inf).
FiniteValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number),
)


def schema_errors(schema: dict, data) -> list[jsonschema.ValidationError]:
    """Every schema violation, in a stable order (by where in the file)."""
    try:
        errors = FiniteValidator(schema).iter_errors(data)
        return sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    except RecursionError:
        return [jsonschema.ValidationError("nested too deeply")]
