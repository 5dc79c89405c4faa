"""The coder-platform runner: the Pulumi Automation API driver and the self-healing reconcile.

``python -m automation <command> --stack <name>`` previews, applies, checks drift, reconciles,
destroys (guarded) and reports on a stack of the local program (``work_dir`` = the repo root).
``reconcile`` is the seeding contract's P1 reconciler in the operator shape (observe -> decide ->
act -> verify -> record): "already correct" is a fast, silent success (C2), a Coder reset is
healed (C3), and every run leaves a JSON report and an exit code a scheduler can act on (C4).

Every engine call goes through the ``StackEngine`` protocol (``engine.py``): the real one wraps
``pulumi.automation`` (``pulumi_engine.py``); tests inject a fake.
"""
