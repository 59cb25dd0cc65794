# ntpsim.gp: one page per run with every traced node of an ntpsim run.
#
#   gnuplot -e "dir='OUT'; nodes='host131 host132'; title='client-ahead'" plots/ntpsim.gp
#
# Reads OUT/NODE.trace.csv (columns: t, offset, est_offset, bound, freq_err_ppm,
# freq_ppm, poll, reach, ...) and writes OUT/plot.png and OUT/plot.svg:
#   1. |true offset| (local clock - true time; only a simulator knows it)
#   2. the host's advertised error bound (root distance) against its true error
#   3. the host's own offset estimate (local - server)
#   4. true frequency error of the disciplined clock (ppm)
#   5. poll interval (log2 s) and reach register of the system peer
if (!exists("dir")) dir = "."
if (!exists("nodes")) nodes = ""
if (!exists("title")) title = "ntpsim"

set datafile separator ","
floor_s = 1e-9
clip(x) = abs(x) < floor_s ? floor_s : abs(x)
file(n) = sprintf("%s/%s.trace.csv", dir, n)

do for [fmt in "png svg"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1200,1700 font ",10"
    } else {
        set terminal svg size 1200,1700 font ",10" background "white"
    }
    set output sprintf("%s/plot.%s", dir, fmt)
    set multiplot layout 5,1 title title
    set grid
    set key outside right top
    set xlabel "time since start (s)"

    set logscale y
    set format y "%.0e"
    set ylabel "|true offset| (s)"
    plot for [n in nodes] file(n) skip 1 using 1:(clip($2)) with lines title n

    set ylabel "s"
    plot for [n in nodes] file(n) skip 1 using 1:(clip($4)) with lines title n." bound", \
         for [n in nodes] file(n) skip 1 using 1:(clip($2)) with points pt 7 ps 0.2 title n." |true|"

    unset logscale y
    set format y "%g"
    set ylabel "estimated offset (s)"
    plot for [n in nodes] file(n) skip 1 using 1:3 with steps title n

    set ylabel "freq error (ppm)"
    plot for [n in nodes] file(n) skip 1 using 1:5 with lines title n

    set ylabel "poll (log2 s) / reach"
    set y2label "reach (0-255)"
    set y2range [0:256]
    set y2tics 0,64,256
    plot for [n in nodes] file(n) skip 1 using 1:7 with steps title n." poll", \
         for [n in nodes] file(n) skip 1 using 1:8 axes x1y2 with steps dt 2 title n." reach"
    unset y2label
    unset y2tics
    unset multiplot
    set output
}
