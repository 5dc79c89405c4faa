"""The ``seeding-contract`` CrossGuard pack: one module per contract rule, listed in ``pack.py``.

Only ``__main__.py`` serves the pack; everything else imports cleanly (design note 9), so the
rules are unit-tested in-process. Modules here import only the standard library and
``pulumi_policy``: the pack runs in its own virtualenv, not the program's.
"""
