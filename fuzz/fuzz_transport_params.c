/* Fuzzes the transport parameter decoder as both roles and with two id
 * configurations. Whatever decodes must be valid, re-encode, decode to the
 * same parameters and re-encode to the same bytes (the encoding is canonical
 * once decoded), and pass through the 0-RTT helpers consistently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int condition)
{
    if (!condition) abort();
}

static void check_roundtrip(const uint8_t *data, size_t size, tern_tp_role role,
                            const tern_tp_config *config)
{
    tern_transport_params decoded;
    tern_err err = tern_tp_decode(&decoded, role, config, data, size);
    if (err != TERN_OK) {
        /* Malformed input is only ever a TRANSPORT_PARAMETER_ERROR. */
        require(err == TERN_TRANSPORT_PARAMETER_ERROR);
        return;
    }
    require(tern_tp_validate(&decoded, role) == TERN_OK);
    if (role == TERN_TP_ROLE_CLIENT)
        require(!decoded.has_original_destination_connection_id &&
                !decoded.has_stateless_reset_token && !decoded.has_preferred_address &&
                !decoded.has_retry_source_connection_id);
    else
        require(!decoded.enable_server_migration);

    uint8_t first[TERN_TP_MAX_ENCODED_LEN];
    size_t first_len = 0;
    require(tern_tp_encode(&decoded, role, config, first, sizeof first, &first_len) == TERN_OK);

    tern_transport_params again;
    require(tern_tp_decode(&again, role, config, first, first_len) == TERN_OK);
    require(tern_tp_equal(&decoded, &again));

    uint8_t second[TERN_TP_MAX_ENCODED_LEN];
    size_t second_len = 0;
    require(tern_tp_encode(&again, role, config, second, sizeof second, &second_len) == TERN_OK);
    require(second_len == first_len && memcmp(first, second, first_len) == 0);

    /* A shorter buffer is refused, never overrun (ASan watches). */
    if (first_len > 0) {
        uint8_t *tight = malloc(first_len - 1 ? first_len - 1 : 1);
        size_t ignored = 0;
        require(tight != NULL);
        require(tern_tp_encode(&decoded, role, config, tight, first_len - 1, &ignored) ==
                TERN_ERR_BUFFER_TOO_SMALL);
        free(tight);
    }

    (void)tern_tp_check_required(&decoded, role);
    if (role == TERN_TP_ROLE_SERVER) {
        tern_tp_remembered remembered;
        tern_tp_remember_for_0rtt(&remembered, &decoded);
        require(tern_tp_check_0rtt_limits(&remembered, &decoded) == TERN_OK);
        tern_transport_params for_0rtt;
        tern_tp_from_remembered(&for_0rtt, &remembered);
        require(tern_tp_validate(&for_0rtt, TERN_TP_ROLE_SERVER) == TERN_OK);
        require(tern_tp_check_0rtt_limits(&remembered, &for_0rtt) == TERN_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tern_tp_config default_ids;
    tern_tp_config_init(&default_ids);
    /* Other agreed ids, one of them a 1-byte varint, so that the extension
     * path also meets short ids. */
    const tern_tp_config other_ids = {.enable_server_migration_id = 0x2a,
                                      .allow_server_migration_id = 0x1aa1};
    require(tern_tp_config_check(&other_ids) == TERN_OK);

    check_roundtrip(data, size, TERN_TP_ROLE_CLIENT, &default_ids);
    check_roundtrip(data, size, TERN_TP_ROLE_SERVER, &default_ids);
    check_roundtrip(data, size, TERN_TP_ROLE_CLIENT, &other_ids);
    check_roundtrip(data, size, TERN_TP_ROLE_SERVER, &other_ids);
    return 0;
}
