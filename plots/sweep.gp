# sweep.gp: one node's key metrics over an ntpsim sweep, a box per setting.
#
#   gnuplot -e "dir='OUT/plots'; node='client'; metrics='offset_rms sync_time'; \
#               logs='1 0'; settings=2; xt='(\"s0: regress\" 0, \"s1: ntpd-kernel\" 1)'" \
#           plots/sweep.gp
#
# ntpsim sweep runs it per node (docs/sweep.md).  Reads OUT/plots/values.csv
# (setting,node,metric,value: one row per run and metric of interest) and
# writes OUT/plots/sweep-NODE.png: one panel per metric, one box per setting
# (box: quartiles and median; whiskers: 1.5 x the interquartile range;
# points: runs beyond them).  logs: per metric, 1 = log scale (all values > 0).
if (!exists("dir")) dir = "."
if (!exists("node")) node = "client"
if (!exists("metrics")) metrics = "offset_rms"
if (!exists("logs")) logs = "1"
if (!exists("settings")) settings = 1
if (!exists("xt")) xt = "autofreq"

set datafile separator ","
set datafile nofpe_trap # float arithmetic only: no SIGFPE handler per row (half the time)
file = sprintf("%s/values.csv", dir)
n = words(metrics)
cols = n > 6 ? 4 : (n > 2 ? 3 : n)
rows = (n + cols - 1) / cols

set terminal pngcairo size 400 * cols, 320 * rows + 40 font ",9" noenhanced
set output sprintf("%s/sweep-%s.png", dir, node)
set multiplot layout rows, cols title sprintf("%s: one box per setting (%d)", node, settings)
set style data boxplot
set style boxplot outliers pointtype 7
set pointsize 0.4
set style fill solid 0.3 border
set boxwidth 0.5
set xrange [-0.6:settings - 0.4]
eval("set xtics ".xt." rotate by -15 font \",8\"")
set grid ytics
unset key
do for [i = 1:n] {
    m = word(metrics, i)
    if (word(logs, i) eq "1") {
        set logscale y
        set format y "%.0e"
    } else {
        unset logscale y
        set format y "%g"
    }
    set title m
    plot for [k = 0:settings - 1] file skip 1 \
         using (k):((strcol(2) eq node && strcol(3) eq m && $1 == k) ? $4 : NaN)
}
unset multiplot
