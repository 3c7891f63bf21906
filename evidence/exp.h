/* The experiments of tern-evidence (docs/evidence.md). Each writes CSV
 * files to out; quick: the small version for make check. */
#ifndef TERN_EVIDENCE_EXP_H
#define TERN_EVIDENCE_EXP_H

#include <stdbool.h>
#include <stdint.h>

int exp_frag(const char *out, bool quick, uint64_t seed);
int exp_wf(const char *out, bool quick, uint64_t seed);
int exp_censor(const char *out, bool quick, uint64_t seed);
int exp_drain(const char *out, bool quick, uint64_t seed);
int exp_abuse(const char *out, bool quick, uint64_t seed);
int exp_cost(const char *out, bool quick, uint64_t seed);
int exp_qlog(const char *out, bool quick, uint64_t seed);

#endif
