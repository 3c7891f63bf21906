/* TLS 1.3 handshake for QUIC (RFC 9001 §4, §8) between an in-memory client
 * and server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <gnutls/gnutls.h>

#include "tls.h"
#include "tls_pair.h"

/* One certificate for the whole run: key generation is the slow part. */
static char *g_cert_pem, *g_key_pem;
static size_t g_cert_len, g_key_len;

static const uint8_t CLIENT_TP[] = {0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t SERVER_TP[] = {0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x03, 0x02, 0x45, 0xc0};

typedef struct fixture {
    tern_tls_config *client_cfg, *server_cfg;
    tls_endpoint client, server;
} fixture;

static int group_setup(void **state)
{
    (void)state;
    const char *hosts[] = {"localhost", "127.0.0.1", "::1"};
    return tern_tls_cert_generate(hosts, 3, 30, &g_cert_pem, &g_cert_len, &g_key_pem, &g_key_len) == TERN_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_cert_pem);
    free(g_key_pem);
    /* Release GnuTLS's global state (not needed for LSan with 3.7.9, but tidy). */
    gnutls_global_deinit();
    return 0;
}

static tern_tls_config *make_server_config(const char *alpn)
{
    tern_tls_config *cfg = NULL;
    assert_int_equal(tern_tls_config_new(&cfg, TERN_TLS_SERVER), TERN_OK);
    assert_int_equal(tern_tls_config_set_cert_pem(cfg, g_cert_pem, g_cert_len, g_key_pem, g_key_len), TERN_OK);
    const char *protocols[] = {alpn};
    assert_int_equal(tern_tls_config_set_alpn(cfg, protocols, 1), TERN_OK);
    return cfg;
}

/* A client that trusts the generated certificate and checks "localhost". */
static tern_tls_config *make_client_config(const char *alpn)
{
    tern_tls_config *cfg = NULL;
    assert_int_equal(tern_tls_config_new(&cfg, TERN_TLS_CLIENT), TERN_OK);
    assert_int_equal(tern_tls_config_add_ca_pem(cfg, g_cert_pem, g_cert_len), TERN_OK);
    assert_int_equal(tern_tls_config_set_server_name(cfg, "localhost"), TERN_OK);
    const char *protocols[] = {"hq-interop", alpn};
    assert_int_equal(tern_tls_config_set_alpn(cfg, protocols, 2), TERN_OK);
    return cfg;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->client_cfg = make_client_config("h3");
    f->server_cfg = make_server_config("h3");
    *state = f;
    return 0;
}

static void endpoints_free(fixture *f)
{
    tern_tls_free(f->client.tls);
    tern_tls_free(f->server.tls);
    f->client.tls = f->server.tls = NULL;
}

static int teardown(void **state)
{
    fixture *f = *state;
    endpoints_free(f);
    tern_tls_config_free(f->client_cfg);
    tern_tls_config_free(f->server_cfg);
    free(f);
    return 0;
}

/* Creates both sessions with transport parameters and starts them. */
static void start_pair(fixture *f, const uint8_t *resumption, size_t resumption_len)
{
    endpoints_free(f);
    tls_endpoint_init(&f->client, "client");
    tls_endpoint_init(&f->server, "server");
    assert_int_equal(tern_tls_new(&f->client.tls, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    assert_int_equal(tern_tls_new(&f->server.tls, f->server_cfg, &tls_pair_callbacks, &f->server), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->client.tls, CLIENT_TP, sizeof CLIENT_TP), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->server.tls, SERVER_TP, sizeof SERVER_TP), TERN_OK);
    if (resumption) assert_int_equal(tern_tls_set_resumption(f->client.tls, resumption, resumption_len), TERN_OK);
    assert_int_equal(tern_tls_start(f->server.tls), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_OK);
}

static void run_pair(fixture *f, const uint8_t *resumption, size_t resumption_len, size_t chunk)
{
    start_pair(f, resumption, resumption_len);
    tls_pair_pump(&f->client, &f->server, chunk);
}

