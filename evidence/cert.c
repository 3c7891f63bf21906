/* A fixed self-signed Ed25519 certificate for "localhost" (valid 100 years),
 * generated once for tern-evidence with openssl req -x509 -newkey ed25519.
 * Fixed, and with fixed-size signatures, so that handshakes have the same
 * sizes in every run (the harness generates an ECDSA one per process). */
#include "ev.h"

const char ev_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBVTCCAQegAwIBAgIUL1bt4zP5ZrklEBXbNIoRE81Uv8YwBQYDK2VwMBQxEjAQ\n"
    "BgNVBAMMCWxvY2FsaG9zdDAgFw0yNjEyMDQyMTM2MDZaGA8yMTI2MTExMDIxMzYw\n"
    "NlowFDESMBAGA1UEAwwJbG9jYWxob3N0MCowBQYDK2VwAyEAPiD5CTDKmE0UgL8J\n"
    "2sCvo4ZO9x3EkPNvkx9qThRq/7qjaTBnMB0GA1UdDgQWBBQnIhzU1OP61hCQEC16\n"
    "jAInB9chTzAfBgNVHSMEGDAWgBQnIhzU1OP61hCQEC16jAInB9chTzAPBgNVHRMB\n"
    "Af8EBTADAQH/MBQGA1UdEQQNMAuCCWxvY2FsaG9zdDAFBgMrZXADQQCDecVOQnL5\n"
    "Lmy1vV5NjKw1HEWhUn/rtYj5H0H7bk+kIcO/To9odliA2zW1aNxnOijbPO3nsv+a\n"
    "cQkqx8GFgU4J\n"
    "-----END CERTIFICATE-----\n"
    ;
const char ev_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEILHO2Nrlqkq0fdDgRS/jFl5dy0i1iiDE3X4VYd1YXqGA\n"
    "-----END PRIVATE KEY-----\n"
    ;
