"""A throw-away site (config, SQLite database, queue, index) driven through the CLI."""
import os
import subprocess
import sys

import pytest

GONGDAN = [sys.executable, "-m", "appliance.cli"]


@pytest.fixture
def site(tmp_path):
    cfg = tmp_path / "gongdan.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path}/g.db"\n'
                   f'queue_url = "sqlite:///{tmp_path}/q.db"\n'
                   f'index_dir = "{tmp_path}/index"\nattachment_dir = "{tmp_path}/att"\n'
                   f'secret_key = "cli-test-secret"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)

    def run(*args, check=True, extra_env=None, cmd=None):
        r = subprocess.run((cmd or GONGDAN) + list(args), env={**env, **(extra_env or {})},
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r
    run.path = tmp_path
    return run
