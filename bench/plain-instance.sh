#!/usr/bin/env bash
# The docker steps run-one takes to grade a SWE-bench instance with its gold
# patch, typed by hand: the baseline for the large-repository figure of
# bench/bench.ts. Clone (shared, from the read-only mirror), install, apply
# the gold patch, reset the test files and apply the test patch, run pytest
# once on the test files. Exit code: pytest's.
# usage: bench/plain-instance.sh IMAGE MIRROR_DIR REF INSTALL_CMD GOLD_PATCH TEST_PATCH TEST_FILE...
set -u
image=$1 mirror=$2 ref=$3 install=$4 gold=$5 testpatch=$6
shift 6
name=plain-bench-$$
# Removed whatever happens (Ctrl-C included); labelled so that `npm run cleanup` finds a leftover.
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
docker run -d --rm --name "$name" --label swe-harness.run="$name" --network none --memory 2g --memory-swap 2g --pids-limit 1024 --cpus 2 \
  -v "$mirror:/mnt/src:ro" --entrypoint sleep "$image" 3600 >/dev/null
docker exec "$name" sh -c "git -c safe.directory='*' clone -q --shared --no-checkout /mnt/src /workspace/project && cd /workspace/project && git -c advice.detachedHead=false checkout -q --detach $ref" >/dev/null || exit 3
docker exec -w /workspace/project "$name" bash -c "$install" >/dev/null || exit 3
docker exec -i "$name" sh -c 'cat > /tmp/gold.patch' < "$gold"
docker exec -w /workspace/project "$name" git apply /tmp/gold.patch || exit 5
docker exec -i "$name" sh -c 'cat > /tmp/test.patch' < "$testpatch"
docker exec -w /workspace/project "$name" sh -c 'git checkout -q HEAD -- "$@" && git apply /tmp/test.patch' reset "$@" || exit 5
docker exec -w /workspace/project "$name" python3 -m pytest -rA -p no:cacheprovider --tb=short "$@" >/dev/null
