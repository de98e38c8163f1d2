"""Sync the catalogs with the code: add new msgids (zh from a JSON file), drop unused ones.

Usage: PYTHONPATH=. .venv/bin/python scripts/i18n_sync.py new_zh.json
The JSON maps English msgids to their Chinese translation; the en catalog gets the msgid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from tests.unit.test_i18n import extracted_msgids


def main(translations_file: str) -> None:
    zh_new = json.loads(Path(translations_file).read_text("utf-8"))
    wanted = extracted_msgids()
    for lang in ("zh", "en"):
        path = Path(f"dashboard/locale/{lang}/LC_MESSAGES/messages.po")
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for msgid in sorted(wanted):
            if msgid not in catalog:
                flags = ["python-brace-format"] if "{" in msgid else []
                catalog.add(msgid, zh_new.get(msgid, "") if lang == "zh" else msgid,
                            flags=flags)
            elif lang == "zh" and not catalog[msgid].string and msgid in zh_new:
                catalog[msgid].string = zh_new[msgid]
        for msgid in [m.id for m in catalog if m.id and m.id not in wanted]:
            del catalog[msgid]
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, width=100, no_location=True)


if __name__ == "__main__":
    main(sys.argv[1])
