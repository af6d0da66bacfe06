"""`gongdan mailbox ...` and `gongdan mail ingest` as an MTA would run them."""
import sqlite3
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"


def test_mailbox_add_and_ingest_from_a_file_and_from_standard_input(site):
    site("init")
    with sqlite3.connect(site.path / "g.db") as conn:  # no CLI for departments yet
        conn.execute("INSERT INTO department (code, name, name_en, active, created_at) "
                     "VALUES ('AS', '售后', 'After-sales', 1, '2025-01-01 00:00:00')")
    r = site("mailbox", "add", "Support@Gongdan.Example", "--department", "AS")
    assert "support@gongdan.example -> AS" in r.stdout
    assert site("mailbox", "add", "x@y.example", "--department", "NO", check=False).returncode != 0
    assert "support@gongdan.example\tAS" in site("mailbox", "list").stdout

    eml = CORPUS / "text_only_short.eml"
    assert "created ticket=1" in site("mail", "ingest", str(eml)).stdout
    piped = [sys.executable, "-m", "appliance.cli", "mail", "ingest",
             "--mailbox", "support@gongdan.example", "-"]
    r = site(cmd=["sh", "-c", " ".join(piped) + f" < '{CORPUS / 'gmail_en_reply.eml'}'"])
    assert "-: created ticket=2" in r.stdout
    assert "duplicate ticket=1" in site("mail", "ingest", str(eml)).stdout


def test_mailbox_imap_reads_the_password_from_a_file_or_stdin_and_fetch_takes_mail_in(
        site, tmp_path_factory):
    from tests.imap_server import running_dovecot
    site("init")
    with sqlite3.connect(site.path / "g.db") as conn:
        conn.execute("INSERT INTO department (code, name, name_en, active, created_at) "
                     "VALUES ('AS', '售后', 'After-sales', 1, '2025-01-01 00:00:00')")
    site("mailbox", "add", "support@gongdan.example", "--department", "AS")
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        server.create("Support")
        server.append("Support", (CORPUS / "text_only_short.eml").read_bytes())
        secret = site.path / "imap-password"
        secret.write_text(server.password + "\n")
        base = ["mailbox", "imap", "support@gongdan.example", "--host", "127.0.0.1",
                "--port", str(server.port), "--user", server.user, "--folder", "Support"]
        r = site(*base, "--security", "none", "--password-file", str(secret))
        assert "password set, enabled" in r.stdout and server.password not in r.stdout
        refused = site(*base, "--host", "imap.example.com", "--security", "none",
                       "--password-file", str(secret), check=False)
        assert refused.returncode != 0 and "security" in refused.stderr
        with sqlite3.connect(site.path / "g.db") as conn:
            stored = conn.execute("SELECT imap_password FROM mailbox").fetchone()[0]
        assert stored and server.password not in stored
        assert "created=1" in site("mailbox", "fetch", "support@gongdan.example").stdout
        assert site("mailbox", "fetch", "support@gongdan.example").stdout.startswith("done")
        piped = " ".join([sys.executable, "-m", "appliance.cli"] + base +
                         ["--security", "none", "--password-file", "-", "--disable"])
        r = site(cmd=["sh", "-c", f"echo wrong | {piped}"])
        assert "disabled" in r.stdout
        assert "disabled" in site("mailbox", "fetch", "support@gongdan.example").stdout


def test_mail_ingest_exits_75_for_temporary_trouble_and_1_only_for_a_refusal(site):
    site("init")
    with sqlite3.connect(site.path / "g.db") as conn:
        conn.execute("INSERT INTO department (code, name, name_en, active, created_at) "
                     "VALUES ('AS', '售后', 'After-sales', 1, '2025-01-01 00:00:00')")
    site("mailbox", "add", "support@gongdan.example", "--department", "AS")
    eml = CORPUS / "gmail_en_reply.eml"
    piped = " ".join([sys.executable, "-m", "appliance.cli", "mail", "ingest",
                      "--mailbox", "support@gongdan.example", "-"]) + f" < '{eml}'"

    # Too large: read no further than the limit + 1 byte, refused (the MTA bounces), twice.
    small = {"GONGDAN_MAIL_MAX_BYTES": "100"}
    for _ in range(2):
        r = site(cmd=["sh", "-c", piped], check=False, extra_env=small)
        assert r.returncode == 1, r.stdout + r.stderr
    assert "rejected" in site("mail", "ingest", str(eml), check=False, extra_env=small).stdout

    # Anything else is temporary (75: the MTA keeps the message and tries again).
    settings_error = site(cmd=["sh", "-c", piped], check=False,
                          extra_env={"GONGDAN_PAGE_SIZE": "0"})
    assert settings_error.returncode == 75 and "page_size" in settings_error.stderr
    no_database = site(cmd=["sh", "-c", piped], check=False, extra_env={
        "GONGDAN_DATABASE_URL": f"sqlite:///{site.path}/missing/dir/g.db"})
    assert no_database.returncode == 75, no_database.stdout + no_database.stderr
    with sqlite3.connect(site.path / "g.db") as conn:   # a writer holds the database
        conn.execute("BEGIN EXCLUSIVE")
        locked = site(cmd=["sh", "-c", piped], check=False)
    assert locked.returncode == 75, locked.stdout + locked.stderr
    unknown = site("mail", "ingest", "--mailbox", "nobody@gongdan.example", str(eml),
                   check=False)
    assert unknown.returncode == 75 and "no such mailbox" in unknown.stderr
    assert site("mail", "ingest", str(site.path / "missing.eml"), check=False).returncode == 75
    assert site(cmd=["sh", "-c", piped]).returncode == 0
    assert "Exit status" in site("mail", "ingest", "--help").stdout
