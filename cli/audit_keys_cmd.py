"""`proctor keys rotate-audit-key`: retire the audit signing key and start a new one.

An operator rotates when a key may have leaked, when someone with access to it leaves,
or on a schedule. The command says which key was retired, where its public key is kept
(old records are checked against it), and that the service signs with the new key from
its next start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from audit import AuditError
from audit.keyring import rotate_signing_key
from server.config import ServerConfig


def rotate_audit_key(root: Path) -> int:
    """Rotate the audit signing key of the Proctor home at `root`; the exit status."""
    config = ServerConfig(root)
    try:
        rotation = rotate_signing_key(config.signing_key)
    except AuditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"retired audit key {rotation.retired.keyid}")
    print(f"new audit key     {rotation.current.keyid}")
    print(
        f"the retired public key is kept in {rotation.retired_file}; exports include it for "
        "the records it signed. Restart the service (every replica using this data folder) "
        "to sign new records with the new key.",
        file=sys.stderr,
    )
    return 0
