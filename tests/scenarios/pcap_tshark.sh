#!/bin/sh
# CTest ntpsim/pcap-tshark: the seed incident's capture decodes in tshark,
# more than 10 NTP packets and none malformed.
# Usage: pcap_tshark.sh NTPSIM SCENARIO.yaml OUT.pcap TSHARK
set -eu
ntpsim=$1 scenario=$2 pcap=$3 tshark=$4
"$ntpsim" run "$scenario" --pcap "$pcap" --no-plots --quiet >/dev/null
bad=$("$tshark" -r "$pcap" -Y _ws.malformed 2>/dev/null)
test -z "$bad"
test "$("$tshark" -r "$pcap" -Y ntp 2>/dev/null | wc -l)" -gt 10
