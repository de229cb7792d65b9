#!/bin/sh
# How ctest runs sesame_pam_tests: run_isolated.sh BINARY [ARGS...]. The
# binary gets LD_PRELOAD=$SESAME_PAM_TESTS_PRELOAD (pam_wrapper, and the ASan
# runtime first in the ASan build) for itself alone, and, when this can be
# done, a mount namespace of its own with a private /tmp.
#
# Why a private /tmp. pam_wrapper 1.1.4 gives every process that uses PAM
# its own copy of the service dir, /tmp/pam.X: it tries letters from
# getpid() % 70 on, takes the first X that lstat() says is free, then
# mkdir()s it, and goes on with that dir even when mkdir fails with EEXIST.
# Two processes doing this at the same moment share one dir, and the first
# to exit removes it (its destructor): the other's next pam_start finds no
# service file. Each process also removes, at its start, every /tmp/pam.X
# whose pid file names a pid that kill(pid, 0) says is gone, which from
# another pid namespace is any pid. So any other program on the machine
# that uses pam_wrapper (another CI job, the integration tests of another
# build dir) can take or remove this binary's dirs. With a private /tmp only
# this binary and its children see them. (ctest's RESOURCE_LOCK keeps the
# tests of one ctest run apart, not other programs.)
#
# The preload is not in ctest's environment for the test: sh, unshare and
# mount would load pam_wrapper too and make /tmp/pam.X dirs of their own.
#
# Without root, without unshare (a container may refuse it), with the build
# dir under /tmp (the private /tmp would hide it) or with
# SESAME_PAM_TESTS_SHARED_TMP=1, it says so and runs the binary as it is.
set -eu

[ $# -ge 1 ] || { echo "usage: run_isolated.sh BINARY [ARGS...]" >&2; exit 2; }
preload=${SESAME_PAM_TESTS_PRELOAD:?SESAME_PAM_TESTS_PRELOAD is not set (run through ctest)}
unset SESAME_PAM_TESTS_PRELOAD

why_shared=""
if [ "${SESAME_PAM_TESTS_SHARED_TMP:-0}" = 1 ]; then
  why_shared="SESAME_PAM_TESTS_SHARED_TMP=1"
elif [ "$(id -u)" != 0 ]; then
  why_shared="not root"
else
  for p in "$1" "${PAM_WRAPPER_SERVICE_DIR:-}"; do
    case "$p" in /tmp/*) why_shared="$p is under /tmp" ;; esac
  done
  if [ -z "$why_shared" ] && ! unshare --mount --propagation private true 2>/dev/null; then
    why_shared="unshare --mount is not allowed here"
  fi
fi

if [ -z "$why_shared" ]; then
  # In the new namespace: a fresh tmpfs on /tmp, then the binary. If the
  # mount fails, the binary runs with the shared /tmp (and says so).
  # SESAME_PAM_TESTS_PRIVATE_TMP names the namespace left behind, for the
  # binary to check that it is in another one (tests/pam/dev_log.cc).
  host_ns=$(readlink /proc/self/ns/mnt)
  # shellcheck disable=SC2016  # expanded by the inner sh
  exec unshare --mount --propagation private /bin/sh -c '
    preload=$1
    host_ns=$2
    shift 2
    if mount -t tmpfs -o mode=1777,nosuid,nodev sesame_pam_tests /tmp; then
      export SESAME_PAM_TESTS_PRIVATE_TMP="$host_ns"
    else
      echo "run_isolated.sh: note: cannot mount a private /tmp; pam_wrapper dirs are shared" >&2
    fi
    LD_PRELOAD=$preload exec "$@"' run_isolated "$preload" "$host_ns" "$@"
fi
echo "run_isolated.sh: note: no private /tmp ($why_shared); pam_wrapper's /tmp/pam.X dirs are" \
  "shared with other programs on this machine" >&2
LD_PRELOAD=$preload exec "$@"
