"""What the tests and the bench both run against, outside ``tests/`` so the bench needs no
test code and no pytest: the Pulumi mocks harness, the in-process Coder double, the policy pack
driven in-process, the project copy the real engine runs on, and the e2e mission (a project
copy with a local platform of its own). Nothing here is a test or imports pytest.
"""
