"""`Parameters`: a component's settings as one typed, frozen record.

A component's parameters are a frozen dataclass deriving from `Parameters`
(TFX's `ComponentSpec.PARAMETERS` idea): each field is declared once, with
its type; executors read attributes. The runner records them in the
execution record and hashes them into the cache key as `to_json()`, a
JSON-able mapping of field name -> value, and reads a recorded mapping
back with `from_json`, which refuses a key it does not know.

Two kinds of fields are special (their `metadata`):
- `RESOLVED`: filled by the component's resolver when it is about to run
  (`Component.resolvers`); `None` until then. Serialized like any field.
- `RUNTIME`: passed to the executor but left out of `to_json()`, hence out
  of the record and the cache key (console verbosity). It needs a default:
  the value a record read back gets.
"""

import dataclasses
import types
import typing

from pipelines.framework.errors import PipelineError

#: Field metadata: the value is set by the component's resolver.
RESOLVED = {"resolved": True}
#: Field metadata: passed to the executor, not serialized (not in the key).
RUNTIME = {"runtime": True}


class Parameters:
    """Base of the typed parameter records (subclasses are frozen dataclasses)."""

    @classmethod
    def serialized_fields(cls):
        """The fields `to_json` writes: all but the `RUNTIME` ones."""
        return tuple(f for f in dataclasses.fields(cls) if not f.metadata.get("runtime"))

    def to_json(self):
        """`{field name: value}` of the serialized fields (JSON-able values)."""
        return {f.name: getattr(self, f.name) for f in self.serialized_fields()}

    @classmethod
    def from_json(cls, mapping, where=None):
        """The record `mapping` (a `to_json()` result, e.g. an execution
        record's "parameters") describes.

        Args:
            mapping: field name -> value.
            where: what the mapping was read from (a record's path), for the
                error message.

        Raises:
            PipelineError: a key that is no serialized field (a misspelled
                or removed parameter), or a field without a default missing
                (the message names them, the expected and the received
                keys); or a value not of its field's type.
        """
        source = f" in {where}" if where else ""
        expected = {f.name for f in cls.serialized_fields()}
        required = {
            f.name
            for f in cls.serialized_fields()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        received = set(mapping)
        unknown, missing = sorted(received - expected), sorted(required - received)
        if unknown or missing:
            problems = []
            if unknown:
                problems.append(f"unknown {unknown}")
            if missing:
                problems.append(f"missing {missing}")
            raise PipelineError(
                f"Cannot read {cls.__name__}{source}: {' and '.join(problems)}. "
                f"Expected the keys {sorted(expected)}. Received: {sorted(received)}. "
                "The record was written by another version of the pipeline; rerun "
                "with --nocache (or a new --pipeline_root) to train afresh."
            )
        for f in cls.serialized_fields():
            if f.name in mapping and not _has_type(mapping[f.name], f.type):
                raise PipelineError(
                    f"Cannot read {cls.__name__}{source}: expected {f.name} to be "
                    f"{_type_name(f.type)}. Received: {mapping[f.name]!r}"
                )
        return cls(**mapping)

    def replace(self, **changes):
        """A copy with `changes` (field name -> value)."""
        return dataclasses.replace(self, **changes)


# The JSON types a field's annotation is checked against (others pass).
_JSON_TYPES = (bool, int, float, str, dict, list, type(None))


def _members(annotation):
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _has_type(value, annotation):
    """Whether the JSON value `value` fits the field type `annotation`: an
    int is a float, a bool is no number; annotations other than
    `_JSON_TYPES` accept anything."""
    for member in _members(annotation):
        if member not in _JSON_TYPES:
            return True
        if member in (int, float) and isinstance(value, bool):
            continue
        if isinstance(value, int if member is int else (int, float) if member is float else member):
            return True
    return False


def _type_name(annotation):
    return " or ".join(
        "None" if m is type(None) else getattr(m, "__name__", str(m)) for m in _members(annotation)
    )


def serialize(parameters):
    """The JSON-able mapping of a component's `parameters` (a `Parameters`
    record, or a plain JSON-able dict)."""
    if isinstance(parameters, Parameters):
        return parameters.to_json()
    return dict(parameters)


def with_values(parameters, values):
    """`parameters` with the fields (or keys, for a dict) `values` set."""
    if isinstance(parameters, Parameters):
        return parameters.replace(**values)
    return dict(parameters, **values)
