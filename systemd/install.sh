#!/bin/sh
# Install smsgw as a service on Debian 12 or Raspberry Pi OS (bookworm), as root:
#
#   sudo sh systemd/install.sh                 # from a checkout of the project
#   sudo sh systemd/install.sh --source smsgw-0.1.0-py3-none-any.whl
#
# It creates the `smsgw` system user (in dialout, for the modems), a virtual environment in
# /opt/smsgw/venv with the project installed, /etc/smsgw/smsgw.toml (0640 root:smsgw) and
# /var/lib/smsgw (0700 smsgw:smsgw) through `smsgw init`, installs the systemd units, the
# udev rule and the module list, and enables and starts smsgw.target. Safe to run again (an
# upgrade): what exists is kept, the units and the rule are replaced.
#
# Options:
#   --source PATH     project directory or wheel to install (default: this checkout)
#   --pip-args ARGS   extra pip arguments, e.g. "--no-index --find-links /media/usb/wheels"
#                     on a box without internet access
#   --python PATH     interpreter for the virtual environment (default: python3)
#   --skip-venv       keep the existing virtual environment as it is (it must hold smsgw)
#   --no-start        enable the units but start nothing
#   --root DIR        install into DIR instead of / (an image being built, or a test): users
#                     are added with `useradd --root`, units enabled with `systemctl --root`,
#                     and nothing is reloaded or started. The virtual environment's scripts
#                     name their interpreter by its path under DIR; for a bootable image run
#                     this script inside it (chroot) instead.
set -eu

ROOT=/
SOURCE=
PIP_ARGS=
PYTHON=python3
SKIP_VENV=no
START=yes

PREFIX=/opt/smsgw
VENV=$PREFIX/venv
CONFIG_DIR=/etc/smsgw
CONFIG=$CONFIG_DIR/smsgw.toml
DATA_DIR=/var/lib/smsgw
USER_NAME=smsgw
UNIT_DIR=/etc/systemd/system
UNITS="smsgw-worker.service smsgw-web.service smsgw.target"
HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf '%s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# A step that only makes sense on a running system: done for real, or shown under --root.
# In a chroot (an image being built) systemd or udevd may not run: that is no failure,
# the units and the rule are read at the next boot.
on_live_system() {
    if [ "$ROOT" != / ]; then
        say "skipped (--root): $*"
    elif ! "$@"; then
        say "skipped (not running here; applies at the next boot): $*"
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
        --source) SOURCE=${2:?--source needs a path}; shift 2 ;;
        --pip-args) PIP_ARGS=${2?--pip-args needs a value}; shift 2 ;;
        --python) PYTHON=${2:?--python needs a path}; shift 2 ;;
        --skip-venv) SKIP_VENV=yes; shift ;;
        --no-start) START=no; shift ;;
        -h | --help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown option $1 (see --help)" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || fail "run as root (sudo sh $0): it creates a user and system files"
[ -d "$ROOT" ] || fail "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
R=$ROOT # prefixes every path written: empty for the live system
[ "$ROOT" != / ] || R=
[ -n "$SOURCE" ] || SOURCE=$(dirname "$HERE")
[ -e "$SOURCE" ] || fail "--source $SOURCE does not exist"
# Checked before anything is changed.
[ "$SKIP_VENV" = no ] || [ -x "$R$VENV/bin/smsgw" ] || fail "--skip-venv: no $R$VENV/bin/smsgw"

# -- the service user ------------------------------------------------------------------------
# A system user with no login and no home of its own to protect; in dialout for the modems.
if [ -n "$R" ]; then
    for file in passwd group shadow; do
        [ -f "$R/etc/$file" ] || fail "$R/etc/$file is missing: --root needs an /etc with users"
    done
    user_exists() { grep -q "^$USER_NAME:" "$R/etc/passwd"; }
    in_dialout() { grep -q "^dialout:.*[:,]$USER_NAME\(,\|$\)" "$R/etc/group"; }
    set -- --root "$ROOT"
else
    user_exists() { getent passwd "$USER_NAME" >/dev/null; }
    in_dialout() { id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx dialout; }
    set --
fi
if user_exists; then
    say "user       $USER_NAME (exists)"
else
    useradd "$@" --system --user-group --groups dialout --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "smsgw SMS gateway" "$USER_NAME"
    say "user       $USER_NAME (created, in dialout)"
fi
if ! in_dialout; then
    usermod "$@" --append --groups dialout "$USER_NAME"
    say "user       $USER_NAME added to dialout"
