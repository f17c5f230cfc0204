#!/usr/bin/env bash
# Make a Docker engine available, or say exactly what the user must do; also
# Debian's chromium, which the report page's browser tests drive, and podman
# (--engine podman and its tests; SETUP_SKIP_PODMAN=1 leaves it out).
# Why a shell script: it must run before `npm ci` on a bare machine, and it
# needs apt/dockerd, which are shell territory anyway.
# Exit codes: 0 engine answers, 1 could not provide one (message says why).
set -u

log() { printf 'setup-engine: %s\n' "$*" >&2; }

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

apt_ready=0
apt_install() {
  if [ "$apt_ready" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || { log "apt-get update failed"; return 1; }
    apt_ready=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

can_apt() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; }

# Debian's chromium: the report page's browser tests (tests/integration/report-page.test.ts) drive it.
if [ "${SETUP_SKIP_CHROMIUM:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if can_apt; then
    apt_install chromium || log "could not install chromium (the report page's browser tests will fail)"
  else
    log "no chromium: install Debian's chromium (apt-get install chromium) for the report page's browser tests"
  fi
fi

# podman, with the init its --init needs and what rootless podman needs: tests/integration/podman.test.ts runs the harness on it (--engine podman).
if [ "${SETUP_SKIP_PODMAN:-0}" != 1 ] && ! { command -v podman >/dev/null 2>&1 && [ -x /usr/libexec/podman/catatonit ]; }; then
  if can_apt; then
    apt_install podman catatonit uidmap slirp4netns fuse-overlayfs || log "could not install podman (the podman tests will be skipped)"
  else
    log "no podman: install Debian's podman and catatonit (apt-get install podman catatonit) for --engine podman and its tests"
  fi
fi

# OpenSSH's server: the engine tests reach a second engine over ssh:// (tests/integration/tls-ssh-engine.test.ts).
if [ "${SETUP_SKIP_SSHD:-0}" != 1 ] && ! [ -x /usr/sbin/sshd ]; then
  if can_apt; then
    apt_install openssh-server || log "could not install openssh-server (the ssh:// engine test will be skipped)"
  else
    log "no sshd: install Debian's openssh-server for the ssh:// engine test"
  fi
fi

if engine_up; then
  log "docker engine is answering"
  exit 0
fi

if ! can_apt; then
  log "no docker engine answers (docker info failed)."
  log "start one yourself: e.g. 'sudo systemctl start docker', or install Docker Desktop / docker.io,"
  log "and make sure your user can reach /var/run/docker.sock (group 'docker')."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io iptables || { log "could not install docker.io"; exit 1; }
fi
# debootstrap is what the offline image recipe needs; install it alongside.
if [ "${SETUP_SKIP_DEBOOTSTRAP:-0}" != 1 ] && ! command -v debootstrap >/dev/null 2>&1; then
  apt_install debootstrap || log "could not install debootstrap (offline image build will fail)"
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if engine_up; then
    log "docker engine is answering"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
exit 1
