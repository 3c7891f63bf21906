/* tern-evidence: the simulator experiments behind docs/evidence.md.
 *   tern-evidence NAME OUTDIR [--quick] [--seed N]
 * NAME: frag, wf, censor, drain, abuse, cost, qlog. Writes CSV files to OUTDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "exp.h"

static const struct {
    const char *name;
    int (*run)(const char *out, bool quick, uint64_t seed);
    uint64_t seed;
} g_exps[] = {
    {"frag", exp_frag, 1001},   {"wf", exp_wf, 2002},     {"censor", exp_censor, 3003},
    {"drain", exp_drain, 4004}, {"abuse", exp_abuse, 5005}, {"cost", exp_cost, 6006},
    {"qlog", exp_qlog, 7007},
};

static int usage(void)
{
    fprintf(stderr, "usage: tern-evidence NAME OUTDIR [--quick] [--seed N]\nNAME:");
    for (size_t i = 0; i < sizeof g_exps / sizeof g_exps[0]; i++) fprintf(stderr, " %s", g_exps[i].name);
    fprintf(stderr, "\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) return usage();
    bool quick = false;
    long long seed = -1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = atoll(argv[++i]);
        else return usage();
    }
    for (size_t i = 0; i < sizeof g_exps / sizeof g_exps[0]; i++) {
        if (strcmp(argv[1], g_exps[i].name)) continue;
        ev_mkdir(argv[2]);
        return g_exps[i].run(argv[2], quick, seed >= 0 ? (uint64_t)seed : g_exps[i].seed);
    }
    return usage();
}
