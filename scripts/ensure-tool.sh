#!/usr/bin/env bash
# Installs a Debian package when its command is missing, for tests that need a real tool (lua5.1 for the
# Argo CD health check, shellcheck for the scripts). Prints the command's path.
# Usage: scripts/ensure-tool.sh COMMAND PACKAGE
set -euo pipefail
cmd="$1"
pkg="$2"
if ! command -v "$cmd" >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "$cmd is missing and apt-get is not available" >&2; exit 1; }
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing $pkg ..." >&2
  if ! $SUDO apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq "$pkg" >/dev/null
  fi
fi
command -v "$cmd"
