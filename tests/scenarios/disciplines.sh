#!/bin/sh
# CTest ntpsim/disciplines: `ntpsim disciplines` lists ntpd-kernel (the
# default) and ntpd-daemon, both with a stepout parameter.
# Usage: disciplines.sh NTPSIM
set -eu
out=$("$1" disciplines)
echo "$out"
echo "$out" | grep -q '^ntpd-kernel (default)'
echo "$out" | grep -q '^ntpd-daemon'
test "$(echo "$out" | grep -c '^  stepout ')" -eq 2
