#!/usr/bin/env bash
# Install the Debian packages cbassess needs, only those missing.
#   scripts/system-deps.sh run    WeasyPrint's libraries and fonts (Noto: the PDF report covers
#                                 Latin, Arabic, Cyrillic, Chinese and Japanese)
#   scripts/system-deps.sh test   the same, plus Chromium for the browser tests, poppler-utils
#                                 (pdftoppm: pictures of report pages), wrk (the
#                                 benchmark's load generator, run small by the suite), and the
#                                 PostgreSQL, Redis and nginx servers the tests start on loopback
#   scripts/system-deps.sh bench  the run packages, plus wrk and PostgreSQL for `make bench`
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libharfbuzz0b fonts-dejavu-core fonts-noto-core fonts-noto-cjk shared-mime-info)
case "${1:-run}" in
  test) packages+=(chromium wrk postgresql redis-server nginx-light poppler-utils) ;;
  bench) packages+=(wrk postgresql) ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "Run as root, or install them yourself: apt-get install ${missing[*]}" >&2; exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
