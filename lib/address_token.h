/* Address validation tokens (RFC 9000 §8.1.2-8.1.4), minted and checked by
 * a server endpoint with its static key; see address_token.c for the
 * format. */
#ifndef TERN_ADDRESS_TOKEN_H
#define TERN_ADDRESS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "cid_manager.h"
#include "tern/tern.h"

/* §8.1.2: a Retry token is used at once; a short life limits replay. */
#define TERN_RETRY_TOKEN_LIFETIME TERN_SEC(10)
/* §8.1.3: a NEW_TOKEN token is for a later connection. */
#define TERN_NEW_TOKEN_LIFETIME TERN_SEC(24 * 3600)
#define TERN_TOKEN_MAX_LEN 80

typedef enum tern_token_type {
    TERN_TOKEN_RETRY = 0x52,     /* distinct types: one cannot pass for the other */
    TERN_TOKEN_NEW_TOKEN = 0x4e,
} tern_token_type;

typedef enum tern_token_result {
    TERN_TOKEN_INVALID = 0,      /* forged, expired, other address, unknown */
    TERN_TOKEN_VALID_RETRY,      /* odcid filled */
    TERN_TOKEN_VALID_NEW_TOKEN,
} tern_token_result;

/* Writes a token for client (odcid: Retry tokens only, else NULL); returns
 * its length, or 0 when it does not fit or the key is unusable. */
size_t tern_token_make(tern_endpoint *ep, tern_token_type type, const tern_addr *client, const tern_cid *odcid,
                       tern_time now, uint8_t *out, size_t cap);
tern_token_result tern_token_check(tern_endpoint *ep, const uint8_t *token, size_t len, const tern_addr *client,
                                   tern_time now, tern_cid *odcid);

#endif