static void assert_secrets_match(const tls_endpoint *writer, const tls_endpoint *reader, tern_tls_level level)
{
    assert_true(writer->have_secret[level][TERN_TLS_WRITE]);
    assert_true(reader->have_secret[level][TERN_TLS_READ]);
    assert_int_equal(writer->secret_len[level][TERN_TLS_WRITE], reader->secret_len[level][TERN_TLS_READ]);
    assert_memory_equal(writer->secret[level][TERN_TLS_WRITE], reader->secret[level][TERN_TLS_READ],
                        writer->secret_len[level][TERN_TLS_WRITE]);
    assert_int_equal(writer->secret_cipher[level][TERN_TLS_WRITE], reader->secret_cipher[level][TERN_TLS_READ]);
}

static void assert_handshake_ok(fixture *f)
{
    assert_int_equal(f->client.last_error, TERN_OK);
    assert_int_equal(f->server.last_error, TERN_OK);
    assert_true(tern_tls_handshake_complete(f->client.tls));
    assert_true(tern_tls_handshake_complete(f->server.tls));
    assert_int_equal(f->client.completions, 1);
    assert_int_equal(f->server.completions, 1);
    assert_int_equal(f->client.alerts + f->server.alerts, 0);
    for (tern_tls_level level = TERN_TLS_LEVEL_HANDSHAKE; level <= TERN_TLS_LEVEL_APPLICATION; level++) {
        assert_secrets_match(&f->client, &f->server, level);
        assert_secrets_match(&f->server, &f->client, level);
    }
    /* Initial keys come from the connection ID (RFC 9001 §5.2), never TLS. */
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_INITIAL][0] || f->client.have_secret[TERN_TLS_LEVEL_INITIAL][1]);
    /* Transport parameters crossed intact, once each way. */
    assert_int_equal(f->server.peer_tp_calls, 1);
    assert_int_equal(f->server.peer_tp_len, sizeof CLIENT_TP);
    assert_memory_equal(f->server.peer_tp, CLIENT_TP, sizeof CLIENT_TP);
    assert_int_equal(f->client.peer_tp_calls, 1);
    assert_int_equal(f->client.peer_tp_len, sizeof SERVER_TP);
    assert_memory_equal(f->client.peer_tp, SERVER_TP, sizeof SERVER_TP);
    /* ALPN */
    size_t alpn_len = 0;
    const uint8_t *alpn = tern_tls_alpn(f->client.tls, &alpn_len);
    assert_non_null(alpn);
    assert_int_equal(alpn_len, 2);
    assert_memory_equal(alpn, "h3", 2);
    alpn = tern_tls_alpn(f->server.tls, &alpn_len);
    assert_non_null(alpn);
    assert_memory_equal(alpn, "h3", 2);
    assert_int_equal(tern_tls_negotiated_cipher(f->client.tls), tern_tls_negotiated_cipher(f->server.tls));
    assert_string_equal(tern_tls_error_string(f->client.tls), "");
}

/* ---- full handshake ---------------------------------------------------- */

static void test_full_handshake(void **state)
{
    fixture *f = *state;
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);

    /* The ClientHello is the first Initial CRYPTO byte, a complete
     * handshake message with its header (RFC 9001 §4.1.3). */
    assert_int_equal(f->client.first_out[TERN_TLS_LEVEL_INITIAL][0], 1);
    assert_int_equal(f->server.first_out[TERN_TLS_LEVEL_INITIAL][0], 2); /* ServerHello */
    assert_int_equal(f->server.first_out[TERN_TLS_LEVEL_HANDSHAKE][0], 8); /* EncryptedExtensions */
    assert_int_equal(f->client.first_out[TERN_TLS_LEVEL_HANDSHAKE][0], 20); /* Finished */
    assert_int_equal(f->server.first_out[TERN_TLS_LEVEL_APPLICATION][0], 4); /* NewSessionTicket */
    /* Nothing at 0-RTT: no early data, no EndOfEarlyData (RFC 9001 §8.3). */
    assert_int_equal(f->client.total_out[TERN_TLS_LEVEL_EARLY], 0);
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_WRITE]);
    assert_false(tern_tls_early_data_attempted(f->client.tls));

    assert_int_equal(tern_tls_negotiated_cipher(f->client.tls), TERN_TLS_AES_128_GCM_SHA256);
    assert_int_equal(f->client.secret_len[TERN_TLS_LEVEL_APPLICATION][TERN_TLS_WRITE], 32);
    assert_false(tern_tls_is_resumed(f->client.tls));
    assert_false(tern_tls_is_resumed(f->server.tls));

    /* Keylog: handshake + traffic secrets (+ exporter) on each side. */
    assert_true(f->client.keylog_lines >= 4);
    assert_true(f->server.keylog_lines >= 4);
    assert_true(f->client.keylog_labels_ok);
    assert_true(f->server.keylog_labels_ok);

    /* The client turned the NewSessionTicket(s) into resumable state. */
    assert_true(f->client.tickets >= 1);
    assert_true(f->client.ticket_len > 0);
    assert_int_equal(f->server.tickets, 0);
}

