"""zh-CN and en ship complete: every message in the code has a zh_CN translation."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "webapp" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"


def extracted_ids(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-k", "N_",
                    "-k", "lazy_gettext", "-F", str(ROOT / "babel.cfg"), "-o", str(pot), "webapp"],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path):
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
                  if m.id and m.string and (m.string if isinstance(m.string, str) else m.string[0])
                  and not m.fuzzy}
    missing = sorted(extracted_ids(tmp_path) - translated)
    assert not missing, f"{len(missing)} messages lack a zh_CN translation, e.g. {missing[:10]}"
