"""The four components of the GAN pipeline, one module each:
ExampleGen -> Trainer -> Evaluator -> Pusher. Each module holds its typed
parameters (`<Component>Parameters`, a frozen `pipelines.framework.
Parameters` dataclass), a `make_<component>(...)` builder (declared inputs,
outputs, parameters) and its executor (thin: it calls gankeras functions
and reads the parameters' attributes)."""
