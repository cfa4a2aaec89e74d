#!/usr/bin/env bash
# Installs a Lua 5.1 interpreter (Debian's lua5.1, the Lua version Argo CD embeds) when it is missing, for the
# tests of the Argo CD health check and actions. Prints the interpreter's path.
set -euo pipefail
if ! command -v lua5.1 >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "lua5.1 is missing and apt-get is not available" >&2; exit 1; }
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing lua5.1 ..." >&2
  $SUDO apt-get install -y -qq lua5.1 >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq lua5.1 >/dev/null; }
fi
command -v lua5.1
