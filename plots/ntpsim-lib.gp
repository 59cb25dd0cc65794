# ntpsim-lib.gp: what the ntpsim plot pages share (loaded by ntpsim.gp).
#
# Symmetric log scale for signed times: y' = sgn(y) * log10(1 + |y| / L).
# Below L it is linear, above it each decade takes the same height, so a
# 100 ms transient and a 20 us steady state are both readable on one axis,
# and the sign (ahead / behind) is kept.

symlog_L = 1e-6 # s: 1 us, below the steady-state error of a simulated LAN host (tens of us)
symlog(y) = (y != y) ? NaN : sgn(y) * log10(1.0 + abs(y) / symlog_L)

# "10 ms", "1 us", "100 s": a decade of seconds in words, for tic labels.
si_s(v) = v >= 1.0 ? sprintf("%g s", v) : v >= 1e-3 ? sprintf("%g ms", v * 1e3) : \
          v >= 1e-6 ? sprintf("%g µs", v * 1e6) : sprintf("%g ns", v * 1e9)

# `eval symlog_ytics(MAX)`: ytics at every decade from 1 us to 1e6 s both
# ways, labelled in real units, minor tics at 2..9 of each decade; MAX (s),
# the data's largest |value|, thins the labels (below).
symlog_tics_min = -6 # log10 s of the smallest labelled decade (1 us = L)
symlog_tics_max = 6  # log10 s of the largest (1e6 s, 11 days: a badly set clock)
symlog_fine = "set ytics (\"0\" 0); "
symlog_coarse = symlog_fine
symlog_sparse = symlog_fine
do for [d = symlog_tics_min:symlog_tics_max] {
    symlog_v = 10.0**d
    symlog_major = sprintf("set ytics add (\"%s\" %.6f, \"-%s\" %.6f); ", \
                           si_s(symlog_v), symlog(symlog_v), si_s(symlog_v), symlog(-symlog_v))
    symlog_bare = sprintf("set ytics add (\"\" %.6f, \"\" %.6f); ", symlog(symlog_v), symlog(-symlog_v))
    symlog_minor = ""
    do for [m = 2:9] {
        symlog_minor = symlog_minor . sprintf("set ytics add (\"\" %.6f 1, \"\" %.6f 1); ", \
                       symlog(m * symlog_v), symlog(-m * symlog_v))
    }
    symlog_fine = symlog_fine . symlog_major . symlog_minor
    symlog_coarse = symlog_coarse . (d == symlog_tics_min ? symlog_bare : symlog_major) . symlog_minor
    symlog_sparse = symlog_sparse . (d % 2 != 0 && d >= -3 ? symlog_major : symlog_bare)
}
# All decades labelled up to 1 ms; from 10 us up to 10 s; beyond that
# (more than 7 decades each way) every other decade from 1 ms (1 ms, 100 ms,
# 10 s, ...: the small ones would overprint 0), without minor tics.
# All zero (a server on its local clock): +-1 (about +-10 us) instead of
# gnuplot's "empty y range" warning.
symlog_ytics(max) = (max > 10 ? symlog_sparse : max > 1e-3 ? symlog_coarse : symlog_fine) . \
        "set offsets 0, 0, graph 0.06, graph 0.06; set format y '%g'; " . \
        (max > 0 ? "set autoscale y" : "set yrange [-1:1]")

# Column c, or NaN when its field is empty (the trace's bound while the host
# claims no sync, a missing stability value).  Through a function, so a
# `using` expression does not drop the whole row for the empty field.
col_or_nan(c) = valid(c) ? column(c) : NaN

# Back to a clean page (no axis setting of the previous page or panel left)
# in the style every page shares.  nofpe_trap: else gnuplot arms and disarms
# a SIGFPE handler around every `using` expression of every row, two
# syscalls each and half the plot time; the expressions here do float
# arithmetic only, which does not trap.
page_reset = "reset; set encoding utf8; set micro; set datafile separator ','; set datafile nofpe_trap; " . \
             "set grid; set key outside right top noenhanced"
# A plain linear panel after a symlog or two-axis one.
panel_plain = "unset y2tics; unset y2label; set ytics autofreq; set mytics default; " . \
              "set format y '%g'; set autoscale y; set offsets 0, 0, 0, 0"

