"""The program under Pulumi mocks, and the policy pack over a stack replicated 1x/10x/100x.

Templates and users at 1x/10x/100x are measured in ``seeded_scale``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from bench.measure import Measurement, timed, timed_per_call
from testbed.harness import load_stack_file, run_program
from testbed.policy_engine import Resource, load_pack_config, run_pack
from testbed.policy_stacks import stack_resources

Progress = Callable[[str], None]

STACKS = ("local", "dev", "prod")
SCALES = (1, 10, 100)
PACK_STACK = "dev"


def program_runs(repeat: int, progress: Progress) -> list[Measurement]:
    """``run_program`` wall time per stack, after a first run of each reported on its own.

    A stack's first run imports the providers it uses (azure-native, vault, ...), which would
    otherwise land in the first sample of whichever stack runs first.
    """
    cold = Measurement(
        "program: first run of each stack",
        note="once: imports + first registration",
        comparable=False,
    )
    measurements = [cold]
    progress("mocked: first run of each stack (imports)")
    try:
        total = 0.0
        for stack in STACKS:
            _, seconds = timed(partial(run_program, load_stack_file(stack), stack=stack))
            total += seconds
        cold.samples.append(total)
    except Exception as error:  # a program that fails to run is reported, not timed
        cold.error = _describe(error)
    for stack in STACKS:
        progress(f"mocked: program on the {stack} stack x{repeat}")
        measurement = Measurement(f"program: {stack}")
        measurements.append(measurement)
        try:
            run = partial(run_program, load_stack_file(stack), stack=stack)
            for _ in range(repeat):
                mocks, seconds = timed_per_call(run)
                measurement.samples.append(seconds)
                measurement.note = f"{len(mocks.resources)} resources registered"
        except Exception as error:
            measurement.error = _describe(error)
    return measurements


class PackDisagreesError(AssertionError):
    """The pack found violations in what the program registers: the timing would be of a
    stack the program never builds (the harness's own pack test finds none), so none is kept."""


def replicate(resources: Sequence[Resource], times: int) -> list[Resource]:
    """``times`` copies of the stack; every copy past the first gets its own logical names and
    keeps everything else a registration carries (inputs, parent, secret outputs)."""
    return [
        replace(r, name=r.name if copy == 0 else f"{r.name}-r{copy}")
        for copy in range(times)
        for r in resources
    ]


def pack_scaling(repeat: int, progress: Progress) -> list[Measurement]:
    """The whole pack over the dev stack's resources at each scale, ``repeat`` times each."""
    measurements = [Measurement(f"policy pack: {PACK_STACK} x{scale}") for scale in SCALES]
    try:
        base = stack_resources(PACK_STACK)
        config = load_pack_config(PACK_STACK)
    except Exception as error:
        for measurement in measurements:
            measurement.error = f"the {PACK_STACK} stack did not run: {_describe(error)}"
        return measurements
    for scale, measurement in zip(SCALES, measurements, strict=True):
        progress(f"mocked: policy pack over {PACK_STACK} x{scale} x{repeat}")
        check = partial(run_pack, replicate(base, scale), PACK_STACK, config)
        try:
            if scale == SCALES[0]:
                check()  # warm-up, untimed: the first pass pays one-off import and cache costs
            for _ in range(repeat):
                violations, seconds = timed_per_call(check)
                if violations:
                    raise PackDisagreesError(
                        f"{len(violations)} violations over {PACK_STACK} x{scale} (expected 0), "
                        f"first: {violations[0].policy}"
                    )
                measurement.samples.append(seconds)
                measurement.note = f"{len(base) * scale} resources, 0 violations"
        except Exception as error:
            measurement.error = _describe(error)
    return measurements


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
