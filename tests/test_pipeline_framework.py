"""The local orchestrator: artifact layout, execution records, caching keyed
by parameters and inputs, and re-entering an interrupted execution."""

import json
import os

import pytest

from pipelines.framework import Component, LocalRunner

pytestmark = pytest.mark.backend_independent

CALLS = []


def write_numbers(inputs, outputs, parameters):
    CALLS.append("Numbers")
    with open(outputs["numbers"].path("numbers.txt"), "w") as f:
        f.write(" ".join(str(i) for i in range(parameters["count"])))
    return {"count": parameters["count"]}


def sum_numbers(inputs, outputs, parameters):
    CALLS.append("Sum")
    if parameters.get("fail"):
        open(outputs["total"].path("partial"), "w").close()
        raise RuntimeError("interrupted")
    numbers = open(inputs["numbers"].path("numbers.txt")).read().split()
    total = sum(int(n) for n in numbers) * parameters["scale"]
    with open(outputs["total"].path("total.txt"), "w") as f:
        f.write(str(total))
    return {"total": total}


def pipeline(count=4, scale=1, fail=False):
    numbers = Component("Numbers", write_numbers, outputs=("numbers",), parameters={"count": count})
    total = Component(
        "Sum",
        sum_numbers,
        inputs={"numbers": numbers.output("numbers")},
        outputs=("total",),
        parameters={"scale": scale, "fail": fail},
    )
    return [numbers, total]


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_artifacts_and_execution_records_follow_the_tfx_layout(tmp_path):
    records = LocalRunner(tmp_path, log=lambda _: None).run(pipeline())
    record = records["Sum"]
    assert record.outputs["total"].uri == str(tmp_path / "Sum" / "total" / record.run_id)
    assert open(record.outputs["total"].path("total.txt")).read() == "6"
    saved = json.load(open(tmp_path / "Sum" / "executions" / f"{record.run_id}.json"))
    assert saved["status"] == "complete"
    assert saved["parameters"] == {"scale": 1, "fail": False}
    assert saved["inputs"] == {"numbers": records["Numbers"].outputs["numbers"].uri}
    assert saved["result"] == {"total": 6}
    assert saved["seconds"] is not None and saved["code_version"]


def test_rerun_with_unchanged_inputs_and_parameters_is_cached(tmp_path):
    LocalRunner(tmp_path, log=lambda _: None).run(pipeline())
    CALLS.clear()
    records = LocalRunner(tmp_path, log=lambda _: None).run(pipeline())
    assert CALLS == []
    assert records["Sum"].cached and records["Sum"].result == {"total": 6}


def test_changed_parameter_reruns_that_component_and_downstream_only(tmp_path):
    LocalRunner(tmp_path, log=lambda _: None).run(pipeline())
    CALLS.clear()
    LocalRunner(tmp_path, log=lambda _: None).run(pipeline(scale=10))
    assert CALLS == ["Sum"]
    CALLS.clear()
    records = LocalRunner(tmp_path, log=lambda _: None).run(pipeline(count=5, scale=10))
    assert CALLS == ["Numbers", "Sum"]  # a new upstream output invalidates downstream
    assert records["Sum"].result == {"total": 100}


def test_failed_execution_is_recorded_and_reentered_in_its_own_directory(tmp_path):
    with pytest.raises(RuntimeError, match="interrupted"):
        LocalRunner(tmp_path, log=lambda _: None).run(pipeline(fail=True))
    (name,) = os.listdir(tmp_path / "Sum" / "executions")
    failed = json.load(open(tmp_path / "Sum" / "executions" / name))
    assert failed["status"] == "failed" and "interrupted" in failed["error"]
    with pytest.raises(RuntimeError):
        LocalRunner(tmp_path, log=lambda _: None).run(pipeline(fail=True))
    # Same run directory both times: what the first attempt left is found again.
    assert os.listdir(tmp_path / "Sum" / "total") == [failed["run_id"]]
    assert os.path.exists(tmp_path / "Sum" / "total" / failed["run_id"] / "partial")


def test_without_the_cache_an_unfinished_run_is_not_re_entered(tmp_path):
    # --nocache is the way out of a run directory that cannot be resumed.
    with pytest.raises(RuntimeError):
        LocalRunner(tmp_path, log=lambda _: None).run(pipeline(fail=True))
    (failed,) = os.listdir(tmp_path / "Sum" / "total")
    components = pipeline(fail=True)
    for component in components:
        component.cache = False
    with pytest.raises(RuntimeError):
        LocalRunner(tmp_path, log=lambda _: None).run(components)
    run_dirs = os.listdir(tmp_path / "Sum" / "total")
    assert len(run_dirs) == 2 and failed in run_dirs
    assert os.listdir(tmp_path / "Sum" / "total" / failed) == ["partial"]  # left as it was
