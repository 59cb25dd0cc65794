# ntpsim-node.gp: one node's page, DIR/NODE.plot.png (loaded by ntpsim.gp
# with node, its position ni in nodes, dir, here, t_max, overlay, ev_log,
# ntpsim-lib.gp's functions and the per-node results of ntpsim.gp's pass over
# the traces set: node_max, freq_flat, poll_flat, node_files).
#
# Panels, each time panel with the events of this node and the global ones:
#   1. true offset (local - true time), signed, symmetric log scale, with the
#      advertised error bound (root distance) as a band around 0 while the
#      host claims to be synchronised; the host's own estimate (local -
#      server); the overlay run's true offset when overlay is set
#   2. every source's measured offset per clock-filter sample (local -
#      source, the negated peerstats offset), bars +-delay/2 (NODE.sources.csv)
#   3. every source's selection tally at each sample, coloured
#   4. frequency error (ppm)
#   5. poll interval and reach
#   6. ADEV, TDEV and MTIE over tau, log-log (NODE.stability.csv), if present

eval page_reset
nfile = sprintf("%s/%s.trace.csv", dir, node)
sfile = sprintf("%s/%s.sources.csv", dir, node)
stfile = sprintf("%s/%s.stability.csv", dir, node)
ovfile = sprintf("%s/%s.trace.csv", overlay, node)

# The sources it sampled, in order of first sample (column 2 of sources.csv),
# and the largest |value| of the measured offset panel (it chooses the symlog labels).
srcs = " "
src_max = 0
if (int(word(node_files[ni], 1))) {
    stats sfile skip 1 using (src_s = strcol(2), \
                              strstrt(srcs, " " . src_s . " ") == 0 ? srcs = srcs . src_s . " " : "", \
                              src_max = abs($3) + $4 / 2 > src_max ? abs($3) + $4 / 2 : src_max, 0) \
          nooutput
}
n_srcs = words(srcs)
# Each 1 when the statistic has a value a log axis can draw (file_flags).
st_adev = int(word(node_files[ni], 2))
st_tdev = int(word(node_files[ni], 3))
st_mtie = int(word(node_files[ni], 4))
has_stab = st_adev || st_tdev || st_mtie
n_panels = 3 + (n_srcs > 0 ? 2 : 0) + (has_stab ? 1 : 0)

call here . "/ntpsim-events.gp" ev_log node "0"

# Selection tally colours (tally word of sources.csv column 8).
tally_rgb(s) = s eq "sys_peer" ? 0x1a9641 : s eq "candidate" ? 0x2b83ba : \
               s eq "backup" ? 0x80cdc1 : s eq "outlier" ? 0xfdae61 : \
               s eq "falseticker" ? 0xd7191c : s eq "excess" ? 0x9970ab : 0x999999

set terminal pngcairo size 1400,(330 * n_panels + 90) font ",10"
set output sprintf("%s/%s.plot.png", dir, node)
set multiplot layout n_panels,1 title sprintf("%s: %s", title, node) noenhanced \
    margins 0.08,0.80,0.03,(1 - 50.0 / (330 * n_panels + 90)) spacing 0,(60.0 / (330 * n_panels + 90))
eval time_axis
eval ev_arrows

# 1. true offset and the error bound the host advertises
eval symlog_ytics(node_max[ni])
eval ev_labels
set ylabel "offset (s, symlog)"
set style fill transparent solid 0.25 noborder
ov_plot = has_ov(ni) ? sprintf(", '%s' skip 1 using 1:(symlog($2)) with lines lc rgb '#d95f02' lw 1.5 title '%s'", \
                               ovfile, overlay_label . ": local - true") : ""
eval "plot nfile skip 1 using 1:(symlog(-col_or_nan(4))):(symlog(col_or_nan(4))) with filledcurves " . \
     "lc rgb '#66c2a5' title '±bound (root distance)', " . \
     "nfile skip 1 using 1:(symlog($2)) with lines lc rgb '#253494' lw 1.2 title 'true: local - true', " . \
     "nfile skip 1 using 1:(symlog($3)) with steps lc rgb '#7570b3' dt 2 title \"estimate: local - server\"" . ov_plot
unset label