/* CRYPTO frames may split messages anywhere: feed one byte at a time. */
static void test_handshake_byte_by_byte(void **state)
{
    fixture *f = *state;
    run_pair(f, NULL, 0, 1);
    assert_handshake_ok(f);
    assert_true(f->client.tickets >= 1);
}

static void test_cipher_selection(void **state)
{
    fixture *f = *state;
    const struct {
        tern_tls_cipher cipher;
        size_t secret_len;
    } cases[] = {{TERN_TLS_AES_256_GCM_SHA384, 48}, {TERN_TLS_CHACHA20_POLY1305_SHA256, 32},
                 {TERN_TLS_AES_128_GCM_SHA256, 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(tern_tls_config_set_ciphers(f->client_cfg, &cases[i].cipher, 1), TERN_OK);
        run_pair(f, NULL, 0, SIZE_MAX);
        assert_handshake_ok(f);
        assert_int_equal(tern_tls_negotiated_cipher(f->server.tls), cases[i].cipher);
        assert_int_equal(f->server.secret_cipher[TERN_TLS_LEVEL_HANDSHAKE][TERN_TLS_WRITE], cases[i].cipher);
        assert_int_equal(f->client.secret_cipher[TERN_TLS_LEVEL_APPLICATION][TERN_TLS_READ], cases[i].cipher);
        assert_int_equal(f->client.secret_len[TERN_TLS_LEVEL_APPLICATION][TERN_TLS_READ], cases[i].secret_len);
    }
    const tern_tls_cipher bogus = (tern_tls_cipher)0x1304; /* AES-128-CCM: not offered */
    assert_int_equal(tern_tls_config_set_ciphers(f->client_cfg, &bogus, 1), TERN_ERR_UNSUPPORTED);
}

/* ---- certificate verification ------------------------------------------ */

static void test_untrusted_certificate(void **state)
{
    fixture *f = *state;
    tern_tls_config_free(f->client_cfg);
    assert_int_equal(tern_tls_config_new(&f->client_cfg, TERN_TLS_CLIENT), TERN_OK);
    const char *protocols[] = {"h3"};
    assert_int_equal(tern_tls_config_set_alpn(f->client_cfg, protocols, 1), TERN_OK);
    assert_int_equal(tern_tls_config_set_server_name(f->client_cfg, "localhost"), TERN_OK);
    run_pair(f, NULL, 0, SIZE_MAX);
    /* Self-signed and not trusted: unknown_ca (RFC 8446 §6.2). */
    assert_int_equal(f->client.last_error, TERN_CRYPTO_ERROR_BASE + TERN_TLS_ALERT_UNKNOWN_CA);
    assert_int_equal(tern_tls_error(f->client.tls), 0x130);
    assert_int_equal(f->client.alerts, 1);
    assert_int_equal(f->client.last_alert, TERN_TLS_ALERT_UNKNOWN_CA);
    assert_false(tern_tls_handshake_complete(f->client.tls));
    assert_non_null(strstr(tern_tls_error_string(f->client.tls), "certificate"));
    /* Never 1-RTT keys for an unauthenticated server. */
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_APPLICATION][TERN_TLS_WRITE]);
    /* Sticky: further input returns the same error. */
    const uint8_t junk[] = {1, 2, 3};
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_HANDSHAKE, junk, sizeof junk), 0x130);

    /* The explicit insecure switch accepts it. */
    tern_tls_config_set_insecure_skip_verify(f->client_cfg, true);
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
}

