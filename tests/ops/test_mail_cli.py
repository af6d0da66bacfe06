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
