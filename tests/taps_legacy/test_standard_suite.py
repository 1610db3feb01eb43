"""singer-sdk's standard tap test suite, once per format.

The SDK builds the test classes at collection time and discovers the streams then, so the
(small) fixture files are written at import into a temporary directory removed at exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from singer_sdk.testing import get_tap_test_class

from tap_legacy.tap import TapLegacy

from .conftest import XML_FIELDS, XML_NAMESPACES, write_fixture_files

_BASE = Path(tempfile.mkdtemp(prefix="tap_legacy_suite_"))
atexit.register(shutil.rmtree, _BASE, ignore_errors=True)
write_fixture_files(_BASE)


def _config(**stream: Any) -> dict[str, Any]:
    return {"streams": [stream]}


TestCopybookStandard = get_tap_test_class(
    TapLegacy,
    config=_config(
        name="customers",
        format="copybook",
        path=str(_BASE / "customers.ebc"),
        copybook=str(_BASE / "customer.cpy"),
        codepage="cp1141",
    ),
)
TestFixedWidthStandard = get_tap_test_class(
    TapLegacy,
    config=_config(
        name="fixed",
        format="fixed_width",
        path=str(_BASE / "customers.txt"),
        layout=str(_BASE / "layout.yml"),
        skip_lines=1,
    ),
)
TestDbfStandard = get_tap_test_class(
    TapLegacy, config=_config(name="clients", format="dbf", path=str(_BASE / "*.dbf"))
)
TestVcardStandard = get_tap_test_class(
    TapLegacy, config=_config(name="contacts", format="vcard", path=str(_BASE / "contacts.vcf"))
)
TestLdifStandard = get_tap_test_class(
    TapLegacy, config=_config(name="ldap", format="ldif", path=str(_BASE / "contacts.ldif"))
)
TestXmlStandard = get_tap_test_class(
    TapLegacy,
    config=_config(
        name="crm",
        format="xml",
        path=str(_BASE / "crm.xml"),
        record_path="//crm:customer",
        fields=XML_FIELDS,
        namespaces=XML_NAMESPACES,
    ),
)
