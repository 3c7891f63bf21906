/* Default endpoint configuration (tern_config_init). */
#include <string.h>

#include "tern/tern.h"

void tern_config_init(tern_config *cfg, tern_role role)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->role = role;
    cfg->max_idle_timeout_ms = 30000;
    cfg->handshake_timeout_ms = 10000;
    cfg->initial_max_data = 1 << 20;
    cfg->initial_max_stream_data = 256 * 1024;
    cfg->initial_max_streams_bidi = 100;
    cfg->initial_max_streams_uni = 100;
    cfg->max_udp_payload_size = 1472;
    cfg->max_datagram_size = 1452;
    cfg->active_connection_id_limit = 4;
    cfg->max_ack_delay_ms = 25;
    cfg->max_connection_window = 24u << 20;
    cfg->max_stream_window = 16u << 20;
    cfg->cc = TERN_CC_CUBIC;
    cfg->initial_rtt_ms = 333;
    cfg->cid_len = 8;
    cfg->max_connections = 10000;
    cfg->max_handshakes = 1000;
    cfg->follow_preferred_address = true;
    cfg->saa_offer = true;
    cfg->server_migration = false; /* both sides opt in (profile §3) */
    tern_locator_policy_default(&cfg->saa_policy);
    cfg->saa_frame_type = TERN_SAA_FRAME_TYPE_DEFAULT;
    cfg->tp_enable_server_migration = TERN_TP_ENABLE_SERVER_MIGRATION_DEFAULT;
    cfg->tp_allow_server_migration = TERN_TP_ALLOW_SERVER_MIGRATION_DEFAULT;
}
