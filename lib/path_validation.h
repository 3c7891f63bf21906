/* Path validation (RFC 9000 §8.2) as its own small object: the challenge
 * we sent on one 4-tuple, whether it is still to be sent or awaiting its
 * PATH_RESPONSE, its deadline, and what to do on success. A tuple owns at
 * most one; the migration policy (lib/migration.c) starts it and acts on
 * its outcome. */
#ifndef TERN_PATH_VALIDATION_H
#define TERN_PATH_VALIDATION_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "tern/types.h"

/* Most PATH_CHALLENGE frames per validation (§8.2.1 allows several): a
 * lost one is sent again, up to this. It also bounds what a server that
 * names a victim's address can make a client send there (§21.5). */
#define TERN_PATH_MAX_CHALLENGES 3

typedef struct tern_path_validation {
    bool pending;      /* PATH_CHALLENGE to be sent (again, if one was lost) */
    bool outstanding;  /* sent, waiting for PATH_RESPONSE (§8.2.2) */
    bool switch_on_success; /* make the path active once validated (§9.2,
                               §9.6.1; §9.6.2 when our own address is new) */
    uint8_t challenge[TERN_PATH_DATA_LEN];
    unsigned sent_count;
    tern_time sent_at;
    tern_time deadline; /* TERN_TIME_INFINITE when not validating */
} tern_path_validation;

void tern_path_validation_init(tern_path_validation *pv);
/* Starts over with a fresh challenge, to be sent now; fails at now + timeout. */
void tern_path_validation_start(tern_path_validation *pv, const uint8_t challenge[TERN_PATH_DATA_LEN], tern_time now,
                                tern_time timeout);
/* The challenge went out in a packet. */
void tern_path_validation_on_sent(tern_path_validation *pv, tern_time now);
/* The packet carrying it was declared lost: send it again (§8.2.1 allows
 * several PATH_CHALLENGE frames; one answered is enough). */
void tern_path_validation_on_lost(tern_path_validation *pv);
/* A PATH_RESPONSE arrived (on any path, §8.2.3): true when it answers this
 * validation, which then ends. */
bool tern_path_validation_on_response(tern_path_validation *pv, const uint8_t data[TERN_PATH_DATA_LEN]);
/* Ends it without success (timeout or the path was abandoned). */
void tern_path_validation_stop(tern_path_validation *pv);
bool tern_path_validation_in_progress(const tern_path_validation *pv);

#endif
