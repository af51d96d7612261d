#!/bin/sh
# Run the real piuparts-slave (apt-get install piuparts-slave) against a
# Kiln master on this machine, without ssh: a fake `ssh` first in PATH runs
# the master command locally, and the slave gets its own piuparts.conf
# through a private mount namespace, so /etc/piuparts is left alone.
#
#   sudo sh examples/debian-demo/piuparts-slave-local.sh [DATA_DIR] [SECTION]
#
# DATA_DIR is the master's data_dir (default ./kiln-debian-data, where the
# demo's kiln.toml puts it); SECTION defaults to bookworm. Stop with Ctrl-C.
# On a real deployment the slave reaches the master over ssh instead: see
# docs/debian.md.
set -eu
DATA_DIR=$(realpath "${1:-./kiln-debian-data}")
SECTION=${2:-bookworm}
KILN=$(realpath "$(dirname "$0")/../../bin/kiln.js")
WORK=${WORK:-/var/tmp/kiln-piuparts-slave}
SOCKET="$DATA_DIR/piuparts-master.sock"
[ -S "$SOCKET" ] || { echo "no Kiln master socket at $SOCKET: start the master first (kiln up --config examples/debian-demo/kiln.toml)" >&2; exit 1; }
[ -x /usr/share/piuparts/piuparts-slave ] || { echo "piuparts-slave is not installed (apt-get install piuparts-slave)" >&2; exit 1; }

mkdir -p "$WORK/bin" "$WORK/slave" "$WORK/basetgz"
cat > "$WORK/bin/ssh" <<'EOF'
#!/bin/sh
# Fake ssh: drop -x, -l USER and the host; run the remote command here.
while [ $# -gt 0 ]; do
  case "$1" in
    -x) shift ;;
    -l) shift 2 ;;
    *) break ;;
  esac
done
shift
export SSH_CLIENT="127.0.0.1 0 22"
exec sh -c "$*"
EOF
chmod +x "$WORK/bin/ssh"

# Reuse a Kiln worker's base tarball when there is one (same debootstrap).
if [ ! -e "$WORK/basetgz/${SECTION}_$(dpkg --print-architecture).tar.gz" ] && [ -e "/var/cache/kiln/debian/basetgz/${SECTION}_$(dpkg --print-architecture).tar.gz" ]; then
  cp "/var/cache/kiln/debian/basetgz/${SECTION}_$(dpkg --print-architecture).tar.gz" "$WORK/basetgz/"
fi

cat > "$WORK/piuparts.conf" <<EOF
[global]
sections = $SECTION
master-host = localhost
master-command = $(command -v node) $KILN piuparts-master --socket $SOCKET --name piuparts-slave@$(hostname)
mirror = http://deb.debian.org/debian
piuparts-command = piuparts
basetgz-directory = $WORK/basetgz
slave-directory = $WORK/slave
idle-sleep = 60
max-reserved = 2

[$SECTION]
distro = $SECTION
area = main
arch = $(dpkg --print-architecture)
EOF

cd "$WORK/slave"
exec env PATH="$WORK/bin:$PATH" unshare -m sh -c 'mount --bind "$0" /etc/piuparts/piuparts.conf && exec /usr/share/piuparts/piuparts-slave' "$WORK/piuparts.conf"
