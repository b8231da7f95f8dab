#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end test needs; a no-op when everything is present.
#   - Debian packages: chromium (the browser playwright drives), ripgrep (VS Code's search),
#     build-essential + libkrb5-dev (code-server's native modules)
#   - code-server 4.100.3 (VS Code 1.100.3; later versions need Node 22) in a cache folder
#     outside the repository, with the fix-ups that make its offline install work
#   - the extension's npm packages (playwright-core is one of its devDependencies)
# Prints the code-server executable's path as its last line.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
CACHE="${NNEVOLVE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnevolve-e2e}"
TARGET="$CACHE/code-server-$CODE_SERVER_VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"
EXTENSION="$(dirname "$HERE")"

log() { echo "[e2e setup] $*" >&2; }

work="" # a half-done code-server install, if any
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

install_debian_packages() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v rg >/dev/null || missing+=(ripgrep)
  { command -v make >/dev/null && command -v g++ >/dev/null; } || missing+=(build-essential)
  [ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || missing+=(libkrb5-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to apt-get install ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

install_code_server() {
  [ -x "$TARGET/node_modules/.bin/code-server" ] && [ -e "$TARGET/.ready" ] && return 0
  log "installing code-server $CODE_SERVER_VERSION into $TARGET (about a minute)"
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/.install.XXXXXX")" # removed on exit unless it became $TARGET
  # its install scripts download prebuilt binaries: skip them and build the natives from source
  export npm_config_nodedir=/usr npm_config_yes=true npm_config_fund=false npm_config_audit=false
  (
    cd "$work"
    echo '{"name":"nnevolve-e2e-code-server","private":true}' > package.json
    npm install --ignore-scripts --no-save "code-server@$CODE_SERVER_VERSION" >&2
    npm rebuild argon2 >&2
    cd node_modules/code-server/lib/vscode
    npm install --omit=dev --ignore-scripts >&2
    mkdir -p node_modules/@vscode/ripgrep/bin
    cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
    npm rebuild >&2
    ln -sfn node_modules node_modules.asar
    ln -sfn code-linux.sh bin/remote-cli/code-server
    ln -sfn browser-linux.sh bin/helpers/browser.sh
    cd extensions
    npm install --omit=dev >&2
  )
  touch "$work/.ready"
  rm -rf "$TARGET"
  mv "$work" "$TARGET"
  work=""
}

install_driver_packages() {
  [ -d "$EXTENSION/node_modules/playwright-core" ] && return 0
  log "installing the extension's npm packages (playwright-core)"
  make -C "$EXTENSION" node_modules >&2
}

mkdir -p "$CACHE"
# one installer at a time: two test runs may start together
exec 9>"$CACHE/.setup.lock"
flock 9
install_debian_packages
install_code_server
install_driver_packages
echo "$TARGET/node_modules/.bin/code-server"
