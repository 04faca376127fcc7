"""`Component`: what a pipeline step consumes, produces and is configured by."""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class Channel:
    """A reference to output `output` of `component` (wired at build time)."""

    component: str
    output: str


@dataclasses.dataclass
class Component:
    """One pipeline step.

    Attributes:
        name: unique component name; the top directory of its artifacts.
        executor: `fn(inputs, outputs, parameters) -> dict`: `inputs` and
            `outputs` map names to `Artifact`s (output directories exist and
            are empty for a new execution, or hold what an interrupted one
            left); `parameters` is the record below, resolvers' and runtime
            values set. Returns a JSON-able dict of results (metrics, flags)
            saved in the execution record.
        inputs: input name -> `Channel` of an upstream component's output.
        outputs: output names.
        parameters: the settings: a frozen `Parameters` dataclass (typed
            fields; `pipelines.framework.parameters`) or a JSON-able dict;
            serialized into the execution record and the cache key.
        cache: reuse an earlier identical execution's outputs.
        resolvers: parameter name (a `RESOLVED` field) -> `fn(inputs) ->
            JSON-able value`,
            called when the component is about to run (after its inputs are
            known, before the cache key): parameters that depend on state
            outside the pipeline, like the model currently served (TFX
            uses Resolver nodes for this).
        runtime: settings passed to the executor with the parameters but
            left out of the cache key (console verbosity); typed parameters
            declare them as `RUNTIME` fields instead.
        checks: `fn(inputs, parameters)` raising `PipelineError`, called
            after the resolvers, before anything runs or is written: input
            checks that need upstream outputs (a batch larger than the data).
    """

    name: str
    executor: typing.Callable
    inputs: dict = dataclasses.field(default_factory=dict)
    outputs: tuple = ()
    parameters: object = dataclasses.field(default_factory=dict)
    cache: bool = True
    resolvers: dict = dataclasses.field(default_factory=dict)
    runtime: dict = dataclasses.field(default_factory=dict)
    checks: list = dataclasses.field(default_factory=list)

    def output(self, name):
        """The `Channel` of output `name`, to wire into a downstream input."""
        if name not in self.outputs:
            raise KeyError(f"{self.name} has no output {name!r}; it has {list(self.outputs)}.")
        return Channel(self.name, name)