if (n_srcs > 0) {
    # 2. measured offset per source
    eval symlog_ytics(src_max)
    set ylabel "measured offset: local - source (s, symlog)"
    plot for [i = 1:n_srcs] sfile skip 1 \
             using 1:(strcol(2) eq word(srcs, i) ? symlog(-$3) : NaN):(symlog(-$3 - $4 / 2)):(symlog(-$3 + $4 / 2)) \
             with yerrorbars lt i lw 0.5 pt 7 ps 0.3 notitle, \
         for [i = 1:n_srcs] sfile skip 1 using 1:(strcol(2) eq word(srcs, i) ? symlog(-$3) : NaN) \
             with points lt i pt 7 ps 0.6 title word(srcs, i), \
         NaN with lines lc rgb "#ffffff" title "bars: ±delay/2"

    # 3. selection tally per source, one tick per sample
    # the source names inside the strip (an IPv6 address is wider than a margin)
    set offsets 0, 0, 0, 0
    unset ytics
    do for [i = 1:n_srcs] {
        set label word(srcs, i) at graph 0.005, first i + 0.38 left front noenhanced font ",8"
    }
    set yrange [0.4:n_srcs + 0.6]
    set ylabel "selection tally per source"
    plot for [i = 1:n_srcs] sfile skip 1 \
             using 1:(strcol(2) eq word(srcs, i) ? i - 0.35 : NaN):(0):(0.7):(tally_rgb(strcol(8))) \
             with vectors nohead lw 2 lc rgb variable notitle, \
         NaN with boxes fs solid lc rgb "#1a9641" title "* sys_peer", \
         NaN with boxes fs solid lc rgb "#2b83ba" title "+ candidate", \
         NaN with boxes fs solid lc rgb "#80cdc1" title "# backup", \
         NaN with boxes fs solid lc rgb "#fdae61" title "- outlier", \
         NaN with boxes fs solid lc rgb "#d7191c" title "x falseticker", \
         NaN with boxes fs solid lc rgb "#999999" title "  reject"
    unset label
    set autoscale y
}

# 4. frequency error
eval panel_plain
set ylabel "frequency error (ppm)"
eval flat_range(freq_flat[ni])
plot nfile skip 1 using 1:5 with lines lc rgb "#253494" title "true frequency error"

# 5. poll and reach
set ylabel "poll interval (log2 s)"
set y2label "reach register (octal)"
set y2range [0:256]
set y2tics ("0" 0, "077" 63, "177" 127, "377" 255)
eval flat_range(poll_flat[ni])
plot nfile skip 1 using 1:7 with steps lc rgb "#253494" title "poll", \
     nfile skip 1 using 1:8 axes x1y2 with steps lc rgb "#d95f02" dt 3 title "reach"
unset y2tics
unset y2label
unset arrow

if (has_stab) {
    # 6. stability over tau (tau,adev,tdev,mtie; an empty field: no value)
    set logscale xy
    set logscale y2
    set xrange [*:*]
    set xlabel "tau (s)"
    set format x "10^{%T}"
    set format y "10^{%T}"
    set format y2 "%.0s %cs"
    set ylabel "ADEV (dimensionless, s/s)"
    set y2label "TDEV, MTIE (s)"
    set ytics autofreq
    set y2tics autofreq
    set autoscale y2
    # Only the statistics with a value > 0 (a log axis cannot draw 0, and
    # gnuplot stops on a plot with no point at all).
    # (A plot's optional curves are built as a string: gnuplot 5.4 reads the
    # data of an empty `for [k = 1:0]` clause all the same.)
    sp = ""
    if (st_adev) { sp = sp . "stfile skip 1 using 1:(pos_or_nan(2)) with linespoints lc rgb '#253494' pt 7 title 'ADEV (left axis)', " }
    if (st_tdev) { sp = sp . "stfile skip 1 using 1:(pos_or_nan(3)) axes x1y2 with linespoints lc rgb '#1a9641' pt 5 title 'TDEV (right axis)', " }
    if (st_mtie) { sp = sp . "stfile skip 1 using 1:(pos_or_nan(4)) axes x1y2 with linespoints lc rgb '#d7191c' pt 9 title 'MTIE (right axis)', " }
    eval "plot " . sp[1:strlen(sp) - 2]
    unset logscale
    unset y2tics
    unset y2label
}
unset multiplot
set output
