#!/usr/bin/env bash
# Install what ntplab needs on Debian 12, when run as root and when something
# is missing.  Third-party NTP daemons that conflict with ntpsec as packages
# (chrony, openntpd) are unpacked into build/daemons/ instead of installed.
# Never starts a service: policy-rc.d denies it, so no daemon can touch the clock.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libyaml-dev libcriterion-dev nettle-dev gnuplot-nox
      python3-pytest python3-yaml ntpsec ntpsec-ntpdig ntpsec-ntpdate faketime tshark
      nftables iptables libnetfilter-queue-dev clang libclang-rt-14-dev libcap2-bin
      iproute2 clang-format libseccomp-dev libjansson-dev python3-jsonschema
      parallel slurm-wlm munge ntpsec-ntpviz python3-pandas go-md2man dpkg-dev)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing Debian packages: ${missing[*]}" >&2
		echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	# Installing ntpsec must not start ntpd: deny service starts for the install.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# chrony and openntpd conflict with ntpsec: unpack, never install.
dest="${1:-build/daemons}"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$dest"
	for p in chrony openntpd; do
		if [ ! -d "$dest/$p" ]; then
			(cd "$dest" && apt-get download -qq "$p" >/dev/null 2>&1 && dpkg-deb -x "${p}"_*.deb "$p" && rm -f "${p}"_*.deb) ||
				echo "install-deps: could not unpack $p (interop tests that need it will skip)" >&2
		fi
	done
fi
exit 0
