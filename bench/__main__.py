"""``python -m bench``: every benchmark in one run, printed as one table of ratios.

Exit codes: 0 everything was measured; 1 a benchmarked run failed (its row says why);
3 the real-engine part could not run here (no toolchain or cluster), the mocked part still ran.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from rich.console import Console

from bench import local_platform, mocked, real_engine, seeded_scale
from bench.machine import describe
from bench.report import BenchRun, Section, as_json, print_table

EXIT_OK, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 3


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _repeat(value: str) -> int:
    count = int(value)
    if count < 1:
        raise argparse.ArgumentTypeError("--repeat must be at least 1")
    return count


def _real_engine_section(repeat: int) -> tuple[Section, str]:
    """The real-engine section and the Pulumi CLI version (or why there is none)."""
    section = Section("real engine: local stack")
    try:
        result = real_engine.measure(repeat, _progress)
    except real_engine.RealEngineUnavailableError as missing:
        section.not_run = f"no numbers: {missing}"
        _progress(f"real engine NOT RUN: {missing}")
        return section, "not found"
    section.measurements = [result.cluster_start, *result.measurements]
    section.baseline = result.baseline()
    return section, result.pulumi_version


def _local_platform_sections(repeat: int) -> tuple[Section, Section]:
    """The runner with a real Coder on, as ratios to a bare preview of the same stack; and the
    main job (scripts/reconcile) as a ratio to the runner alone, from the same rounds."""
    section = Section("local platform: e2e stack, real Coder")
    main_job = Section("main job: scripts/reconcile / the runner alone, converged")
    try:
        result = local_platform.measure(repeat, _progress)
    except local_platform.LocalPlatformUnavailableError as missing:
        section.not_run = main_job.not_run = f"no numbers: {missing}"
        _progress(f"local platform NOT RUN: {missing}")
        return section, main_job
    section.measurements = [result.start, *result.measurements]
    section.baseline = result.baseline()
    main_job.measurements = result.main_job()
    main_job.baseline = next(iter(main_job.measurements), None)
    return section, main_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--repeat", type=_repeat, default=3, help="samples per repeatable benchmark (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    machine = describe(pulumi_cli="not found")
    program = Section("mocked program (in-process)")
    program.measurements = mocked.program_runs(args.repeat, _progress)
    pack = Section(f"policy pack: {mocked.PACK_STACK} stack replicated")
    pack.measurements = mocked.pack_scaling(args.repeat, _progress)
    pack.baseline = pack.measurements[0]
    seeded_program = Section("seeded state: the program with N templates and users")
    seeded_program.measurements = seeded_scale.program_scaling(args.repeat, _progress)
    seeded_program.baseline = seeded_program.measurements[0]
    seeded_noop = Section("seeded state: a converged run's refresh of N templates and users")
    seeded_noop.measurements = seeded_scale.noop_scaling(args.repeat, _progress)
    seeded_noop.baseline = seeded_noop.measurements[0]
    engine, pulumi_cli = _real_engine_section(args.repeat)
    platform, main_job = _local_platform_sections(args.repeat)

    run = BenchRun(
        machine=replace(machine, pulumi_cli=pulumi_cli),
        repeat=args.repeat,
        sections=[engine, platform, main_job, program, pack, seeded_program, seeded_noop],
        notes=[
            "ratio: real-engine rows / the median no-op reconcile; local-platform rows / the "
            "median preview of the same stack; the main job / the runner alone (goal: 1.3x or "
            "less); policy-pack and seeded-state rows / their x1 row (linear scaling = 10x and "
            "100x)",
            "in runner s: the run's own duration_seconds (the rest is process start and imports)",
        ],
        total_seconds=time.perf_counter() - started,
    )
    if args.json:
        print(as_json(run))
    else:
        print_table(run, Console(width=None if sys.stdout.isatty() else 132))
    if run.not_run():
        return EXIT_NOT_RUN
    return EXIT_FAILED if run.failed() else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
