"""The fake Management API in a process of its own, so its work does not slow the load generator.

python -m bench.fake_api CREDENTIALS OUT: writes a credentials.json for its key pair, prints its
URL, serves until its standard input closes, then writes what it received to OUT (JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.fakes.keys import ACCOUNT_ID, KEY_ID, key_pair, write_credentials
from tests.fakes.voximplant_api import FakeVoximplant


def main() -> None:
    credentials, out = Path(sys.argv[1]), Path(sys.argv[2])
    write_credentials(credentials)
    with FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as fake:
        print(fake.url, flush=True)
        sys.stdin.read()
        sent = [
            {
                "body": r.params.get("sms_body"),
                "destination": r.params.get("destination"),
                "at": r.at,
            }
            for r in fake.sent
        ]
        summary = {
            "sent": sent,
            "requests": len(fake.requests),
            "auth_failures": len(fake.auth_failures),
            "errors": fake.errors[:20],
        }
    out.write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
