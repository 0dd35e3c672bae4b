"""deploy/bootstrap.sh, the systemd unit, the host's supervisord paths and the IAM policy: checked with
the tools that judge them (shellcheck, supervisor's own config reader)."""

from __future__ import annotations

import configparser
import io
import json
import os
import re
import subprocess
from pathlib import Path

from supervisor.options import ClientOptions, ServerOptions

from tests.deploy.conftest import HOST_CONF, system_tool
from tests.servers import REPO

BOOTSTRAP = REPO / "deploy" / "bootstrap.sh"
HOST_FILE = REPO / "deploy" / "supervisord-host.conf"  # installed as HOST_CONF by bootstrap.sh


def test_bootstrap_parses_and_passes_shellcheck():
    syntax = subprocess.run(["bash", "-n", str(BOOTSTRAP)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    lint = subprocess.run([system_tool("shellcheck"), "-x", str(BOOTSTRAP)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_the_host_conf_overrides_every_checkout_path_with_the_folders_the_unit_creates():
    # supervisord.conf runs as written from a checkout (nothing to export) and includes the host's file
    conf_text = (REPO / "supervisord.conf").read_text()
    assert "%(ENV_" not in conf_text
    conf = _ini(conf_text)
    assert conf.get("include", "files").split() == [str(HOST_CONF)]
    in_var = {(s, k) for s in conf.sections() for k, v in conf.items(s) if "%(here)s/var" in v}
    assert {("unix_http_server", "file"), ("supervisord", "logfile"), ("supervisord", "pidfile"),
            ("supervisord", "childlogdir"), ("supervisorctl", "serverurl"), ("program:askservice", "stdout_logfile")} <= in_var

    # the host file overrides exactly those keys, with the folders systemd creates for the unit
    host = _ini(HOST_FILE.read_text())
    assert {(s, k) for s in host.sections() for k, _ in host.items(s)} == in_var
    unit = (REPO / "deploy" / "askservice.service").read_text()
    assert not re.search(r"^Environment=.*ASKSERVICE_", unit, re.M)
    assert re.search(r"^RuntimeDirectory=askservice$", unit, re.M) and re.search(r"^LogsDirectory=askservice$", unit, re.M)
    run, logs = "/run/askservice", "/var/log/askservice"
    assert host.get("supervisorctl", "serverurl") == "unix://" + host.get("unix_http_server", "file")
    assert os.path.dirname(host.get("unix_http_server", "file")) == run
    assert os.path.dirname(host.get("supervisord", "pidfile")) == run
    assert os.path.dirname(host.get("supervisord", "logfile")) == logs
    assert host.get("supervisord", "childlogdir") == logs
    assert os.path.dirname(host.get("program:askservice", "stdout_logfile")) == logs

    # the unit runs the checkout's file and reloads through the host's (supervisorctl ignores [include])
    assert "supervisord -c /opt/askservice/supervisord.conf" in unit
    assert re.search(rf"^ExecReload=\S*supervisorctl -c {HOST_CONF} signal HUP askservice$", unit, re.M)
    # and bootstrap.sh puts the host file where supervisord.conf looks for it
    assert re.search(rf'^\s*install -m 0644 "\$HOME_DIR/deploy/{HOST_FILE.name}" {HOST_CONF}$', BOOTSTRAP.read_text(), re.M)

    # systemd must wait longer than supervisord, which waits longer than gunicorn's graceful timeout
    stop_wait = int(re.search(r"^stopwaitsecs=(\d+)", conf_text, re.M).group(1))
    assert int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1)) > stop_wait > 90


def test_supervisor_lets_the_included_host_file_win(tmp_path):
    # Given supervisord.conf including a host file that moves every path under tmp_path
    (tmp_path / "run").mkdir()
    (tmp_path / "log").mkdir()
    host = tmp_path / "host.conf"
    host.write_text(
        HOST_FILE.read_text().replace("/run/askservice", str(tmp_path / "run")).replace("/var/log/askservice", str(tmp_path / "log"))
    )
    conf = tmp_path / "supervisord.conf"
    conf.write_text(_include(host))

    # When supervisord and supervisorctl read them the way they do
    paths = _supervisord_paths(str(conf))
    ctl = ClientOptions()
    ctl.configfile = str(host)
    ctl.process_config(do_usage=False)

    # Then the host's values won, and supervisorctl finds the socket in the host file
    run, logs = tmp_path / "run", tmp_path / "log"
    assert paths == {
        "logfile": f"{logs}/supervisord.log", "pidfile": f"{run}/supervisord.pid", "childlogdir": str(logs),
        "socket": f"{run}/supervisor.sock", "stdout_logfile": f"{logs}/askservice.log",
    }
    assert ctl.serverurl == f"unix://{run}/supervisor.sock"


def test_without_a_host_file_every_path_is_in_the_checkouts_var(tmp_path):
    # supervisord.conf as in the checkout, its include pointing at a file that does not exist
    text = io.StringIO(_include(tmp_path / "missing.conf"))
    var = REPO / "var"
    assert _supervisord_paths(text, here=REPO) == {
        "logfile": f"{var}/supervisord.log", "pidfile": f"{var}/supervisord.pid", "childlogdir": str(var),
        "socket": f"{var}/supervisor.sock", "stdout_logfile": f"{var}/askservice.log",
    }
    assert (var / ".gitignore").read_text().split() == ["*", "!.gitignore"]  # the folder is in every checkout
    ctl = ClientOptions()
    ctl.configfile = str(REPO / "supervisord.conf")
    ctl.process_config(do_usage=False)
    assert ctl.serverurl == f"unix://{var}/supervisor.sock"


def _ini(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(text)
    return parser


def _include(host: Path) -> str:
    """Return supervisord.conf's text with its include pointed at `host`."""
    text = (REPO / "supervisord.conf").read_text()
    assert text.count(f"files = {HOST_CONF}\n") == 1
    return text.replace(f"files = {HOST_CONF}\n", f"files = {host}\n")


def _supervisord_paths(configfile, here: Path | None = None) -> dict[str, str]:
    """Parse `configfile` with supervisord's own reader and return the paths it would use."""
    options = ServerOptions()
    options.configfile = configfile
    if here is not None:  # a file object: supervisord takes %(here)s from a path only
        options.here = str(here)
    options.process_config(do_usage=False)
    section = options.configroot.supervisord
    (program,) = [p for group in section.process_group_configs for p in group.process_configs]
    (server,) = section.server_configs
    return {
        "logfile": section.logfile, "pidfile": section.pidfile, "childlogdir": section.childlogdir,
        "socket": server["file"], "stdout_logfile": program.stdout_logfile,
    }


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
