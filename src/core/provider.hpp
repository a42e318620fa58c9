// What an unmodified provider's own traffic teaches: who signed in, at
// which client and under which of the provider's sids; and the provider's
// session cookies, which a logout revokes.
#pragma once

#include "client_registry.hpp"
#include "jose.hpp"
#include "session_store.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* How long an authorization code waits for its token request (RFC 6749
 * §4.1.2 recommends codes live at most 10 minutes), in seconds. */
constexpr uint32_t code_remember = 600;
/* The values a logout revokes, at most, for each cookie name. */
constexpr size_t max_revoked_per_name = 4;

struct ProviderConfig {
    const ClientRegistry *clients = nullptr;
    std::string issuer;
    std::vector<std::string> cookie_names; /* oidc_logout_provider_cookies */
    uint32_t cookie_remember = 0;          /* seconds a revoked value lasts */
    std::string cookie_path = "/";         /* the Path they were set with */
};

/* One response of the provider, with what its request carried. */
struct Observation {
    SessionStore *store = nullptr;
    const KeySet *keys = nullptr; /* the provider's keys */
    int64_t now = 0;
    std::string_view handle; /* the module's session cookie */
    unsigned status = 0;
    /* authorization: the Location header, the page of a 200 (form_post),
     * the request's query; token: the request's form body, the JSON
     * response */
    std::string_view location;
    std::string_view body;
    std::string_view request;
};

struct Learned {
    bool learned = false;    /* a successful response, bound to a session */
    bool set_cookie = false; /* the session's fresh handle: send it */
    std::string handle;
    bool unknown_kid = false; /* an ID token named a key not in the set */
    std::string log_reason;   /* empty: nothing to log */
};

/* An authorization response (a redirect with code or id_token to a
 * registered redirect_uri, or a form_post page): finds or starts the
 * browser's session, joins the client, remembers the code, binds the ID
 * token. */
Learned observe_authorization(const ProviderConfig &config,
                              const Observation &o);
/* A token response to an authorization_code request: binds the verified
 * ID token to the session the code was remembered for. */
Learned observe_token(const ProviderConfig &config, const Observation &o);

/* The Cookie header without the provider cookies whose values a logout
 * revoked; false when it keeps them all. */
bool drop_revoked_cookies(const ProviderConfig &config, SessionStore &store,
                          std::string_view cookie, uint32_t now,
                          std::string &out);
/* At a logout: revokes the values of the provider cookies the request
 * carries, and returns the Set-Cookie values that expire them. */
std::vector<std::string> revoke_cookies(const ProviderConfig &config,
                                        SessionStore &store,
                                        std::string_view cookie, uint32_t now);

} // namespace oidc_logout
