"""tap-legacy: a Singer tap for legacy customer data.

Reads COBOL copybook + fixed-width/RDW EBCDIC or ASCII files, fixed-width text with a YAML
layout, dBase/FoxPro DBF with memo files, vCard, LDIF and XML exports. See
``docs/taps/tap-legacy.md``. ``tap_legacy.copybook.encode_records`` writes copybook files
(fixtures, the demo).
"""
