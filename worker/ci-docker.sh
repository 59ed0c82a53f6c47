#!/usr/bin/env bash
# A private Docker daemon for the worker's tests (and `dgcm bench worker`), plus the local test
# image. No image registry is reachable here, so the image is built from Debian's static busybox
# with `docker import`.
#
#   eval "$(bash worker/ci-docker.sh)"      # then: cargo test -p dgcm-worker
#
# Prints one line on stdout, `export DOCKER_HOST=unix:///...`; progress goes to stderr.
# Needs root (dockerd). Idempotent: a daemon already answering on the socket is reused, an image
# already present is kept. Settings (environment):
#   DGCM_DOCKER_DIR   data, exec root, socket and log of the daemon   [/var/tmp/dgcm-docker]
#   DGCM_TEST_IMAGE   tag of the test image                           [dgcm/busybox:test]
#   DGCM_DOCKER_WAIT  seconds to wait for the daemon                  [60]
set -euo pipefail

DIR=${DGCM_DOCKER_DIR:-/var/tmp/dgcm-docker}
SOCK="$DIR/docker.sock"
IMAGE=${DGCM_TEST_IMAGE:-dgcm/busybox:test}
WAIT=${DGCM_DOCKER_WAIT:-60}

log() { echo "ci-docker: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it starts dockerd)"
    exit 1
fi

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
# Debian's busybox-static provides a statically linked /bin/busybox (the image's only binary).
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" \
    || need_apt+=(busybox-static)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing ${need_apt[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

# Any docker client will do (the CLI negotiates the API version down to the daemon's).
DOCKER=$(command -v docker || true)
[ -n "$DOCKER" ] || { log "no docker client found after installing docker.io"; exit 1; }
dk() { "$DOCKER" -H "unix://$SOCK" "$@"; }

if dk version >/dev/null 2>&1; then
    log "reusing the daemon on $SOCK"
else
    mkdir -p "$DIR/data" "$DIR/exec"
    # Leftovers of a daemon that was killed (e.g. at the end of an earlier session): a stale
    # containerd pid file makes dockerd wait for a containerd that is not there.
    rm -f "$SOCK" "$DIR/docker.pid" "$DIR/exec/containerd/containerd.pid" \
        "$DIR/exec/containerd/containerd.sock"
    log "starting dockerd (data root $DIR/data, socket $SOCK, log $DIR/dockerd.log)"
    # setsid + nohup: the daemon outlives this script and the shell that called it.
    setsid nohup dockerd \
        --data-root "$DIR/data" \
        --exec-root "$DIR/exec" \
        --pidfile "$DIR/docker.pid" \
        -H "unix://$SOCK" \
        >"$DIR/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 "$((WAIT * 2))"); do
        dk version >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! dk version >/dev/null 2>&1; then
        log "dockerd did not answer within ${WAIT}s; last lines of its log:"
        tail -n 30 "$DIR/dockerd.log" >&2 || true
        exit 1
    fi
    log "dockerd is up ($(dk version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
fi

if dk image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE present"
else
    log "building $IMAGE from /bin/busybox (static)"
    ROOT=$(mktemp -d)
    trap 'rm -rf "$ROOT"' EXIT
    mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/output" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
    chmod 1777 "$ROOT/tmp"
    cp /bin/busybox "$ROOT/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$ROOT/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
    tar -C "$ROOT" -c . | dk import \
        --change 'ENV PATH=/bin' \
        --change 'CMD ["/bin/sh"]' \
        - "$IMAGE" >/dev/null
    log "image $IMAGE built"
fi

echo "export DOCKER_HOST=unix://$SOCK"
