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
                   f'secret_key = "cli-test-secret"\n'
                   f'keys_dir = "{tmp_path}/keys"\n', encoding="utf-8")
    # The site's encryption master key, as `gongdan init` writes it (every command that
    # touches data refuses to start without it; test_keys_cli.py covers that).
    from appliance import keystore
    from appliance.settings import load_settings
    keystore.create_master(load_settings(cfg, environ={}), environ={})
    from appliance import audit_keys  # and the audit keys, which `gongdan init` also writes
    audit_keys.create(load_settings(cfg, environ={}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)

    def run(*args, check=True, extra_env=None, cmd=None, timeout=120):
        r = subprocess.run((cmd or GONGDAN) + list(args), env={**env, **(extra_env or {})},
                           capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r
    run.path = tmp_path
    return run
