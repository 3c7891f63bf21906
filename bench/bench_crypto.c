/* Packet protection cost per 1350-byte packet, for each crypto backend and
 * each AEAD: protect (AEAD seal + header-protection mask, tern_pp_protect)
 * and unprotect (mask removal + AEAD open, tern_pp_unprotect), plus the raw
 * primitives for reference.
 *
 * Usage: bench_crypto [iterations-per-batch [batches]]
 * Each case runs `batches` timed batches (after one warm-up batch) and
 * prints the fastest and the median batch in ns per packet; the machine may
 * be shared, so the minimum is the figure least disturbed by other load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "packet_protection.h"

#define PACKET_SIZE 1350
#define PN_OFFSET 9 /* short header: first byte + 8-byte DCID */
#define PN_LEN 4
#define HEADER_LEN (PN_OFFSET + PN_LEN)
#define PAYLOAD_LEN (PACKET_SIZE - HEADER_LEN - TERN_AEAD_TAG_LEN)
#define MAX_BATCHES 64

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_header(uint8_t *packet)
{
    packet[0] = 0x40 | (PN_LEN - 1);
    for (size_t i = 1; i < PN_OFFSET; i++)
        packet[i] = (uint8_t)(0xc0 + i);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fail(const char *what, tern_err err)
{
    fprintf(stderr, "bench_crypto: %s failed: %s (0x%x)\n", what, tern_err_name(err), (unsigned)err);
    exit(1);
}

enum op { OP_PROTECT, OP_UNPROTECT, OP_SEAL_ONLY, OP_OPEN_ONLY, OP_HP_MASK_ONLY, OP_COPY };
static const char *const op_names[] = {"protect (seal+hp)", "unprotect (hp+open)", "aead seal only",
                                       "aead open only", "hp mask only", "memcpy 1350 (baseline)"};

typedef struct bench_state {
    tern_packet_protection send, recv;
    uint8_t original[PACKET_SIZE]; /* a valid protected packet */
    uint8_t work[PACKET_SIZE + 64];
    uint8_t nonce[TERN_AEAD_NONCE_LEN];
    uint64_t pn;
    unsigned sink;
} bench_state;

/* One operation on one packet. Unprotect and open work on a copy of a valid
 * packet (they consume it in place), so they include a 1350-byte memcpy; the
 * memcpy baseline row shows its cost. */
static void run_once(bench_state *st, enum op op)
{
    tern_err err = TERN_OK;
    size_t packet_len = 0;
    tern_unprotected un;
    uint8_t mask[TERN_HP_MASK_LEN];

    switch (op) {
    case OP_PROTECT:
        write_header(st->work);
        err = tern_pp_protect(&st->send, st->work, sizeof st->work, HEADER_LEN, PN_OFFSET, PN_LEN,
                              st->pn++, PAYLOAD_LEN, &packet_len);
        st->sink += st->work[PACKET_SIZE - 1];
        break;
    case OP_UNPROTECT:
        memcpy(st->work, st->original, PACKET_SIZE);
        err = tern_pp_unprotect(&st->recv, st->work, PACKET_SIZE, PN_OFFSET, 0, &un);
        st->sink += un.payload[0];
        break;
    case OP_SEAL_ONLY:
        st->nonce[11]++;
        err = st->send.backend->aead_seal(st->send.aead, st->nonce, st->work, HEADER_LEN,
                                          st->work + HEADER_LEN, PAYLOAD_LEN);
        st->sink += st->work[PACKET_SIZE - 1];
        break;
    case OP_OPEN_ONLY:
        /* original was sealed with pn 0 under the unmodified header. */
        memcpy(st->work, st->original, PACKET_SIZE);
        write_header(st->work);
        memset(st->work + PN_OFFSET, 0, PN_LEN);
        err = st->recv.backend->aead_open(st->recv.aead, st->recv.iv, st->work, HEADER_LEN,
                                          st->work + HEADER_LEN, PAYLOAD_LEN);
        st->sink += st->work[HEADER_LEN];
        break;
    case OP_HP_MASK_ONLY:
        st->work[PN_OFFSET + 4]++;
        err = st->send.backend->hp_mask(st->send.hp, st->work + PN_OFFSET + 4, mask);
        st->sink += mask[0];
        break;
    case OP_COPY:
        memcpy(st->work, st->original, PACKET_SIZE);
        st->sink += st->work[st->sink % PACKET_SIZE];
        break;
    }
    if (err != TERN_OK)
        fail(op_names[op], err);
}

static void bench_case(const tern_crypto_backend *backend, tern_aead_alg alg, const char *alg_name,
                       enum op op, long iterations, int batches)
{
    bench_state *st = calloc(1, sizeof *st);
    uint8_t secret[TERN_HASH_MAX_LEN];
    size_t secret_len = tern_hash_len(tern_aead_hash(alg));
    double ns[MAX_BATCHES];
    tern_err err;
    size_t packet_len = 0;

    if (st == NULL)
        fail("calloc", TERN_ERR_NOMEM);
    for (size_t i = 0; i < secret_len; i++)
        secret[i] = (uint8_t)(i * 13 + 1);
    if ((err = tern_pp_init(&st->send, backend, alg, secret, secret_len)) != TERN_OK)
        fail("tern_pp_init", err);
    if ((err = tern_pp_init(&st->recv, backend, alg, secret, secret_len)) != TERN_OK)
        fail("tern_pp_init", err);
    /* The contexts are used directly below, not through tern_pp_protect. */
    if ((err = tern_pp_ensure(&st->send)) != TERN_OK || (err = tern_pp_ensure(&st->recv)) != TERN_OK)
        fail("tern_pp_ensure", err);
    memcpy(st->nonce, st->send.iv, sizeof st->nonce);

    /* A valid packet with pn 0 to unprotect: short header, payload of
     * PADDING-like bytes. */
    write_header(st->original);
    for (size_t i = HEADER_LEN; i < HEADER_LEN + PAYLOAD_LEN; i++)
        st->original[i] = (uint8_t)i;
    uint8_t tmp[PACKET_SIZE];
    memcpy(tmp, st->original, HEADER_LEN + PAYLOAD_LEN);
    if ((err = tern_pp_protect(&st->send, tmp, sizeof tmp, HEADER_LEN, PN_OFFSET, PN_LEN, 0,
                               PAYLOAD_LEN, &packet_len)) != TERN_OK)
        fail("tern_pp_protect", err);
    memcpy(st->original, tmp, PACKET_SIZE);
    memcpy(st->work, st->original, PACKET_SIZE);

    for (long i = 0; i < iterations; i++) /* warm-up */
        run_once(st, op);
    for (int b = 0; b < batches; b++) {
        uint64_t start = now_ns();
        for (long i = 0; i < iterations; i++)
            run_once(st, op);
        ns[b] = (double)(now_ns() - start) / (double)iterations;
    }
    qsort(ns, (size_t)batches, sizeof ns[0], compare_double);
    double best = ns[0], median = ns[batches / 2];
    printf("%-8s %-18s %-24s %9.1f %9.1f %8.2f\n", backend->name, alg_name, op_names[op], best,
           median, PACKET_SIZE * 8.0 / best);
    if (st->sink == 0xdeadbeef)
        printf(" ");
    tern_pp_clear(&st->send);
    tern_pp_clear(&st->recv);
    free(st);
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 100000;
    int batches = argc > 2 ? atoi(argv[2]) : 7;
    static const struct {
        tern_aead_alg alg;
        const char *name;
    } algs[] = {
        {TERN_AEAD_AES_128_GCM, "AES-128-GCM"},
        {TERN_AEAD_AES_256_GCM, "AES-256-GCM"},
        {TERN_AEAD_CHACHA20_POLY1305, "ChaCha20-Poly1305"},
    };
    const tern_crypto_backend *backends[] = {&tern_crypto_backend_gnutls,
                                             &tern_crypto_backend_openssl};

    if (iterations <= 0 || batches <= 0 || batches > MAX_BATCHES) {
        fprintf(stderr, "usage: %s [iterations-per-batch [batches (1..%d)]]\n", argv[0], MAX_BATCHES);
        return 2;
    }
    printf("# %d-byte packets, %ld iterations x %d batches per case; ns/packet\n", PACKET_SIZE,
           iterations, batches);
    printf("%-8s %-18s %-24s %9s %9s %8s\n", "backend", "aead", "operation", "min", "median",
           "Gbit/s");
    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++)
        for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
            for (int op = OP_PROTECT; op <= OP_COPY; op++) {
                if (op == OP_COPY && (a != 0 || b != 0))
                    continue;
                bench_case(backends[b], algs[a].alg, algs[a].name, (enum op)op, iterations, batches);
            }
    return 0;
}
