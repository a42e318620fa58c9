// The admin API (oidc_logout_admin) and the upstream provider's logout
// tokens (oidc_logout_backchannel_receiver): operators' ways to end
// sessions, each ending notifying the clients like a logout.
#pragma once

#include "jose.hpp"
#include "logout_endpoint.hpp"
#include "session_store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* A JSON answer of the APIs: status, body, never cached. */
Response api_response(int status, std::string body);
/* Their refusal: {"error": error, "error_description": description}; the
 * description is also the line to log. */
Response api_error(int status, std::string_view error, std::string description);

struct AdminRequest {
    std::string_view method;
    std::string_view path; /* its last segment names the resource */
    std::string_view args; /* the query string */
    uint32_t now = 0;
};

/*
 * One request of the admin API, decided whole:
 *   GET    .../sessions?sub=S   the live sessions of subject S
 *   GET    .../sessions?sid=X   the live session X
 *   DELETE .../sessions?sub=S   ends every session of S
 *   DELETE .../sessions?sid=X   ends session X
 *   GET    .../deliveries       the logout tokens waiting, per client
 * Sessions ended here wait in the outbox for their deliveries.
 */
Response admin_respond(SessionStore &store, const AdminRequest &request);

/* Who the upstream provider is, for the logout tokens it sends. */
struct UpstreamConfig {
    const KeySet *keys = nullptr;     /* its published keys */
    const KeySet *own_keys = nullptr; /* the module's: never the provider's */
    std::string issuer;
    std::vector<std::string> audiences; /* oidc_logout_upstream_client_id */
};

/*
 * A logout token POSTed by the upstream provider (Back-Channel Logout 1.0
 * §2.5-2.8): verified, its jti remembered, and every session it names
 * ended for OL_END_UPSTREAM (by the provider's sid, or all of sub's when
 * it has no sid).  200, or 400 with a JSON error.
 */
/* The sessions an admin request names, for cluster mode to read from
 * Redis first: 'u' (value is a subject), 's' (a sid), or 0. */
char admin_scope(const AdminRequest &rq, std::string &value);
Response upstream_logout(const UpstreamConfig &config, SessionStore &store,
                         std::string_view body, int64_t now);

} // namespace oidc_logout
