#!/usr/bin/env bash
# Builds the real test peers (kube-apiserver, kube-controller-manager, kubectl, etcd, fake-gcs-server, and
# Kueue's manager) from their Go modules.
# The binaries are cached outside the checkout, keyed by the pinned versions and the Go version, so fresh
# clones and CI reuse them; a change of pin builds a new set. Two runs racing take turns on a lock and the
# set appears atomically (built in a temp dir, then renamed). Prints the bin directory on its last line;
# the line before it is `kueue=<dir>`, the directory with Kueue's manager and the manifests it ships.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
FAKE_GCS_VERSION="${FAKE_GCS_VERSION:-v1.56.1}"
KUEUE_VERSION="${KUEUE_VERSION:-v0.17.0}"

log() { printf '[peers] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "Go is required to build the test peers (go 1.26 or newer)"; exit 1; }
GO_VERSION="$(go env GOVERSION)"
CACHE_ROOT="${DRMAA2_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drmaa2-batch-controller}"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_gcs-${FAKE_GCS_VERSION}_${GO_VERSION}"
BIN_DIR="$CACHE_ROOT/peers/$KEY/bin"
# Kueue has a key and a directory of its own: adding it to KEY would have thrown away every existing cache
# of the other peers (the Kubernetes binaries alone take 10-20 minutes), and a Kueue pin can move without
# rebuilding them. The whole directory is renamed into place at once, so its existence means it is complete.
KUEUE_DIR="$CACHE_ROOT/peers/kueue-${KUEUE_VERSION}_${GO_VERSION}"
export GOFLAGS="${GOFLAGS:-} -modcacherw"
export CGO_ENABLED=0
# kube-controller-manager runs only its namespace and garbage-collector controllers in tests: deleting a
# namespace must delete what is in it, as in a cluster.
BINARIES="kube-apiserver kube-controller-manager kubectl etcd fake-gcs-server"
KUBE_BINARIES="kube-apiserver kube-controller-manager kubectl"

all_built() {
  local b
  for b in $BINARIES; do [ -x "$BIN_DIR/$b" ] || return 1; done
}

kueue_built() { [ -x "$KUEUE_DIR/kueue" ]; }

report() {
  echo "kueue=$KUEUE_DIR"
  echo "$BIN_DIR"
}

if all_built && kueue_built; then report; exit 0; fi

mkdir -p "$CACHE_ROOT/peers"
exec 9>"$CACHE_ROOT/peers/.lock"
log "waiting for the build lock"
flock 9
if all_built && kueue_built; then report; exit 0; fi

WORK="$(mktemp -d "$CACHE_ROOT/peers/.build-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin"
start=$(date +%s)

build_kube() {
  local b missing=""
  for b in $KUBE_BINARIES; do [ -x "$WORK/bin/$b" ] || missing="$missing $b"; done
  [ -z "$missing" ] && return 0
  local mod="$WORK/k8s" staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$mod" && cd "$mod"
  go mod init k8sbin.local >/dev/null 2>&1
  log "kube: fetching k8s.io/kubernetes@$K8S_VERSION go.mod"
  local upstream
  upstream="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$upstream" ] || { log "could not read the go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  # The replace list is taken from upstream's own go.mod: every ./staging/ module pinned to its v0.X.Y.
  # Parsed with node (present wherever this project runs) rather than text tools: the JSON is go's own.
  local plan
  plan="$(go mod edit -json "$upstream" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s);
      if ((m.Exclude || []).length) { console.error("upstream go.mod has exclude entries"); process.exit(3); }
      const out = [];
      for (const r of m.Replace || []) {
        if (!r.New.Path.startsWith("./staging/")) { console.error("non-staging replace: " + r.Old.Path); process.exit(3); }
        out.push("replace " + r.Old.Path);
      }
      out.push("go " + m.Go);
      for (const g of m.Godebug || []) out.push("godebug " + g.Key + "=" + g.Value);
      console.log(out.join("\n"));
    });')"
  local n=0 kind value
  while read -r kind value; do
    case "$kind" in
      replace) go mod edit -replace="$value=$value@$staging"; n=$((n+1)) ;;
      go) go mod edit -go="$value" ;;
      godebug) go mod edit -godebug="$value" ;;
    esac
  done <<<"$plan"
  log "kube: pinned $n staging modules to $staging"
  log "kube: resolving dependencies (first time downloads a few hundred MB)"
  local tools=() b
  for b in $KUBE_BINARIES; do tools+=("k8s.io/kubernetes/cmd/$b@$K8S_VERSION"); done
  go get -tool "${tools[@]}" >&2
  go mod tidy >&2
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  log "kube: building${missing} (10-20 minutes cold on 2 cores, most of it the first one)"
  for b in $missing; do
    log "kube: building $b"
    go build -trimpath -tags=notest,grpcnotrace -ldflags "$ld" -o "$WORK/bin/$b" "k8s.io/kubernetes/cmd/$b"
  done
}

