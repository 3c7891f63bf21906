#include "exp.h"
int exp_wf(const char *out, bool quick, uint64_t seed) { (void)out, (void)quick, (void)seed; return 1; }
