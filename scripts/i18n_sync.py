"""Sync the catalogs with the code: add new msgids (zh from a JSON file), drop unused ones.

Usage: PYTHONPATH=. .venv/bin/python scripts/i18n_sync.py new_zh.json
"""
import sys, json
from babel.messages.pofile import read_po, write_po
from tests.unit.test_i18n import extracted_msgids
zh_new = json.load(open(sys.argv[1]))
for lang in ("zh", "en"):
    path = f"dashboard/locale/{lang}/LC_MESSAGES/messages.po"
    with open(path, "rb") as f:
        cat = read_po(f, locale=lang)
    wanted = extracted_msgids()
    for mid in sorted(wanted):
        if mid not in cat:
            flags = ["python-brace-format"] if "{" in mid else []
            cat.add(mid, zh_new.get(mid, "") if lang == "zh" else mid, flags=flags)
        elif lang == "zh" and not cat[mid].string and mid in zh_new:
            cat[mid].string = zh_new[mid]
    for mid in [m.id for m in cat if m.id and m.id not in wanted]:
        del cat[mid]
    with open(path, "wb") as f:
        write_po(f, cat, sort_output=True, omit_header=False, width=100, no_location=True)
