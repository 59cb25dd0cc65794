#!/usr/bin/env bash
# The Debian package, for real: build ntplab_VERSION_ARCH.deb with CPack in a
# build folder of its own (prefix /usr, as Debian installs), install it with
# dpkg into a throwaway root, and run the tools from the installed paths:
# ntpsim --version, refd --help, the demo scenario with its plots drawn by the
# installed gnuplot scripts, a program built against the installed libntpcore
# through its pkg-config file, the man pages, and the systemd unit checked by
# systemd-analyze.  Nothing is installed on this machine itself.
#
# Part of `make check`'s ctest tier (tests/CMakeLists.txt: install/package);
# by hand: tests/install/test_package.sh SOURCE_DIR PKG_BUILD_DIR
set -euo pipefail
src=$(cd "${1:?usage: test_package.sh SOURCE_DIR PKG_BUILD_DIR}" && pwd)
pkg_build=${2:?usage: test_package.sh SOURCE_DIR PKG_BUILD_DIR}

fail() {
	echo "test_package: FAIL: $*" >&2
	exit 1
}
step() { echo "-- $*"; }

skip() {
	echo "test_package: SKIPPED: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "dpkg --root needs root (make check runs as root)"
for tool in cpack dpkg-deb dpkg-shlibdeps go-md2man; do
	command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
done

root=$(mktemp -d /tmp/ntplab-root.XXXXXX)
trap 'rm -rf "$root"' EXIT

# 1. Build only what the package holds (the tests are not in it), then pack.
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack would otherwise build every
# target, the test programs included, a second time.
step "build and pack in $pkg_build"
cmake -S "$src" -B "$pkg_build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
targets=(ntpsim refd refbench ntpcore man)
grep -q '^ntpnetem:' <(cmake --build "$pkg_build" --target help | sed 's/^\.\.\. //; s/ .*//; s/$/:/') &&
	targets+=(ntpnetem)
cmake --build "$pkg_build" -j2 --target "${targets[@]}" >/dev/null
rm -f "$pkg_build"/ntplab_*.deb
(cd "$pkg_build" && cpack -G DEB >/dev/null)
deb=$(ls "$pkg_build"/ntplab_*.deb)
version=$(sed -n 's/^project(ntplab VERSION \([0-9.]*\) .*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt's project()"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version is not $version"

# 2. The control data: dependencies from dpkg-shlibdeps, refd.conf a conffile.
step "control data of $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libyaml-0-2 libnettle8 libseccomp2 libjansson4; do
	grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/ntplab/refd.conf ||
	fail "/etc/ntplab/refd.conf is not a conffile"

# 3. Install with dpkg into the throwaway root.  Its package database starts
# as a copy of this Debian 12 machine's (status and file lists), so dpkg checks
# the dependencies against real packages and our files against theirs (no
# file of another package overwritten); the files go under $root only.
step "dpkg --root $root --install"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
cp /var/lib/dpkg/status "$root/var/lib/dpkg/status"
cp /var/lib/dpkg/info/*.list "$root/var/lib/dpkg/info/"
: >"$root/var/lib/dpkg/available"
dpkg --root="$root" --log=/dev/null --install "$deb" >/dev/null
dpkg --root="$root" --status ntplab | grep -qx "Status: install ok installed" ||
	fail "dpkg does not list ntplab as installed in $root"
for f in usr/bin/ntpsim usr/sbin/refd usr/bin/refbench usr/share/ntplab/plots/ntpsim.gp \
	usr/share/ntplab/scenarios/seed/client-ahead.yaml usr/share/man/man1/ntpsim.1 \
	usr/share/man/man8/refd.8 usr/lib/systemd/system/refd.service etc/ntplab/refd.conf \
	usr/include/ntplab/ntp_host.h usr/share/doc/ntplab/LICENSE; do
	[ -e "$root/$f" ] || fail "/$f is not installed"
done

# 4. The programs, from the installed paths.
step "ntpsim --version, refd --help, refd --check-config /etc/ntplab/refd.conf"
"$root/usr/bin/ntpsim" --version | grep -q "^ntpsim (ntplab) $version, commit " ||
	fail "ntpsim --version: $("$root/usr/bin/ntpsim" --version)"
"$root/usr/sbin/refd" --version | grep -q "^refd (ntplab) $version, commit " ||
	fail "refd --version: $("$root/usr/sbin/refd" --version)"
"$root/usr/sbin/refd" --help | grep -q "^usage: refd -c FILE" || fail "refd --help"
# the configuration the package ships is one refd starts with
"$root/usr/sbin/refd" --check-config "$root/etc/ntplab/refd.conf" >/dev/null ||
	fail "refd --check-config /etc/ntplab/refd.conf"
# ntpsim finds the installed gnuplot scripts next to itself, not the source tree's
"$root/usr/bin/ntpsim" --help | grep -q "$root/usr/bin/../share/ntplab/plots" ||
	fail "ntpsim does not use the installed plots: $("$root/usr/bin/ntpsim" --help | grep -A2 plots-dir)"

step "the demo scenario from $root/usr/share/ntplab/scenarios"
out="$root/out"
env -u NTPSIM_PLOTS_DIR "$root/usr/bin/ntpsim" run \
	"$root/usr/share/ntplab/scenarios/seed/client-ahead.yaml" --out "$out" --quiet >/dev/null ||
	fail "the demo scenario did not pass its checks"
[ -s "$out/report.json" ] || fail "no report.json"
if command -v gnuplot >/dev/null; then
	ls "$out"/*.png >/dev/null 2>&1 || fail "no plots drawn by the installed scripts"
fi

# 5. libntpcore for other programs, through its pkg-config file.
step "a program against the installed libntpcore (pkg-config ntpcore)"
pc_dir=$(dirname "$(find "$root/usr/lib" -name ntpcore.pc)")
flags=$(PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$pc_dir:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig" \
	pkg-config --static --cflags --libs ntpcore)
cat >"$root/prog.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "ntp_pkt.h"
int main(void)
{
	uint8_t buf[48] = {0x23}; /* LI 0, version 4, mode 3 */
	ntp_pkt p;
	memset(&p, 0, sizeof(p));
	ntp_pkt_err e;
	int rc = ntp_pkt_decode(buf, sizeof(buf), &p, &e);
	printf("%d %u %s\n", rc, p.version, ntp_pkt_mode_name(p.mode));
	return 0;
}
EOF
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -o "$root/prog" "$root/prog.c" $flags
[ "$("$root/prog")" = "0 4 client" ] || fail "the libntpcore program printed: $("$root/prog")"

# 6. Man pages and the systemd unit.
step "man pages, systemd unit"
for page in man1/ntpsim.1 man8/refd.8; do
	name=$(basename "$page" | sed 's/\..*//')
	MANWIDTH=200 man -l "$root/usr/share/man/$page" 2>/dev/null | grep -qi "^NAME" ||
		fail "$page has no NAME section"
	head -3 "$root/usr/share/man/$page" | grep -q "^\.TH \"${name^^}\" \"" || fail "$page: no .TH"
done
if command -v systemd-analyze >/dev/null; then
	# verified as this machine's systemd would load it, with ExecStart pointing
	# into the root (its Documentation= page is checked above, not by man)
	mkdir "$root/unit"
	sed "s#=/usr/sbin/refd #=$root/usr/sbin/refd #" "$root/usr/lib/systemd/system/refd.service" \
		>"$root/unit/refd.service"
	grep -q "^ExecStart=$root/usr/sbin/refd " "$root/unit/refd.service" || fail "refd.service: no ExecStart"
	sa=$(systemd-analyze verify --man=no "$root/unit/refd.service" 2>&1) ||
		fail "systemd-analyze verify refd.service: $sa"
	grep -q "^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$" "$root/usr/lib/systemd/system/refd.service" ||
		fail "refd.service grants more than CAP_NET_BIND_SERVICE"
fi

# 7. Removal leaves nothing of ours but the conffile (dpkg -r keeps it).
step "dpkg --remove"
dpkg --root="$root" --log=/dev/null --remove ntplab >/dev/null
[ ! -e "$root/usr/bin/ntpsim" ] || fail "ntpsim still there after dpkg --remove"
[ -e "$root/etc/ntplab/refd.conf" ] || fail "dpkg --remove dropped the conffile"
echo "test_package: ok ($(basename "$deb"), $(du -k "$deb" | cut -f1) KiB)"
