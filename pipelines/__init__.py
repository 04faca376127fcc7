"""TFX-style training pipelines for gankeras.

`python -m pipelines.train_mnist` runs ExampleGen -> Trainer -> Evaluator ->
Pusher (`pipelines/components/`) with the local runner of
`pipelines/framework/`: artifacts under
`<pipeline_root>/<Component>/<output>/<run_id>/`, one metadata JSON per
execution, cached re-runs and resumed training.
"""
