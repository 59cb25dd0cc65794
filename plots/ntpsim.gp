# ntpsim.gp: the plots of an ntpsim run (ntpsim run --out DIR calls it).
#
#   gnuplot -e "dir='OUT'; nodes='host131 host132'; title='client-ahead'" plots/ntpsim.gp
#
# Variables (-e):
#   dir      the run's output directory (default .)
#   nodes    the traced nodes, space separated (their NODE.trace.csv)
#   title    the page title
#   overlay  optional: another run's directory with NODE.trace.csv files in the
#            same layout (realnet's real-world run); its true offset is drawn on
#            the offset panels, labelled overlay_label (default "real world")
#
# Writes (docs/outputs.md lists the columns it reads):
#   DIR/plot.png, DIR/plot.svg  every traced node on one page: signed true
#       offset (symmetric log scale), the host's own offset estimate, frequency
#       error, poll and reach, with the run's events marked
#   DIR/NODE.plot.png  one page per traced node (plots/ntpsim-node.gp): true
#       offset with the advertised error bound as a band, per-source measured
#       offsets and selection tally (NODE.sources.csv), frequency error, poll
#       and reach, and ADEV/TDEV/MTIE when NODE.stability.csv exists
if (!exists("dir")) dir = "."
if (!exists("nodes")) nodes = ""
if (!exists("title")) title = "ntpsim"
if (!exists("overlay")) overlay = ""
if (!exists("overlay_label")) overlay_label = "real world"

# This script's directory: the pages it loads live next to it.
here_pos = 0
do for [i = 1:strlen(ARG0)] {
    if (ARG0[i:i] eq "/") {
        here_pos = i
    }
}
here = here_pos > 1 ? ARG0[1:here_pos - 1] : (here_pos == 1 ? "/" : ".")

load here . "/ntpsim-lib.gp"
eval page_reset

file(n) = sprintf("%s/%s.trace.csv", dir, n)
ofile(n) = sprintf("%s/%s.trace.csv", overlay, n)
n_nodes = words(nodes)

# One pass over each trace (the largest files of a run; every stats or plot
# parses a file anew) finds what both pages need: the run's length (every
# time panel spans it), the largest |offset| and |estimate| (the overview's
# symlog labels) and, for node i's page,
#   node_max[i]   the largest |value| of its offset panel (true offset,
#                 estimate, bound: its symlog labels)
#   freq_flat[i], poll_flat[i]  the one value of its frequency error, poll
#                 column, NaN when it has several (see flat_range)
# and node_files[i], what its optional files hold (file_flags).
array node_max[n_nodes]
array freq_flat[n_nodes]
array poll_flat[n_nodes]
array node_files[n_nodes]
t_max = 1
off_max = 0
est_max = 0
do for [i = 1:n_nodes] {
    n = word(nodes, i)
    node_files[i] = file_flags(sprintf("%s/%s.sources.csv", dir, n), sprintf("%s/%s.stability.csv", dir, n), \
                               overlay ne "" ? ofile(n) : "")
    tr_off = 0
    tr_est = 0
    tr_bound = 0
    # x: the side effects, then column 5; y: column 7 (STATS_min/max_x/y)
    stats [*:*][*:*] file(n) skip 1 using (t_max = $1 > t_max ? $1 : t_max, \
                                           tr_off = abs($2) > tr_off ? abs($2) : tr_off, \
                                           tr_est = abs($3) > tr_est ? abs($3) : tr_est, \
                                           tr_bound = col_or_nan(4) > tr_bound ? col_or_nan(4) : tr_bound, $5):7 \
          nooutput
    off_max = tr_off > off_max ? tr_off : off_max
    est_max = tr_est > est_max ? tr_est : est_max
    node_max[i] = tr_off > tr_est ? tr_off : tr_est
    node_max[i] = tr_bound > node_max[i] ? tr_bound : node_max[i]
    freq_flat[i] = STATS_records > 0 && STATS_min_x == STATS_max_x ? STATS_min_x : NaN
    poll_flat[i] = STATS_records > 0 && STATS_min_y == STATS_max_y ? STATS_min_y : NaN
}
# 1 when node i's overlay file exists
has_ov(i) = int(word(node_files[i], 5))

ev_log = dir . "/events.log"
ev_log = have(ev_log) ? ev_log : ""
call here . "/ntpsim-events.gp" ev_log "*" "1"
ev_named_max = 12 # events named on the overview page (ours: more overprint each other)

# The overlay run's true offset of each node it has, dashed in the node's colour
# (as a string: gnuplot 5.4 opens the file of an empty `for [k = 1:0]` clause).
ov_plot = ""
do for [i = 1:n_nodes] {
    if (has_ov(i)) {
        ov_plot = ov_plot . sprintf(", '%s' skip 1 using 1:(symlog($2)) with lines lt %d dt 2 lw 1.5 title '%s %s'", \
                                    ofile(word(nodes, i)), i, word(nodes, i), overlay_label)
    }
}

do for [fmt in "png svg"] {
    eval page_reset
    if (fmt eq "png") {
        set terminal pngcairo size 1400,1500 font ",10"
    } else {
        set terminal svg size 1400,1500 font ",10" background "white"
    }
    set output sprintf("%s/plot.%s", dir, fmt)
    if (n_nodes > 10) {
        set key font ",8" spacing 0.9 # many nodes: a key that fits
    }
    set multiplot layout 4,1 title title noenhanced margins 0.08,0.80,0.04,0.95 spacing 0,0.06
    eval time_axis
    eval ev_arrows

    # 1. true offset, signed, symmetric log scale
    eval symlog_ytics(off_max)
    # every event named while that stays readable, else the global ones only
    eval (ev_count <= ev_named_max ? ev_labels : ev_labels_global)
    set ylabel "true offset: local - true time (s, symlog)"
    eval "plot for [i = 1:n_nodes] file(word(nodes, i)) skip 1 using 1:(symlog($2)) " . \
         "with lines lt i title word(nodes, i)" . ov_plot
    unset label

    # 2. the host's own estimate of its offset
    eval symlog_ytics(est_max)
    set ylabel "host's estimate: local - server (s, symlog)"
    plot for [i = 1:n_nodes] file(word(nodes, i)) skip 1 using 1:(symlog($3)) \
             with steps lt i title word(nodes, i)

    # 3. frequency error of the disciplined clock
    eval panel_plain
    set ylabel "frequency error (ppm)"
    plot for [i = 1:n_nodes] file(word(nodes, i)) skip 1 using 1:5 with lines lt i \
             title word(nodes, i)

    # 4. poll interval and reach register
    set ylabel "poll interval (log2 s)"
    set y2label "reach register (0-377 octal)"
    set y2range [0:256]
    set y2tics ("0" 0, "077" 63, "177" 127, "377" 255)
    plot for [i = 1:n_nodes] file(word(nodes, i)) skip 1 using 1:7 with steps lt i \
             title word(nodes, i), \
         for [i = 1:n_nodes] file(word(nodes, i)) skip 1 using 1:8 axes x1y2 \
             with steps lt i dt 3 notitle, \
         NaN with lines lc rgb "black" title "solid: poll", \
         NaN with lines lc rgb "black" dt 3 title "dotted: reach"
    unset multiplot
    unset arrow
    set output
}

do for [ni = 1:n_nodes] {
    node = word(nodes, ni)
    load here . "/ntpsim-node.gp"
}
