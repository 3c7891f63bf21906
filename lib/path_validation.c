/* Path validation (RFC 9000 §8.2). */
#include "path_validation.h"

#include <string.h>

void tern_path_validation_init(tern_path_validation *pv)
{
    memset(pv, 0, sizeof *pv);
    pv->deadline = TERN_TIME_INFINITE;
}

void tern_path_validation_start(tern_path_validation *pv, const uint8_t challenge[TERN_PATH_DATA_LEN], tern_time now,
                                tern_time timeout)
{
    memcpy(pv->challenge, challenge, TERN_PATH_DATA_LEN);
    pv->pending = true;
    pv->outstanding = false;
    pv->sent_count = 0;
    pv->deadline = now + timeout;
}

void tern_path_validation_on_sent(tern_path_validation *pv, tern_time now)
{
    pv->pending = false;
    pv->outstanding = true;
    pv->sent_at = now;
    pv->sent_count++;
}

void tern_path_validation_on_lost(tern_path_validation *pv)
{
    if (pv->outstanding && pv->sent_count < TERN_PATH_MAX_CHALLENGES) pv->pending = true;
}

bool tern_path_validation_on_response(tern_path_validation *pv, const uint8_t data[TERN_PATH_DATA_LEN])
{
    if (!pv->outstanding && !pv->pending) return false;
    if (memcmp(pv->challenge, data, TERN_PATH_DATA_LEN) != 0) return false;
    pv->pending = pv->outstanding = false;
    pv->deadline = TERN_TIME_INFINITE;
    return true;
}

void tern_path_validation_stop(tern_path_validation *pv)
{
    pv->pending = pv->outstanding = false;
    pv->switch_on_success = false;
    pv->deadline = TERN_TIME_INFINITE;
}

bool tern_path_validation_in_progress(const tern_path_validation *pv) { return pv->pending || pv->outstanding; }
