"""pytest plugin of the compat run (tests/compat/test_image_versions.py passes ``-p`` with it).

The engine and serving tests run with warnings as errors (pyproject.toml). transformers 5.5.3, the
image's version, builds its BERT/RoBERTa tokenizers' models from vocabulary files in a way
tokenizers 0.22 deprecates (``WordPiece.__init__ will not create from files anymore``): a warning
inside transformers that later transformers no longer raise and the server only logs. It is
ignored here, and only this one message from transformers' own modules, so every other warning
still fails the compat run as it fails the main one.
"""

from __future__ import annotations

import pytest

# action:message:category:module (the message is the warning's start: a filter cannot hold ":")
IGNORED = r"ignore:Deprecated in 0\.9\.0:DeprecationWarning:transformers\."


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", IGNORED)
