"""Create the self-signed DEMO seal certificate for `make demo` (never a real seal).

Writes .samtale/demo-seal.p12 (owner-only) with the password in SAMTALE_SEAL_PASSWORD, once.
"""

import os
import sys
from pathlib import Path

from pipeline.state.workspace import Workspace
from testkit.certificates import create_demo_certificate

DEMO_PATH = Path(".samtale") / "demo-seal.p12"


def main() -> None:
    """Create the demo certificate unless it exists."""
    workspace = Workspace.at(".")
    path = workspace.root / DEMO_PATH
    if path.exists():
        print(f"Demo certificate already there: {path}")
        return
    password = os.environ.get("SAMTALE_SEAL_PASSWORD")
    if not password:
        sys.exit("Set SAMTALE_SEAL_PASSWORD first (make demo sets a demo password).")
    create_demo_certificate(path, password, workspace.config().organisation)
    print(f"Created the DEMO certificate {path} (self-signed, not a real seal)")


if __name__ == "__main__":
    main()