static void test_wrong_host_name(void **state)
{
    fixture *f = *state;
    start_pair(f, NULL, 0);
    /* Trusted certificate, but not for this name: bad_certificate. */
    tern_tls_free(f->client.tls);
    tls_endpoint_init(&f->client, "client");
    assert_int_equal(tern_tls_new(&f->client.tls, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->client.tls, CLIENT_TP, sizeof CLIENT_TP), TERN_OK);
    assert_int_equal(tern_tls_set_server_name(f->client.tls, "example.com"), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_OK);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_int_equal(f->client.last_error, TERN_CRYPTO_ERROR_BASE + TERN_TLS_ALERT_BAD_CERTIFICATE);
    assert_int_equal(f->client.last_alert, TERN_TLS_ALERT_BAD_CERTIFICATE);
}

static void test_ca_file_and_ip_name(void **state)
{
    fixture *f = *state;
    char path[] = "/tmp/tern-test-ca-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, g_cert_pem, g_cert_len), (ssize_t)g_cert_len);
    close(fd);

    tern_tls_config_free(f->client_cfg);
    assert_int_equal(tern_tls_config_new(&f->client_cfg, TERN_TLS_CLIENT), TERN_OK);
    tern_err err = tern_tls_config_set_ca_file(f->client_cfg, path);
    unlink(path);
    assert_int_equal(err, TERN_OK);
    const char *protocols[] = {"h3"};
    assert_int_equal(tern_tls_config_set_alpn(f->client_cfg, protocols, 1), TERN_OK);
    /* An IP literal is checked against the IP SAN and kept out of SNI. */
    assert_int_equal(tern_tls_config_set_server_name(f->client_cfg, "127.0.0.1"), TERN_OK);
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
    assert_int_equal(tern_tls_config_set_ca_file(f->client_cfg, "/nonexistent/ca.pem"), TERN_ERR_CRYPTO_BACKEND);
}

/* ---- negotiation failures ----------------------------------------------- */

static void test_alpn_mismatch(void **state)
{
    fixture *f = *state;
    tern_tls_config_free(f->server_cfg);
    f->server_cfg = make_server_config("smtp-over-quic");
    run_pair(f, NULL, 0, SIZE_MAX);
    /* RFC 9001 §8.1: no_application_protocol, 0x178. */
    assert_int_equal(f->server.last_error, 0x178);
    assert_int_equal(f->server.alerts, 1);
    assert_int_equal(f->server.last_alert, TERN_TLS_ALERT_NO_APPLICATION_PROTOCOL);
    assert_false(f->server.have_secret[TERN_TLS_LEVEL_HANDSHAKE][TERN_TLS_WRITE]);
}

static void test_client_without_transport_params(void **state)
{
    fixture *f = *state;
    tls_endpoint_init(&f->client, "client");
    tls_endpoint_init(&f->server, "server");
    assert_int_equal(tern_tls_new(&f->client.tls, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    assert_int_equal(tern_tls_new(&f->server.tls, f->server_cfg, &tls_pair_callbacks, &f->server), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->server.tls, SERVER_TP, sizeof SERVER_TP), TERN_OK);
    assert_int_equal(tern_tls_start(f->server.tls), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_OK);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    /* RFC 9001 §8.2: missing_extension, CRYPTO_ERROR 0x16d. */
    assert_int_equal(f->server.last_error, 0x16d);
    assert_int_equal(f->server.last_alert, TERN_TLS_ALERT_MISSING_EXTENSION);
    assert_int_equal(f->server.peer_tp_calls, 0);
}

static void test_transport_params_rejected(void **state)
{
    fixture *f = *state;
    start_pair(f, NULL, 0);
    f->server.tp_verdict = TERN_TRANSPORT_PARAMETER_ERROR;
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    /* The owner's code comes back unchanged, with no TLS alert. */
    assert_int_equal(f->server.last_error, TERN_TRANSPORT_PARAMETER_ERROR);
    assert_int_equal(f->server.alerts, 0);
    assert_non_null(strstr(tern_tls_error_string(f->server.tls), "transport parameters"));

    start_pair(f, NULL, 0);
    f->client.tp_verdict = TERN_TRANSPORT_PARAMETER_ERROR;
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_int_equal(f->client.last_error, TERN_TRANSPORT_PARAMETER_ERROR);
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_APPLICATION][TERN_TLS_READ]);
}