# Does a file exist?  (gnuplot 5.4 has no test of its own.)
have(f) = int(system(sprintf("test -r '%s' && echo 1 || echo 0", f)))
# What a node page needs to know of its optional files, in one shell (each
# system() is one): "R A T M O", R 1 when sources file s has a row under its
# header; A, T, M 1 when stability file st has a value > 0 in its ADEV, TDEV,
# MTIE column (what a log axis can draw: a perfect clock's stability is all
# zeros); O 1 when file ov exists ("": none).  A missing file: 0s.
file_flags(s, st, ov) = system(sprintf("awk -F, 'BEGIN { " . \
    "while (r < 2 && (getline l < ARGV[1]) > 0) r++; " . \
    "while ((getline l < ARGV[2]) > 0) if (k++ > 0) { split(l, f); " . \
    "for (c = 2; c <= 4; c++) if (f[c] != \"\" && f[c] + 0 > 0) p[c] = 1 } " . \
    "o = (getline l < ARGV[3]) >= 0; h = r > 1; print h, p[2] + 0, p[3] + 0, p[4] + 0, o }' " . \
    "'%s' '%s' '%s'", s, st, ov))
pos_or_nan(c) = valid(c) && column(c) > 0 ? column(c) : NaN

# The time axis every panel of a page shares (s since the run's start).
time_axis = "set xlabel 'time since start (s)'; set xrange [0:t_max]; set format x '%g'"

# --- event markers ----------------------------------------------------------
# events.log lines: "t node what detail..." ('#': comment).  Marked: clock
# steps, daemon stop/start/exit, faults, and the scenario's events
# (firewall on/off, partition, heal, link change, external step, frequency
# change); the daemon's own start at t = 0 is not marked (every run has it).
ev_label(w, d, d6, t) = \
        w eq "clock_step" ? "step" : \
        w eq "panic_stop" ? "panic stop" : \
        w eq "daemon" ? (t > 0 ? d : "") : \
        w eq "fault" ? "fault" : \
        w ne "scenario" ? "" : \
        d eq "firewall" ? "firewall ".d6 : \
        d eq "network" ? "partition" : \
        d eq "partition" ? "healed" : \
        d eq "link" ? "link change" : \
        d eq "clock" ? "external step" : \
        d eq "oscillator" ? "freq change" : d
ev_color(l) = (l eq "step" || l eq "external step") ? "#d7191c" : \
        l eq "fault" ? "#c51b7d" : \
        (l[1:8] eq "firewall" || l eq "partition" || l eq "healed" || l eq "link change") ? "#e66101" : \
        l eq "freq change" ? "#8c510a" : "#000000"

# ev_collect(FILE, NODE, LT): fills ev_arrows (vertical lines, for every
# panel) and ev_labels (the words, for a page's top panel) with gnuplot
# commands for the events of NODE and the global ones ("-").  NODE "*":
# every node's, each drawn in linetype LT + its node's position in `nodes`
# (the overview page); LT 0: coloured by kind.
ev_pos(n) = sum [i = 1:words(nodes)] (word(nodes, i) eq n ? i : 0)
ev_cmd(t, n, l, lt) = (lt > 0 && n ne "-") ? \
        sprintf("set arrow from %.6f, graph 0 to %.6f, graph 1 nohead front lt %d dt 2 lw 1.2; ", \
                t, t, lt - 1 + ev_pos(n)) : \
        sprintf("set arrow from %.6f, graph 0 to %.6f, graph 1 nohead front lc rgb '%s' dt 2 lw 1.2; ", \
                t, t, ev_color(l))
# k: how many marked events came before at the same time; each is moved a
# character to the right so the words do not overprint.
ev_lab(t, n, l, lt, k) = sprintf("set label \"%s\" at %.6f, graph 0.98 right rotate by 90 front noenhanced font ',8' tc rgb '%s' offset character %d, 0; ", \
        (lt > 0 && n ne "-") ? n.": ".l : l, t, (lt > 0 && n ne "-") ? "#333333" : ev_color(l), k)

# eval before plotting a column alone on its y axis; v: its one value when
# it has only one (a server's zero frequency error, a fixed poll), else NaN
# (ntpsim.gp's pass over the traces finds it).  A flat column gets the range
# v +-1 instead of gnuplot's "empty y range" warning; else autoscale.
flat_range(v) = v == v ? sprintf("set yrange [%.17g:%.17g]", v - 1, v + 1) : "set autoscale y"
