"""Steps bodies: one generator for sync and async jobs, errors handled where the body yields."""

from __future__ import annotations

import inspect

from agno_learn_langgraph.core.steps import Steps, arun_steps, run_steps, shells, sleep, step

CALLS: list[str] = []


def _flaky(n: int) -> int:
    CALLS.append(f"sync {n}")
    if n < 2:
        raise ConnectionError(f"attempt {n}")
    return n * 10


async def _aflaky(n: int) -> int:
    CALLS.append(f"async {n}")
    if n < 2:
        raise ConnectionError(f"attempt {n}")
    return n * 10


def _retrying(attempts: int) -> Steps[tuple[int, list[str]]]:
    """Call the flaky step until it answers; the errors it saw."""
    seen: list[str] = []
    for n in range(attempts):
        try:
            return (yield step(_flaky, _aflaky, n)), seen
        except ConnectionError as exc:
            seen.append(str(exc))
            yield sleep(0)
    raise TimeoutError(f"no answer after {attempts} attempts")


retrying, aretrying = shells(_retrying, "retrying")


async def test_sync_and_async_runs_take_the_same_path() -> None:
    CALLS.clear()
    assert run_steps(_retrying(5)) == (20, ["attempt 0", "attempt 1"])
    assert await arun_steps(_retrying(5)) == (20, ["attempt 0", "attempt 1"])
    assert CALLS == ["sync 0", "sync 1", "sync 2", "async 0", "async 1", "async 2"]


async def test_an_error_the_body_does_not_catch_reaches_the_caller() -> None:
    for run in (lambda: run_steps(_retrying(2)), lambda: aretrying(2)):
        try:
            result = run()
            if inspect.isawaitable(result):
                await result
        except TimeoutError as exc:
            assert "after 2 attempts" in str(exc)
        else:
            raise AssertionError("expected TimeoutError")


def test_shells_show_the_body_signature_and_name_the_twins() -> None:
    assert (retrying.__name__, aretrying.__name__) == ("retrying", "aretrying")
    assert inspect.iscoroutinefunction(aretrying) and not inspect.iscoroutinefunction(retrying)
    assert str(inspect.signature(retrying)) == str(inspect.signature(aretrying))
    assert str(inspect.signature(retrying)) == "(attempts: 'int') -> 'tuple[int, list[str]]'"
    assert retrying.__doc__ == _retrying.__doc__
    assert retrying(3) == (20, ["attempt 0", "attempt 1"])
