"""singer-sdk's standard tap tests over real files of every workbook format and a Dutch CSV.

The test class is built when this module is imported, so its fixture files are written
then, into a temporary folder removed at interpreter exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from singer_sdk.testing import get_tap_test_class

from tap_spreadsheet.tap import TapSpreadsheet
from taps_spreadsheet.spreadsheet_files import (
    ROWS,
    WESTERN_ROWS,
    dutch_text_row,
    write_ods,
    write_text,
    write_xls,
    write_xlsx,
)

_FOLDER = Path(tempfile.mkdtemp(prefix="tap_spreadsheet_suite_"))
atexit.register(shutil.rmtree, _FOLDER, True)

write_text(
    _FOLDER / "klanten_nl.csv",
    [dutch_text_row(r) for r in WESTERN_ROWS],
    delimiter=";",
    encoding="cp1252",
)
write_xlsx(_FOLDER / "klanten.xlsx", ROWS, title_rows=2)
write_xls(_FOLDER / "oud.xls", ROWS)
write_ods(_FOLDER / "klanten.ods", ROWS)
(_FOLDER / "maand").mkdir()
for month, rows in (("2024-01", ROWS[:2]), ("2024-02", ROWS[2:])):
    write_xlsx(_FOLDER / "maand" / f"export_{month}.xlsx", rows)

SUITE_CONFIG = {
    "files": [
        {"path": str(_FOLDER / "klanten_nl.csv"), "primary_keys": ["Klantnummer"]},
        {"path": str(_FOLDER / "klanten.xlsx")},
        {"path": str(_FOLDER / "oud.xls"), "primary_keys": ["klantnummer"]},
        {"path": str(_FOLDER / "klanten.ods"), "stream_name": "klanten_ods"},
        {"path": str(_FOLDER / "maand" / "export_*.xlsx"), "stream_name": "maandexport"},
    ]
}

TestTapSpreadsheet = get_tap_test_class(TapSpreadsheet, config=SUITE_CONFIG)
