"""Adding a question or a role is a data change: proven on a copy of the data, in a fresh
process (the questions and roles are read once, when the bot starts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.data_change import ROOT, write_fixture


def test_a_new_question_and_role_need_only_data(tmp_path: Path) -> None:
    topics, locales = write_fixture(tmp_path)
    environment = {
        **os.environ,
        "CODESIGN_TOPICS_DIR": str(topics),
        "CODESIGN_LOCALES_DIR": str(locales),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.data_change", str(tmp_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "went through the whole workshop" in result.stdout
