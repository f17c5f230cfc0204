#!/usr/bin/env bash
# The same docker steps run-one takes for a task with a patch, typed by hand:
# the baseline the harness's overhead is measured against (bench/bench.ts).
# usage: bench/plain-run.sh IMAGE REPO_DIR REF INSTALL_CMD PATCH_FILE [PYTEST_ARGS...]
set -u
image=$1 repo=$2 ref=$3 install=$4 patch=$5
shift 5
name=plain-bench-$$
# Removed whatever happens (Ctrl-C included); labelled so that `npm run cleanup` finds a leftover.
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
docker run -d --rm --name "$name" --label swe-harness.run="$name" --network none --memory 2g --memory-swap 2g --pids-limit 1024 --cpus 2 \
  -v "$repo:/mnt/src:ro" --entrypoint sleep "$image" 3600 >/dev/null
docker exec "$name" sh -c 'git clone -q --shared --no-checkout /mnt/src /workspace/project && cd /workspace/project && git checkout -q --detach "$1"' sh "$ref" >/dev/null
docker exec -w /workspace/project "$name" bash -c "$install" >/dev/null
docker exec -w /workspace/project "$name" python3 -m pytest -rA -p no:cacheprovider --tb=short "$@" >/dev/null
docker exec -i "$name" sh -c 'cat > /tmp/p.patch' < "$patch"
docker exec -w /workspace/project "$name" git apply /tmp/p.patch
docker exec -w /workspace/project "$name" python3 -m pytest -rA -p no:cacheprovider --tb=short "$@" >/dev/null
# (the EXIT trap removes the container, as run-one does at the end)
