/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_conf: getting from an ntp.conf file to the ntp_conf the core wants.
 * The core parses text and resolves nothing; refd reads the file, prints
 * every diagnostic as FILE:LINE:COL, resolves host names, expands `pool`
 * lines into server associations (as ntpd does, up to REFD_POOL_MAX
 * addresses) and applies --server-port.
 */
#ifndef REFD_CONF_H
#define REFD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_conf.h"
#include "ntp_keys.h"
#include "refd_files.h"

#define REFD_CONF_FILE_MAX (1 << 20) /* bytes of ntp.conf read (ours) */
#define REFD_POOL_MAX      4 /* associations one pool line adds (ours; ntpd: up to maxclock) */

/* Read and parse path.  Every diagnostic goes to `diag`, one per line.
 * Returns a heap ntp_conf (free() it), or NULL when the file cannot be
 * read or has errors (*n_errors tells which: 0 = unreadable). */
ntp_conf *refd_conf_load(const char *path, FILE *diag, unsigned *n_errors);

/* Read and parse the leapfile at path (ntp.conf's `leapfile`, the
 * IERS/NIST leap-seconds.list) as refd_conf_load does the conf: every
 * diagnostic to `diag` as FILE:LINE:COL, a heap table (free() it), or NULL
 * when it cannot be read or has errors (a hash mismatch is one). */
struct ntp_leap_table *refd_leap_load(const char *path, FILE *diag, unsigned *n_errors);
/* Read and parse the key file `keys` names (core/ntp_keys), printing
 * every diagnostic as FILE:LINE:COL to diag.  Returns a heap
 * ntp_keys_file (free() it), or NULL: *failed false when the config names
 * no key file, or names one that cannot be read while nothing uses a key
 * (a warning: ntpd logs it and runs on, and a distribution's ntp.conf
 * names /etc/ntp/keys whether it exists or not); *failed true when the
 * file has errors, or cannot be read and an association, `trustedkey` or
 * `controlkey` needs it. */
ntp_keys_file *refd_keys_load(const ntp_conf *c, FILE *diag, bool *failed);

/* Resolve host names and expand pools in place; entries that do not
 * resolve are dropped with a log line.  server_port (0: leave 123) is set
 * on every remote association.  Returns the number of entries dropped. */
int refd_conf_resolve(ntp_conf *c, uint16_t server_port, refd_log *log);

#endif
