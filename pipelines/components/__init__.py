"""The four components of the GAN pipeline, one module each:
ExampleGen -> Trainer -> Evaluator -> Pusher. Each module holds a
`make_<component>(...)` builder (declared inputs, outputs, parameters) and
its executor (thin: it calls gankeras functions)."""
