#!/usr/bin/env bash
# npm run test:container: builds deploy/Dockerfile with podman (or docker) and passes one job
# through the real sandbox inside the container (scripts/container-smoke.ts). Offline machines:
# `--local-base` first builds a Debian 12 base image from the apt mirror (debootstrap) with this
# machine's Node, its headers (node-gyp builds node-pty; nodejs.org is out of reach) and npm
# copied in, and this machine's CA bundle (npm's registry is reached through a TLS-inspecting
# proxy here), since Docker Hub's node:20-bookworm-slim cannot be pulled. Needs root (or rootful
# podman), and debootstrap for --local-base. CONTAINER_BUILD_FLAGS: extra flags for the build.
set -euo pipefail
cd "$(dirname "$0")/.."
engine="${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}"
[ -n "$engine" ] || { echo "test:container: neither podman nor docker is installed" >&2; exit 2; }
base=node:20-bookworm-slim
if [ "${1:-}" = --local-base ]; then
  base=localhost/kiro-base:node20-bookworm
  if ! "$engine" image exists "$base" 2>/dev/null; then
    rootfs="$(mktemp -d /tmp/kiro-base-XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
    debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >&2
    # The official image's layout: node and npm under /usr/local.
    install -D -m 0755 "$(command -v node)" "$rootfs/usr/local/bin/node"
    npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
    mkdir -p "$rootfs/usr/local/lib/node_modules" && cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    node_dir="$(dirname "$(dirname "$(command -v node)")")"
    mkdir -p "$rootfs/usr/local/include" && cp -a "$node_dir/include/node" "$rootfs/usr/local/include/node"
    ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
    mkdir -p "$rootfs/etc/ssl" && cp "$ca" "$rootfs/etc/ssl/host-ca.crt"
    tar -C "$rootfs" -c . | "$engine" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt' --change 'ENV npm_config_cafile=/etc/ssl/host-ca.crt' \
      --change 'ENV npm_config_nodedir=/usr/local' --change 'CMD ["node"]' - "$base" >&2
  fi
fi
tag=localhost/kiro-worker:test
format=(); case "$engine" in *podman) format=(--format docker);; esac  # podman drops HEALTHCHECK from OCI images
"$engine" build "${format[@]}" ${CONTAINER_BUILD_FLAGS:-} -f deploy/Dockerfile --build-arg BASE_IMAGE="$base" --build-arg AGENT=fake -t "$tag" .
npx tsx scripts/build.ts >&2
exec npx tsx scripts/container-smoke.ts "$engine" "$tag"
