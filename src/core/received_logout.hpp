// A logout token the upstream provider sends (Back-Channel Logout 1.0).
#pragma once

#include "jose.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* What a verified logout token of the provider says. */
struct ReceivedLogout {
    std::string sub; /* empty when the token has none */
    std::string sid; /* empty when the token has none */
    std::string jti;
    int64_t iat = 0;
    int64_t exp = 0; /* 0 when the token has none */
};

/* How long a received token's jti is remembered and how old its iat may
 * be, in seconds. */
constexpr int64_t received_token_max_age = 600;

/* The member of events that makes a JWT a logout token. */
constexpr char backchannel_logout_event[] =
    "http://schemas.openid.net/event/backchannel-logout";

/*
 * Verifies a logout token as Back-Channel Logout 1.0 sections 2.4 and 2.6
 * ask: signed by one of keys (KeySet::verify_jws's rules); typ, when
 * present, logout+jwt or application/logout+jwt; iss equal to issuer (a
 * trailing "/" aside); aud (a string or an array) holding one of
 * audiences; iat not more than iat_leeway in the future nor older than
 * received_token_max_age; exp, when present, not past (iat_leeway of
 * skew); a jti; events holding the back-channel logout event, an object;
 * no nonce; sid, sub or both, strings of at most OL_SUB_MAX bytes.  False
 * and a short lowercase reason otherwise; *unknown_kid (may be nullptr)
 * tells that the token names a kid that no key has.  A jti seen before is
 * the caller's to refuse.
 */
bool verify_received_logout(const KeySet &keys, std::string_view issuer,
                            const std::vector<std::string> &audiences,
                            std::string_view token, int64_t now,
                            ReceivedLogout &out, std::string &reason,
                            bool *unknown_kid);

} // namespace oidc_logout
