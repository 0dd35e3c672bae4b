#!/usr/bin/env bash
# Turn a fresh Ubuntu or Debian VM into a running askservice host; safe to run again (upgrades).
#
#   sudo ASKSERVICE_SITE=ask.example.com deploy/bootstrap.sh
#
# Run it from a checkout of the repository. It installs that checkout into /opt/askservice
# (a venv in /opt/askservice/.venv), data in /var/lib/askservice, logs in /var/log/askservice
# (rotated by supervisord), runs supervisord under systemd as the `askservice` user (its host
# paths in /etc/askservice/supervisord.conf, from deploy/supervisord-host.conf) and Caddy from
# the distribution in front. A second run upgrades the code and reloads gunicorn gracefully
# (new workers start, old ones finish their requests): no request is dropped.
#
# Environment:
#   ASKSERVICE_SITE   the domain Caddy serves with automatic TLS (unset: Caddy is not configured)
#   ASKSERVICE_HOME   install folder (default /opt/askservice)
set -euo pipefail

APP_USER=askservice
HOME_DIR=${ASKSERVICE_HOME:-/opt/askservice}
DATA_DIR=/var/lib/askservice
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (sudo $0)"
[[ -f $SRC_DIR/requirements.txt && -f $SRC_DIR/supervisord.conf ]] || die "$SRC_DIR is not an askservice checkout"

install_packages() {
    log "installing system packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q python3 python3-venv rsync sqlite3 ca-certificates
    if [[ -n ${ASKSERVICE_SITE:-} ]]; then
        apt-cache show caddy >/dev/null 2>&1 \
            || die "this release has no caddy package: add Caddy's apt repository (https://caddyserver.com/docs/install#debian-ubuntu-raspbian) and run again"
        apt-get install -y -q caddy
    fi
}

create_user() {
    if ! id -u "$APP_USER" >/dev/null 2>&1; then
        log "creating system user $APP_USER"
        useradd --system --home-dir "$HOME_DIR" --no-create-home --shell /usr/sbin/nologin "$APP_USER"
    fi
    install -d -o "$APP_USER" -g "$APP_USER" -m 0750 "$DATA_DIR"
}

install_code() {
    log "installing $SRC_DIR into $HOME_DIR"
    install -d -m 0755 "$HOME_DIR"
    if [[ $SRC_DIR != "$HOME_DIR" ]]; then
        rsync -a --delete --exclude .git --exclude .venv --exclude data --exclude .env \
            --exclude __pycache__ --exclude .pytest_cache --exclude '/var/*' "$SRC_DIR"/ "$HOME_DIR"/
    fi
    [[ -x $HOME_DIR/.venv/bin/python ]] || python3 -m venv "$HOME_DIR/.venv"
    "$HOME_DIR/.venv/bin/pip" install --disable-pip-version-check -q -r "$HOME_DIR/requirements.txt"
    if [[ ! -f $HOME_DIR/.env ]]; then
        # Caddy makes the loopback port public: never start without a key
        log "writing $HOME_DIR/.env with a new API key for client 'admin' (edit it: UPSTREAM_BASE_URL, ...)"
        cat >"$HOME_DIR/.env" <<EOF
HOST=127.0.0.1
PORT=5001
STORE_URL=sqlite:///$DATA_DIR/askservice.db
BLOB_URL=file://$DATA_DIR/blobs
API_KEYS=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'):admin
EOF
    fi
    chown root:"$APP_USER" "$HOME_DIR/.env"
    chmod 0640 "$HOME_DIR/.env"
}

install_service() {
    log "installing the systemd unit (supervisord) and its paths in /etc/askservice/supervisord.conf"
    # the host's folders (/run/askservice, /var/log/askservice): supervisord.conf includes this file
    install -d -m 0755 /etc/askservice
    install -m 0644 "$HOME_DIR/deploy/supervisord-host.conf" /etc/askservice/supervisord.conf
    sed "s#/opt/askservice#$HOME_DIR#g" "$HOME_DIR/deploy/askservice.service" >/etc/systemd/system/askservice.service
    systemctl daemon-reload
    systemctl enable askservice >/dev/null
    if systemctl is-active --quiet askservice; then
        log "reloading gunicorn gracefully (HUP)"
        systemctl reload askservice
    else
        systemctl start askservice
    fi
}

install_caddy() {
    [[ -n ${ASKSERVICE_SITE:-} ]] || { log "ASKSERVICE_SITE unset: leaving Caddy alone"; return; }
    log "configuring Caddy for $ASKSERVICE_SITE"
    install -m 0644 "$HOME_DIR/Caddyfile" /etc/caddy/Caddyfile
    install -d -m 0755 /etc/systemd/system/caddy.service.d
    printf '[Service]\nEnvironment=ASKSERVICE_SITE=%s\n' "$ASKSERVICE_SITE" \
        >/etc/systemd/system/caddy.service.d/askservice.conf
    systemctl daemon-reload
    systemctl enable caddy >/dev/null
    systemctl reload-or-restart caddy
}

wait_healthy() {
    local port
    port=$(sed -n 's/^PORT=//p' "$HOME_DIR/.env" | tail -n 1)
    for _ in $(seq 1 30); do
        if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
            "http://127.0.0.1:${port:-5001}/v1/health" 2>/dev/null; then
            log "askservice is healthy on 127.0.0.1:${port:-5001}"
            return
        fi
        sleep 1
    done
    die "askservice did not answer /v1/health: see /var/log/askservice/askservice.log"
}

install_packages
create_user
install_code
install_service
install_caddy
wait_healthy