build_etcd() {
  [ -x "$WORK/bin/etcd" ] && return 0
  local mod="$WORK/etcd"; mkdir -p "$mod" && cd "$mod"
  go mod init etcdbin.local >/dev/null 2>&1
  log "etcd: resolving go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  log "etcd: building"
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" go.etcd.io/etcd/server/v3
}

build_fake_gcs() {
  [ -x "$WORK/bin/fake-gcs-server" ] && return 0
  local mod="$WORK/gcs"; mkdir -p "$mod" && cd "$mod"
  go mod init gcsbin.local >/dev/null 2>&1
  log "fake-gcs-server: resolving github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
  go get "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" >&2
  log "fake-gcs-server: building"
  go build -trimpath -ldflags "-s -w" -o "$WORK/bin/fake-gcs-server" github.com/fsouza/fake-gcs-server
}

build_kueue() {
  kueue_built && return 0
  local out="$WORK/kueue"
  mkdir -p "$out"
  # Kueue's go.mod has no replace or exclude directives (`go install pkg@version` refuses a module with them,
  # and says so), so it builds the manager with exactly the dependency versions Kueue is released with; a
  # module of ours requiring Kueue would only re-resolve them.
  log "kueue: resolving sigs.k8s.io/kueue@$KUEUE_VERSION"
  local info src
  info="$(go mod download -json "sigs.k8s.io/kueue@$KUEUE_VERSION")" ||
    { printf '%s\n' "$info" >&2; log "kueue: could not download sigs.k8s.io/kueue@$KUEUE_VERSION"; exit 1; }
  src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")"
  [ -f "$src/cmd/kueue/main.go" ] || { log "sigs.k8s.io/kueue@$KUEUE_VERSION has no cmd/kueue"; exit 1; }
  local pkg=sigs.k8s.io/kueue/pkg/version date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  log "kueue: building the manager (about 4 minutes cold on 2 cores)"
  GOBIN="$out" go install -trimpath \
    -ldflags "-s -w -X $pkg.GitVersion=$KUEUE_VERSION -X $pkg.BuildDate=$date" \
    "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION" >&2
  # The CRDs (with the kustomization naming the ones that convert through the webhook) and the webhook
  # configurations, as this version ships them: tests install what the manager was built with.
  cp -R "$src/config/components/crd" "$out/crds"
  cp -R "$src/config/components/webhook" "$out/webhook"
  chmod -R u+w "$out"
  [ -x "$out/kueue" ] || { log "kueue: the build produced no binary"; exit 1; }
  rm -rf "$KUEUE_DIR"
  mv "$out" "$KUEUE_DIR"
}

# Each finished binary is copied into the cache at once, so an interrupted run resumes where it stopped.
save() {
  mkdir -p "$BIN_DIR"
  local f name
  for f in "$WORK"/bin/*; do
    name="$(basename "$f")"
    [ -e "$BIN_DIR/$name" ] && continue
    cp "$f" "$BIN_DIR/.tmp-$name" && mv -f "$BIN_DIR/.tmp-$name" "$BIN_DIR/$name"
  done
}

# A cache missing only Kueue leaves the other binaries where they are.
if ! all_built; then
  # Keep binaries already built by an interrupted earlier run of the same key.
  if [ -d "$BIN_DIR" ]; then cp -a "$BIN_DIR/." "$WORK/bin/" 2>/dev/null || true; fi
  build_etcd; save
  build_fake_gcs; save
  build_kube; save
  all_built || { log "build finished but binaries are missing"; exit 1; }
fi
build_kueue
log "built in $(( $(date +%s) - start ))s into $BIN_DIR and $KUEUE_DIR"
report
