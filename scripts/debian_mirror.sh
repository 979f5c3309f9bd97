# shellcheck shell=bash
# Sourced by the scripts that debootstrap a Debian root (docker-base.sh, check_debian13.sh).
# debian_mirror: prints the first Debian mirror of this machine's apt sources (deb822 "URIs:"
# or one-line "deb [options] URL suite"), security mirrors left out; nothing if there is none.
debian_mirror() {
  {
    awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    awk '/^deb / {print ($2 ~ /^\[/ ? $3 : $2)}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      2>/dev/null || true
  } | awk '!/-security/ && !found {print; found = 1}'
}

# ensure_debootstrap: installs debootstrap with apt if it is missing.
ensure_debootstrap() {
  command -v debootstrap >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  }
}
