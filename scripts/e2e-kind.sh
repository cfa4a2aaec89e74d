#!/usr/bin/env bash
# End-to-end on kind, for people with a Docker engine: creates a kind cluster, builds and loads the image,
# installs deploy/ plus the Batch emulator as an in-cluster Deployment (same image, `emulator` command), runs
# every example to completion, and deletes the cluster. The project's CI machines have no Docker engine, so
# this runs only where one is available.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-drmaa2-e2e}"
IMAGE="drmaa2-batch-controller:0.1.0"
NS=drmaa2-e2e

need() { command -v "$1" >/dev/null 2>&1 || { echo "e2e-kind: $1 is required ($2)" >&2; exit 2; }; }
need docker "https://docs.docker.com/engine/install/"
need kind "go install sigs.k8s.io/kind@latest"
need kubectl "or use the one scripts/build-peers.sh builds"
if ! docker info >/dev/null 2>&1; then
  echo "e2e-kind: no Docker engine is reachable (docker info failed); this test needs one" >&2
  exit 2
fi

cleanup() { kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kind create cluster --name "$CLUSTER" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

kubectl apply --server-side -k deploy/
kubectl -n drmaa2-system create deployment batch-emulator --image="$IMAGE" --port=8790 -- \
  node dist/main.js emulator --host 0.0.0.0 --port 8790 --step-ms 200
kubectl -n drmaa2-system expose deployment batch-emulator --port=8790
kubectl -n drmaa2-system set env deployment/drmaa2-batch-controller \
  BATCH_EMULATOR_HOST=batch-emulator.drmaa2-system.svc:8790 STORAGE_EMULATOR_HOST=http://127.0.0.1:1
kubectl -n drmaa2-system rollout status deployment/batch-emulator --timeout=180s
kubectl -n drmaa2-system rollout status deployment/drmaa2-batch-controller --timeout=180s

kubectl create namespace "$NS"
for file in examples/*.yaml; do
  [ "$(basename "$file")" = staging.yaml ] && continue # needs a Cloud Storage emulator in the cluster
  kubectl apply -n "$NS" -f "$file"
done
kubectl -n "$NS" patch drmaa2job held --type=merge -p '{"spec":{"hold":false}}'
kubectl -n "$NS" wait --for=condition=Finished drmaa2job --all --timeout=300s
kubectl -n "$NS" get drmaa2jobs
failed=$(kubectl -n "$NS" get drmaa2jobs -o jsonpath='{range .items[?(@.status.state=="Failed")]}{.metadata.name}{" "}{end}')
if [ "$failed" != "failing " ]; then
  echo "e2e-kind: unexpected failures: '$failed'" >&2
  exit 1
fi
echo "e2e-kind: every example finished as expected"
