"""Project-wide pytest set-up; fixtures live in tests/fixtures.py so apps can reuse them."""

pytest_plugins = ["tests.fixtures"]
