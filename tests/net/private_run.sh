#!/bin/sh
# private_run.sh CMD ARGS... - run CMD with an empty /run of its own (a tmpfs
# mounted over it); the caller has made the mount namespace private
# (unshare --mount --propagation private), so nothing outside sees it.
# For tests/net/test_instance.sh.
mount -t tmpfs none /run || exit 1
exec "$@"