static void test_forbidden_post_handshake_messages(void **state)
{
    fixture *f = *state;
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
    /* RFC 9001 §6: a TLS KeyUpdate is a connection error 0x10a. */
    const uint8_t key_update[] = {24, 0, 0, 1, 0};
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_APPLICATION, key_update, sizeof key_update),
                     0x10a);
    assert_int_equal(f->client.last_alert, TERN_TLS_ALERT_UNEXPECTED_MESSAGE);
    /* The server expects nothing at all from the client at 1-RTT. */
    const uint8_t anything[] = {4, 0, 0, 0};
    assert_int_equal(tern_tls_provide_data(f->server.tls, TERN_TLS_LEVEL_APPLICATION, anything, sizeof anything),
                     0x10a);

    /* Handshake-level bytes after completion, CRYPTO in 0-RTT. */
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_int_equal(tern_tls_provide_data(f->server.tls, TERN_TLS_LEVEL_HANDSHAKE, anything, sizeof anything),
                     0x10a);
    start_pair(f, NULL, 0);
    assert_int_equal(tern_tls_provide_data(f->server.tls, TERN_TLS_LEVEL_EARLY, anything, sizeof anything),
                     TERN_PROTOCOL_VIOLATION);
    /* 1-RTT CRYPTO data before completion. */
    start_pair(f, NULL, 0);
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_APPLICATION, anything, sizeof anything),
                     0x10a);
}

/* ---- resumption and 0-RTT ----------------------------------------------- */

/* Runs a first connection and returns the client's last ticket (malloc'd). */
static uint8_t *obtain_ticket(fixture *f, size_t *len)
{
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(f->client.tickets >= 1);
    uint8_t *ticket = malloc(f->client.ticket_len);
    assert_non_null(ticket);
    memcpy(ticket, f->client.ticket, f->client.ticket_len);
    *len = f->client.ticket_len;
    return ticket;
}

static void test_resumption(void **state)
{
    fixture *f = *state;
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len);
    run_pair(f, ticket, ticket_len, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(tern_tls_is_resumed(f->client.tls));
    assert_true(tern_tls_is_resumed(f->server.tls));
    /* 0-RTT not enabled in the configs. */
    assert_false(tern_tls_early_data_attempted(f->client.tls));
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_WRITE]);
    /* The server's transport parameters came back with the ticket. */
    size_t tp_len = 0;
    const uint8_t *tp = tern_tls_remembered_transport_params(f->client.tls, &tp_len);
    assert_non_null(tp);
    assert_int_equal(tp_len, sizeof SERVER_TP);
    assert_memory_equal(tp, SERVER_TP, sizeof SERVER_TP);
    assert_null(tern_tls_remembered_transport_params(f->server.tls, &tp_len));
    assert_int_equal(tp_len, 0);

    /* Only blobs from on_session_ticket are accepted. */
    assert_int_equal(tern_tls_set_resumption(f->server.tls, ticket, ticket_len), TERN_ERR_INVALID_ARGUMENT);
    tern_tls *fresh = NULL;
    assert_int_equal(tern_tls_new(&fresh, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    assert_int_equal(tern_tls_set_resumption(fresh, ticket + 4, ticket_len - 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tls_set_resumption(fresh, ticket, 9), TERN_ERR_INVALID_ARGUMENT);
    tern_tls_free(fresh);
    free(ticket);
}

/* Crafted NewSessionTickets (RFC 8446 §4.6.1) fed to a connected client. */
static void test_bad_new_session_ticket(void **state)
{
    fixture *f = *state;
    /* RFC 9001 §4.6.1: max_early_data_size must be 0xffffffff. */
    const uint8_t limited[] = {
        4, 0, 0, 25,                    /* NewSessionTicket, 25 bytes */
        0, 0, 0x0e, 0x10,               /* lifetime 3600 s */
        1, 2, 3, 4,                     /* age_add */
        1, 0,                           /* nonce */
        0, 3, 't', 'k', 't',            /* ticket */
        0, 8, 0, 42, 0, 4, 0, 0, 0x40, 0, /* early_data, 16384 */
    };
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_APPLICATION, limited, sizeof limited),
                     TERN_PROTOCOL_VIOLATION);
    assert_int_equal(f->client.alerts, 0);

    const uint8_t truncated[] = {4, 0, 0, 9, 0, 0, 0x0e, 0x10, 1, 2, 3, 4, 5};
    run_pair(f, NULL, 0, SIZE_MAX);
    assert_handshake_ok(f);
    int tickets = f->client.tickets;
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_APPLICATION, truncated, sizeof truncated),
                     TERN_CRYPTO_ERROR_BASE + TERN_TLS_ALERT_DECODE_ERROR);
    assert_int_equal(f->client.tickets, tickets);
}

