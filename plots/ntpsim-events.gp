# ntpsim-events.gp: call "ntpsim-events.gp" EVENTS_LOG NODE LT
# Sets ev_arrows and ev_labels (gnuplot commands; see ev_cmd in ntpsim-lib.gp)
# for the marked events of NODE ("*": every node) and the global ones,
# ev_labels_global with the global events' labels only, and ev_count.
# EVENTS_LOG "": the run has none (the caller asks have() once per run, not
# once per page).
ev_arrows = ""
ev_labels = ""
ev_labels_global = "" # the labels of the global events only
ev_count = 0
if (ARG1 ne "") {
    set datafile separator whitespace
    ev_lt = int(ARG3)
    ev_prev = -1
    ev_k = 0
    stats ARG1 using (ev_t = $1, ev_n = strcol(2), \
                      ev_l = ev_label(strcol(3), strcol(4), strcol(7), ev_t), \
                      (ev_l ne "" && (ARG2 eq "*" || ev_n eq ARG2 || ev_n eq "-")) ? \
                      (ev_k = ev_t == ev_prev ? ev_k + 1 : 0, ev_prev = ev_t, \
                       ev_arrows = ev_arrows . ev_cmd(ev_t, ev_n, ev_l, ev_lt), \
                       ev_labels = ev_labels . ev_lab(ev_t, ev_n, ev_l, ev_lt, ev_k), \
                       ev_labels_global = ev_labels_global . (ev_n eq "-" ? ev_lab(ev_t, ev_n, ev_l, ev_lt, ev_k) : ""), \
                       ev_count = ev_count + 1) : "", 0) \
          nooutput
    set datafile separator ","
}
