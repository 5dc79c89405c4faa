"""The restore drill: prove on a schedule that the backups restore into a working Coder database.

Run in-cluster by the ``RestoreDrill`` CronJob as ``python -m automation.drill``; see ``run.py``
for the steps and ``components/restore_drill.py`` for what the cluster grants it.
"""