static void test_early_data_accepted(void **state)
{
    fixture *f = *state;
    tern_tls_config_enable_early_data(f->client_cfg, true);
    tern_tls_config_enable_early_data(f->server_cfg, true);
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len);

    start_pair(f, ticket, ticket_len);
    /* Right after the ClientHello the client can send 0-RTT packets. */
    assert_true(tern_tls_early_data_attempted(f->client.tls));
    assert_true(f->client.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_WRITE]);
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_READ]);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_handshake_ok(f);
    assert_secrets_match(&f->client, &f->server, TERN_TLS_LEVEL_EARLY);
    assert_false(f->server.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_WRITE]);
    assert_true(tern_tls_early_data_accepted(f->client.tls));
    assert_true(tern_tls_early_data_accepted(f->server.tls));
    assert_true(tern_tls_is_resumed(f->client.tls));
    assert_true(tern_tls_is_resumed(f->server.tls));
    /* No EndOfEarlyData (RFC 9001 §8.3). */
    assert_int_equal(f->client.total_out[TERN_TLS_LEVEL_EARLY], 0);
    free(ticket);
}

static void test_early_data_rejected(void **state)
{
    fixture *f = *state;
    tern_tls_config_enable_early_data(f->client_cfg, true);
    tern_tls_config_enable_early_data(f->server_cfg, true);
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len);

    /* Per connection: the server refuses 0-RTT but still resumes. */
    endpoints_free(f);
    tls_endpoint_init(&f->client, "client");
    tls_endpoint_init(&f->server, "server");
    assert_int_equal(tern_tls_new(&f->client.tls, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    assert_int_equal(tern_tls_new(&f->server.tls, f->server_cfg, &tls_pair_callbacks, &f->server), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->client.tls, CLIENT_TP, sizeof CLIENT_TP), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(f->server.tls, SERVER_TP, sizeof SERVER_TP), TERN_OK);
    assert_int_equal(tern_tls_set_resumption(f->client.tls, ticket, ticket_len), TERN_OK);
    assert_int_equal(tern_tls_reject_early_data(f->server.tls), TERN_OK);
    assert_int_equal(tern_tls_start(f->server.tls), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_OK);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(tern_tls_early_data_attempted(f->client.tls));
    assert_false(tern_tls_early_data_accepted(f->client.tls));
    assert_false(tern_tls_early_data_accepted(f->server.tls));
    assert_false(f->server.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_READ]);
    assert_true(tern_tls_is_resumed(f->server.tls));

    /* Whole server config with 0-RTT off. */
    tern_tls_config_enable_early_data(f->server_cfg, false);
    run_pair(f, ticket, ticket_len, SIZE_MAX);
    assert_handshake_ok(f);
    assert_false(tern_tls_early_data_accepted(f->client.tls));
    assert_false(f->server.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_READ]);
    assert_true(tern_tls_is_resumed(f->client.tls));
    free(ticket);
}

