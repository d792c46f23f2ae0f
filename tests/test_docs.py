"""The README documents every setting with its real default."""

from pathlib import Path

import pytest

from django_livechat.conf import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_readme_documents_setting(key: str) -> None:
    default = SETTINGS[key].default
    if isinstance(default, tuple):
        default = list(default)
    assert f"| `{key}` | `{default!r}` |" in README
