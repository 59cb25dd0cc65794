/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_gauss: fast standard normal deviates for the simulator's noise
 * sources (oscillator wander, read noise), by the ziggurat method of
 * Marsaglia and Tsang (J. Stat. Softw. 5(8), 2000) with 128 layers, in
 * Doornik's double-precision form (ZIGNOR, 2005).  About 99% of draws cost
 * one 64-bit random number and a multiply; the rest take the exact
 * rejection step or the tail.  Deterministic: the draws are a pure
 * function of the ntp_rand stream.
 */
#ifndef SIM_GAUSS_H
#define SIM_GAUSS_H

#include "ntp_rand.h"

/* One N(0, 1) deviate. */
double sim_gauss(ntp_rand *r);

#endif