/* RFC 8446 §4.2.10: a ticket issued without early_data permission must not
 * lead the client to attempt 0-RTT. */
static void test_early_data_needs_ticket_permission(void **state)
{
    fixture *f = *state;
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len); /* server: 0-RTT off */
    tern_tls_config_enable_early_data(f->client_cfg, true);
    tern_tls_config_enable_early_data(f->server_cfg, true);
    start_pair(f, ticket, ticket_len);
    assert_false(tern_tls_early_data_attempted(f->client.tls));
    assert_false(f->client.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_WRITE]);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(tern_tls_is_resumed(f->client.tls));
    assert_false(tern_tls_early_data_accepted(f->client.tls));
    assert_false(tern_tls_early_data_accepted(f->server.tls));
    free(ticket);
}

/* RFC 9001 §9.2 / RFC 8446 §8.2: the same ClientHello replayed to a second
 * server connection must not get its 0-RTT accepted again. */
static void test_early_data_replay_rejected(void **state)
{
    fixture *f = *state;
    tern_tls_config_enable_early_data(f->client_cfg, true);
    tern_tls_config_enable_early_data(f->server_cfg, true);
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len);

    start_pair(f, ticket, ticket_len);
    size_t hello_len = f->client.out_len[TERN_TLS_LEVEL_INITIAL];
    uint8_t *hello = malloc(hello_len);
    assert_non_null(hello);
    memcpy(hello, f->client.out[TERN_TLS_LEVEL_INITIAL], hello_len);
    tls_pair_pump(&f->client, &f->server, SIZE_MAX);
    assert_true(tern_tls_early_data_accepted(f->server.tls));

    tls_endpoint replayed;
    tls_endpoint_init(&replayed, "replay-target");
    assert_int_equal(tern_tls_new(&replayed.tls, f->server_cfg, &tls_pair_callbacks, &replayed), TERN_OK);
    assert_int_equal(tern_tls_set_transport_params(replayed.tls, SERVER_TP, sizeof SERVER_TP), TERN_OK);
    assert_int_equal(tern_tls_start(replayed.tls), TERN_OK);
    assert_int_equal(tern_tls_provide_data(replayed.tls, TERN_TLS_LEVEL_INITIAL, hello, hello_len), TERN_OK);
    assert_false(replayed.have_secret[TERN_TLS_LEVEL_EARLY][TERN_TLS_READ]);
    assert_false(tern_tls_early_data_accepted(replayed.tls));
    tern_tls_free(replayed.tls);
    free(hello);

    /* A fresh ClientHello with the same ticket is not a replay. */
    run_pair(f, ticket, ticket_len, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(tern_tls_early_data_accepted(f->server.tls));
    free(ticket);
}

/* Servers sharing a ticket key resume each other's sessions. GnuTLS refuses
 * 0-RTT for tickets older than the accepting config's anti-replay context. */
