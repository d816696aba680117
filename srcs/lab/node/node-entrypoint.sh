#!/bin/bash
# Starts the node's own Docker engine. The node runs without --privileged
# (this host's bounding set lacks CAP_SYS_RESOURCE), with every other
# capability and no seccomp/AppArmor confinement; what --privileged would
# also do is done here: a writable /sys and cgroup tree, shared mounts.
set -Eeuo pipefail

mount -o remount,rw /sys
for hierarchy in /sys/fs/cgroup/*; do
	# cgroup v1: one mount per controller; v2: the single tree.
	mount -o remount,rw "$hierarchy" 2>/dev/null || mount -o remount,rw,bind "$hierarchy" "$hierarchy" 2>/dev/null || true
done
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
mount --make-rshared /

# Extra CAs for builder stages behind a TLS-inspecting proxy (`invoke lab`
# mounts BUILD_CA_BUNDLE here when it is set).
if [[ -s /etc/inception/build-ca.pem ]]; then
	cp /etc/inception/build-ca.pem /usr/local/share/ca-certificates/inception-build-ca.crt
	update-ca-certificates >/dev/null
fi

# --no-new-privileges for every container: Docker 26's swarm services cannot
# ask for it themselves (compose's security_opt is ignored by stack deploy).
args=(--userland-proxy=false --no-new-privileges --host=unix:///var/run/docker.sock)
# The lab's manager also answers on a socket the host can reach (`invoke lab`
# mounts /run/lab from the host and prints DOCKER_HOST for it).
if [[ -d /run/lab ]]; then
	args+=(--host=unix:///run/lab/docker.sock)
fi
exec dockerd "${args[@]}"