fi
# Numbers from the target's own files: under --root, the host may know another smsgw.
uid=$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 }' "$R/etc/passwd")
gid=$(awk -F: -v u="$USER_NAME" '$1 == u { print $4 }' "$R/etc/passwd")
[ -n "$uid" ] && [ -n "$gid" ] || fail "user $USER_NAME not found in $R/etc/passwd"

# -- the virtual environment ------------------------------------------------------------------
if [ "$SKIP_VENV" = yes ]; then
    say "venv       $VENV (kept)"
else
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        fail "$PYTHON is older than Python 3.11"
    "$PYTHON" -c 'import ensurepip' 2>/dev/null ||
        fail "$PYTHON cannot make virtual environments: apt-get install python3-venv"
    install -d -m 0755 "$R$PREFIX"
    [ -x "$R$VENV/bin/python" ] || "$PYTHON" -m venv "$R$VENV"
    # --upgrade: a second run is an upgrade. PIP_ARGS is split into words on purpose.
    # shellcheck disable=SC2086
    "$R$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore --upgrade $PIP_ARGS "$SOURCE"
    say "venv       $VENV (smsgw installed from $SOURCE)"
fi
# The units' Documentation= points here; a wheel has no README beside it, and that is fine.
[ ! -f "$HERE/../README.md" ] || install -m 0644 "$HERE/../README.md" "$R$PREFIX/README.md"

# -- config and data: `smsgw init` makes whatever is missing and keeps the rest ---------------
# Under --root the config keeps its default data_dir (/var/lib/smsgw, as seen when booted);
# SMSGW_DATA_DIR points this one run at the directory inside the root.
install -d -m 0750 -o 0 -g "$gid" "$R$CONFIG_DIR"
install -d -m 0755 "$R/var/lib"
# umask 077: the database and keys are born private, not opened up and closed again later.
(umask 077 && SMSGW_CONFIG="$R$CONFIG" SMSGW_DATA_DIR="$R$DATA_DIR" "$R$VENV/bin/smsgw" init) |
    sed 's/^/init       /'
chown 0:"$gid" "$R$CONFIG"
chmod 0640 "$R$CONFIG"
# init ran as root: the data directory and everything in it belong to the service.
chown -R "$uid:$gid" "$R$DATA_DIR"
chmod 0700 "$R$DATA_DIR"
say "config     $CONFIG (0640 root:$USER_NAME)"
say "data       $DATA_DIR (0700 $USER_NAME:$USER_NAME)"

# -- units, udev rule, drivers -----------------------------------------------------------------
install -d -m 0755 "$R$UNIT_DIR" "$R/etc/udev/rules.d" "$R/etc/modules-load.d"
for unit in $UNITS; do
    install -m 0644 "$HERE/$unit" "$R$UNIT_DIR/$unit"
done
install -m 0644 "$HERE/99-smsgw-modems.rules" "$R/etc/udev/rules.d/99-smsgw-modems.rules"
install -m 0644 "$HERE/smsgw-modules.conf" "$R/etc/modules-load.d/smsgw.conf"
# Growing restart delays need systemd 254 (Debian 12 has 252): only where they are known.
version=$(systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 }')
for unit in smsgw-worker.service smsgw-web.service; do
    if [ "${version:-0}" -ge 254 ] 2>/dev/null; then
        install -d -m 0755 "$R$UNIT_DIR/$unit.d"
        install -m 0644 "$HERE/restart-backoff.conf" "$R$UNIT_DIR/$unit.d/restart-backoff.conf"
    else
        rm -f "$R$UNIT_DIR/$unit.d/restart-backoff.conf"
    fi
done
say "units      $UNIT_DIR/{$(echo "$UNITS" | tr ' ' ',')}"
say "udev rule  /etc/udev/rules.d/99-smsgw-modems.rules (modems appear under /dev/smsgw/)"

on_live_system systemctl daemon-reload
on_live_system udevadm control --reload
# Modems already plugged in get their /dev/smsgw names and group now, not at the next boot.
on_live_system udevadm trigger --action=add --subsystem-match=usb --subsystem-match=tty
# `systemctl --root` writes the same symlinks offline, without a running systemd.
if [ -n "$R" ]; then set -- --root="$ROOT"; else set --; fi
# shellcheck disable=SC2086
systemctl "$@" enable $UNITS
if [ "$START" = yes ] && [ -z "$R" ]; then
    # restart, not start: after an upgrade the new code must run.
    systemctl restart smsgw.target
    say "started    smsgw.target (systemctl status smsgw-worker smsgw-web)"
else
    say "enabled    smsgw.target (not started: systemctl start smsgw.target)"
fi
