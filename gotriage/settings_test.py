"""Settings for the test suite: the real settings with a throwaway data directory."""
import os
import tempfile

os.environ.setdefault("GOTRIAGE_DEV", "1")
os.environ.setdefault("GOTRIAGE_DATA_DIR", tempfile.mkdtemp(prefix="gotriage-test-"))

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# Test webhook receivers listen on loopback; the guard itself is tested with this off.
GOTRIAGE_WEBHOOK_ALLOW_PRIVATE = True
