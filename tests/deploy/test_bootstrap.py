"""deploy/bootstrap.sh, the systemd unit and the IAM policy: checked with the tools that judge them."""

from __future__ import annotations

import json
import re
import subprocess

from tests.deploy.conftest import system_tool
from tests.servers import REPO

BOOTSTRAP = REPO / "deploy" / "bootstrap.sh"


def test_bootstrap_parses_and_passes_shellcheck():
    syntax = subprocess.run(["bash", "-n", str(BOOTSTRAP)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    lint = subprocess.run([system_tool("shellcheck"), "-x", str(BOOTSTRAP)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_the_unit_gives_supervisord_every_folder_its_config_expands():
    needed = set(re.findall(r"%\(ENV_(\w+)\)s", (REPO / "supervisord.conf").read_text()))
    unit = (REPO / "deploy" / "askservice.service").read_text()
    given = {name for line in re.findall(r"^Environment=(.*)$", unit, re.M) for name in re.findall(r"(\w+)=", line)}
    assert needed and needed <= given
    assert "supervisord -c /opt/askservice/supervisord.conf" in unit
    # systemd must wait longer than supervisord, which waits longer than gunicorn's graceful timeout
    stop_wait = int(re.search(r"^stopwaitsecs=(\d+)", (REPO / "supervisord.conf").read_text(), re.M).group(1))
    assert int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1)) > stop_wait > 90


def test_iam_policy_names_only_what_the_backends_call():
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any("*" in a for a in actions)
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Resource"]).replace("/*", "") for s in policy["Statement"])
    store = (REPO / "src" / "askservice" / "store" / "dynamodb.py").read_text()
    blobs = (REPO / "src" / "askservice" / "blobs" / "s3.py").read_text()
    for call, action in [
        ("get_item", "dynamodb:GetItem"), ("put_item", "dynamodb:PutItem"), ("update_item", "dynamodb:UpdateItem"),
        ("delete_item", "dynamodb:DeleteItem"), ('"query"', "dynamodb:Query"), ("ConditionCheck", "dynamodb:ConditionCheckItem"),
        ("put_object", "s3:PutObject"), ("get_object", "s3:GetObject"), ("delete_object", "s3:DeleteObject"),
    ]:
        if call in store + blobs:
            assert action in actions, f"the backends call {call}: the policy needs {action}"
