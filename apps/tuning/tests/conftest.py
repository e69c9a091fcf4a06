from tests.pipeline import *  # noqa: F401,F403  shared pipeline fixtures
