"""What the platform tells its operators, as data: the alert rules, the Grafana dashboard and the
cron arithmetic both need ("older than its schedule").

Rendered by the program (wiring/operations.py -> components/observability.py) and by the
promtool tests from the same definitions. The series they read are the runner's and the drill's
metrics (names in ``coder_platform.contracts``) and CloudNativePG's exporter.
"""
