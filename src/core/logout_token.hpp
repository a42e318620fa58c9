// Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0).
#pragma once

#include "client_registry.hpp"
#include "../oidc_logout_core.h"
#include "jose.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* How long a logout token is valid, in seconds. */
constexpr int64_t logout_token_lifetime = 120;

/* The session a logout ended. */
struct EndedSession {
    std::string_view sid;
    std::string_view sub; /* may be empty */
    std::vector<std::string_view> client_ids;
    /* the provider's sid for each client, in the same order; empty where
     * none was learned */
    std::vector<std::string_view> provider_sids;

    /* The sid a client knows the session by: the provider's, or ours. */
    std::string_view sid_for(size_t index) const;
};

/* The claims of a logout token for client (no signature): iss, aud, iat,
 * exp, a fresh jti, events, sid and sub; never nonce.  sid is the one the
 * client knows; it is left out only for a client registered with
 * backchannel_logout_session_required false, when there is a sub. */
std::string logout_token_claims(std::string_view issuer, const Client &client,
                                std::string_view sid, std::string_view sub,
                                int64_t now);

/* One delivery: where, and the form body that carries the token. */
struct Delivery {
    const Client *client;
    std::string body; /* logout_token=... */
};

/* The deliveries of a session's end: one signed token (typ logout+jwt)
 * for each of its clients that has a backchannel_logout_uri.  Throws when
 * keys cannot sign. */
std::vector<Delivery> backchannel_deliveries(const KeySet &keys,
                                             const ClientRegistry &clients,
                                             std::string_view issuer,
                                             const EndedSession &session,
                                             int64_t now);

/* The delivery policy (ol_delivery_judge): delivered, retried after
 * retry_in_ms, or given up. */
ol_delivery_outcome judge_delivery(ol_attempt attempt_end, unsigned status,
                                   unsigned attempt, unsigned retries,
                                   uint64_t &retry_in_ms);

/* Whether a delivery that failed may succeed later (a network failure, a
 * 5xx, an attempt cut short): it then waits in the zone for another round. */
bool worth_another_round(ol_attempt attempt_end, unsigned status);

/* How long one round of deliveries may take, in seconds: every attempt
 * with its timeout and the delays between them, and a margin. */
uint32_t round_lease(unsigned retries, uint64_t timeout_ms);

/* The delay before the next round of deliveries kept in the zone, after
 * rounds rounds: 5 s, doubling up to 5 minutes. */
uint32_t next_round_in(unsigned rounds);

} // namespace oidc_logout
