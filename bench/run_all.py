"""The whole benchmark, one command: receiver tables, then the plugin inside the real runner.

    .venv/bin/python bench/run_all.py [--quick]

The plugin half starts `canvas run-plugin`, which always listens on 127.0.0.1:50051; where
other runners may be running (a test suite), give it its own network namespace:
`unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/run_all.py'`.

Before timing anything it checks that RS256's load-once key path signs exactly what
`jwt.encode` signs from the PEM, so a faster figure can never come from a different token.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import outbox_bench
import plugin_compute
import verify_bench

from enriched_webhook.plugin.signer import loaded_rsa_key
from enriched_webhook.tools.keys import new_key_pair


def check_rs256_equivalence() -> None:
    """PKCS#1 v1.5 is deterministic: the loaded key must give the PEM's token, byte for byte."""
    pem = new_key_pair("RS256", kid="bench").private_pem
    claims = {"sub": "Task/x", "iat": 1, "request_body_sha256": "0" * 64}
    from_pem = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "bench"})
    key = loaded_rsa_key(pem)
    if key is None:
        raise SystemExit("RS256: the load-once path could not read a PKCS#8 key")
    loaded = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})
    if loaded != from_pem:
        raise SystemExit("RS256: the load-once key signs a different token than the PEM")
    print("RS256 load-once key: same token as jwt.encode from the PEM (checked)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and events")
    args = parser.parse_args()
    check_rs256_equivalence()
    print()
    print("== receiver ==")
    verify_bench.main(["--quick"] if args.quick else [])
    print()
    print("== plugin (real runner, sandbox) ==")
    quick = ["--rounds", "3", "--load-events", "40"]
    status = plugin_compute.main(quick if args.quick else [])
    print()
    print("== delivery through the outbox (real runner) ==")
    return status or outbox_bench.main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    sys.exit(main())
