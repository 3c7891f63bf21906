/* Public locator helpers (tern/locator.h): policy defaults and checks, names
 * for qlog and logs. */
#include "tern/locator.h"

#include <stdbool.h>
#include <string.h>

#include "locator_address.h"
#include "tern/error.h"
#include "token_bucket.h"

void tern_locator_policy_default(tern_locator_policy *policy)
{
    memset(policy, 0, sizeof *policy);
    policy->version = TERN_LOCATOR_POLICY_VERSION;
    policy->max_locators = 8;
    /* A server rotating addresses sends one SAA frame per rotation; 10/s with
     * a burst of 4 covers any sane rotation and a few retransmissions, and
     * bounds the validations a hostile server can trigger (HIP §6). */
    policy->saa_rate = 10;
    policy->saa_burst = 4;
    policy->follow = TERN_LOCATOR_FOLLOW;
}

static bool prefixes_valid(const tern_locator_prefix *list, uint32_t n)
{
    if (n > TERN_LOCATOR_MAX_PREFIXES) return false;
    for (uint32_t i = 0; i < n; i++)
        if (!tern_locator_prefix_valid(&list[i])) return false;
    return true;
}

int tern_locator_policy_check(const tern_locator_policy *policy)
{
    if (!policy || policy->version != TERN_LOCATOR_POLICY_VERSION) return TERN_ERR_INVALID_ARGUMENT;
    /* Two: the handshake address and one alternate (the preferred_address
     * or the first SAA), else there is nothing to migrate to. */
    if (policy->max_locators < 2 || policy->max_locators > TERN_LOCATOR_MAX) return TERN_ERR_INVALID_ARGUMENT;
    if (policy->saa_burst == 0 || policy->saa_rate > TERN_TOKEN_BUCKET_MAX_RATE) return TERN_ERR_INVALID_ARGUMENT;
    if (policy->follow != TERN_LOCATOR_FOLLOW && policy->follow != TERN_LOCATOR_IGNORE)
        return TERN_ERR_INVALID_ARGUMENT;
    if (!prefixes_valid(policy->deny, policy->deny_count) || !prefixes_valid(policy->allow, policy->allow_count))
        return TERN_ERR_INVALID_ARGUMENT;
    return TERN_OK;
}

const char *tern_locator_state_name(tern_locator_state state)
{
    switch (state) {
    case TERN_LOCATOR_UNVERIFIED: return "unverified";
    case TERN_LOCATOR_VALIDATING: return "validating";
    case TERN_LOCATOR_ACTIVE: return "active";
    case TERN_LOCATOR_DEPRECATED: return "deprecated";
    case TERN_LOCATOR_FAILED: return "failed";
    }
    return "unknown";
}

const char *tern_locator_reason_name(tern_locator_reason reason)
{
    switch (reason) {
    case TERN_LOCATOR_REASON_HANDSHAKE: return "handshake";
    case TERN_LOCATOR_REASON_PREFERRED_ADDRESS: return "preferred_address";
    case TERN_LOCATOR_REASON_ADVERTISED: return "advertised";
    case TERN_LOCATOR_REASON_PROBE_STARTED: return "probe_started";
    case TERN_LOCATOR_REASON_VALIDATED: return "validated";
    case TERN_LOCATOR_REASON_VALIDATION_TIMEOUT: return "validation_timeout";
    case TERN_LOCATOR_REASON_PATH_DEAD: return "path_dead";
    case TERN_LOCATOR_REASON_WITHDRAWN: return "withdrawn";
    case TERN_LOCATOR_REASON_SUPERSEDED: return "superseded";
    case TERN_LOCATOR_REASON_RETIRED: return "retired";
    }
    return "unknown";
}
