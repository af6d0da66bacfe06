"""The master key at the command line: `gongdan init` writes it, every command that
touches data refuses to start without a usable one, `gongdan keys status|rotate`."""
import os
import stat

KEY = "keys/master.key"


def test_init_writes_a_0400_master_key_once_and_commands_refuse_without_it(site):
    (site.path / KEY).unlink()
    r = site("db", "status", check=False)
    assert r.returncode != 0 and "no master key" in r.stderr and "gongdan init" in r.stderr
    first = site("init")
    assert "wrote the master key" in first.stdout
    key = site.path / KEY
    assert stat.S_IMODE(key.stat().st_mode) == 0o400
    before = key.read_bytes()
    assert "wrote the master key" not in site("init").stdout and key.read_bytes() == before
    os.chmod(key, 0o644)
    r = site("user", "create", "wang", "--name", "王芳", "--role", "agent", check=False)
    assert r.returncode != 0 and "chmod 0400" in r.stderr
    os.chmod(key, 0o400)


def test_a_different_master_key_stops_start_up_and_changes_nothing(site):
    site("init")
    key = site.path / KEY
    right = key.read_bytes()
    os.chmod(key, 0o600)
    key.write_text("1 " + "QUFB" * 10 + "QUE=\n")  # 32 bytes of "A": not this site's key
    os.chmod(key, 0o400)
    r = site("user", "create", "wang", "--name", "王芳", "--role", "agent", check=False)
    assert r.returncode != 0 and "not the key this database was set up with" in r.stderr
    os.chmod(key, 0o600)
    key.write_bytes(right)
    os.chmod(key, 0o400)
    site("user", "create", "wang", "--name", "王芳", "--role", "agent")


def test_keys_status_and_rotate_with_reencryption(site):
    site("init")
    status = site("keys", "status").stdout
    assert "versions: [1]" in status and "index" in status and "data" in status
    r = site("keys", "rotate")
    assert "master key version 2" in r.stdout and "data keys re-wrapped" in r.stdout
    r = site("keys", "rotate", "--reencrypt", "--batch", "10")
    assert "master key version 3" in r.stdout and "values and 0 files re-encrypted" in r.stdout
    status = site("keys", "status").stdout
    assert "versions: [3]" in status and "retired" in status
    assert site("keys", "rotate", "--batch", "0", check=False).returncode != 0


# Every command group that opens the data: without the master key each says which file
# is missing and how to make it, and none dies with a Python traceback.
KEYED_COMMANDS = [
    ("ai", "status"), ("dispatch", "stats"), ("integration", "list"), ("mailbox", "list"),
    ("mail", "ingest", "-"), ("keys", "status"), ("model", "list"), ("audit", "verify"),
    ("backup", "create", "--out", "b.gdbk"), ("search", "rebuild"), ("user", "disable", "x"),
]


def test_commands_without_the_master_key_explain_instead_of_a_traceback(site):
    (site.path / KEY).unlink()
    for args in KEYED_COMMANDS:
        r = site(*args, check=False)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr, (args, r.stderr[-800:])
        assert "no master key" in r.stderr and "gongdan init" in r.stderr, (args, r.stderr)