static void test_shared_ticket_key(void **state)
{
    fixture *f = *state;
    uint8_t key[TERN_TLS_TICKET_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(tern_tls_config_set_ticket_key(f->server_cfg, key, sizeof key), TERN_OK);
    assert_int_equal(tern_tls_config_set_ticket_key(f->server_cfg, key, 16), TERN_ERR_INVALID_ARGUMENT);
    tern_tls_config_enable_early_data(f->client_cfg, true);
    tern_tls_config_enable_early_data(f->server_cfg, true);
    size_t ticket_len = 0;
    uint8_t *ticket = obtain_ticket(f, &ticket_len);

    tern_tls_config_free(f->server_cfg);
    f->server_cfg = make_server_config("h3");
    tern_tls_config_enable_early_data(f->server_cfg, true);
    assert_int_equal(tern_tls_config_set_ticket_key(f->server_cfg, key, sizeof key), TERN_OK);
    run_pair(f, ticket, ticket_len, SIZE_MAX);
    assert_handshake_ok(f);
    assert_true(tern_tls_is_resumed(f->server.tls));
    assert_false(tern_tls_early_data_accepted(f->server.tls));
    free(ticket);
}

/* ---- helpers and API misuse --------------------------------------------- */

static void test_keylog_format(void **state)
{
    (void)state;
    uint8_t random[TERN_TLS_CLIENT_RANDOM_LEN];
    for (size_t i = 0; i < sizeof random; i++) random[i] = (uint8_t)i;
    const uint8_t secret[] = {0xab, 0xcd, 0xef};
    char line[TERN_TLS_KEYLOG_LINE_MAX];
    size_t n = tern_tls_keylog_format(line, sizeof line, "CLIENT_TRAFFIC_SECRET_0", random, secret, sizeof secret);
    const char *want = "CLIENT_TRAFFIC_SECRET_0 000102030405060708090a0b0c0d0e0f"
                       "101112131415161718191a1b1c1d1e1f abcdef";
    assert_string_equal(line, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(tern_tls_keylog_format(line, 10, "X", random, secret, sizeof secret), 0);
}

static void test_cert_generate(void **state)
{
    (void)state;
    assert_non_null(strstr(g_cert_pem, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(g_key_pem, "PRIVATE KEY-----"));
    assert_int_equal(strlen(g_cert_pem), g_cert_len);
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    assert_int_equal(tern_tls_cert_generate(NULL, 0, 1, &cert, &cert_len, &key, &key_len),
                     TERN_ERR_INVALID_ARGUMENT);
    const char *hosts[] = {"tern.test"};
    assert_int_equal(tern_tls_cert_generate(hosts, 1, 1, &cert, &cert_len, &key, &key_len), TERN_OK);
    assert_int_equal(strlen(key), key_len);
    free(cert);
    free(key);
}

static void test_api_misuse(void **state)
{
    fixture *f = *state;
    tern_tls *tls = NULL;
    tern_tls_callbacks incomplete = tls_pair_callbacks;
    incomplete.on_peer_transport_params = NULL;
    assert_int_equal(tern_tls_new(&tls, f->client_cfg, &incomplete, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_null(tls);

    /* A server without a certificate, a config without ALPN. */
    tern_tls_config *bare = NULL;
    assert_int_equal(tern_tls_config_new(&bare, TERN_TLS_SERVER), TERN_OK);
    assert_int_equal(tern_tls_new(&tls, bare, &tls_pair_callbacks, &f->server), TERN_OK);
    assert_int_equal(tern_tls_start(tls), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tls_set_server_name(tls, "x"), TERN_ERR_INVALID_ARGUMENT);
    tern_tls_free(tls);
    tern_tls_config_free(bare);

    const char *empty[] = {""};
    assert_int_equal(tern_tls_config_set_alpn(f->client_cfg, empty, 1), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tls_config_set_ticket_key(f->client_cfg, (const uint8_t *)"k", 1),
                     TERN_ERR_INVALID_ARGUMENT);

    /* Setters after start; data before start. */
    tls_endpoint_init(&f->client, "client");
    assert_int_equal(tern_tls_new(&f->client.tls, f->client_cfg, &tls_pair_callbacks, &f->client), TERN_OK);
    const uint8_t byte = 0;
    assert_int_equal(tern_tls_provide_data(f->client.tls, TERN_TLS_LEVEL_INITIAL, &byte, 1),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tls_set_transport_params(f->client.tls, CLIENT_TP, sizeof CLIENT_TP), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_OK);
    assert_int_equal(tern_tls_start(f->client.tls), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tls_set_transport_params(f->client.tls, CLIENT_TP, 1), TERN_ERR_INVALID_ARGUMENT);
    assert_string_equal(tern_tls_level_name(TERN_TLS_LEVEL_EARLY), "0-RTT");
    assert_string_equal(tern_tls_cipher_name(TERN_TLS_CHACHA20_POLY1305_SHA256), "TLS_CHACHA20_POLY1305_SHA256");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_host_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_file_and_ip_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alpn_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_without_transport_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_params_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_post_handshake_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_new_session_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_data_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_data_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_data_replay_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_data_needs_ticket_permission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_ticket_key, setup, teardown),
        cmocka_unit_test(test_keylog_format),
        cmocka_unit_test(test_cert_generate),
        cmocka_unit_test_setup_teardown(test_api_misuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
