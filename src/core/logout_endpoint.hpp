// Decisions of the logout endpoint (OIDC RP-Initiated Logout, Auth0 mode).
#pragma once

#include "allowlist.hpp"
#include "client_registry.hpp"
#include "jose.hpp"
#include "pages.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oidc_logout {

enum class Mode { oidc, auth0 };

struct Endpoint {
    Mode mode = Mode::oidc;
    const ClientRegistry *clients = nullptr;
    const Allowlist *tenant_urls = nullptr;
    const KeySet *keys = nullptr;
    std::string_view issuer;
    bool federated = false; /* oidc_logout_federated_url (with an issuer) */
    bool sessions = false;  /* the location has oidc_logout_session */
    const PageTemplate *pages[3] = {nullptr, nullptr, nullptr};
};

/* One logout request, as the glue sees it. */
struct Request {
    std::string_view params; /* query string, or form body of a POST */
    bool post = false;
    /* this endpoint's path, URL-escaped: the confirmation form, the 303,
     * the federated return (on the issuer's origin) */
    std::string_view action;
    bool has_cookie = false;  /* the request sent a session cookie */
    bool has_session = false; /* the cookie names a live session */
    std::string_view session_sid;
    std::string_view session_sub;
    /* the provider's sids of that session, one per client that has one */
    std::vector<std::string_view> provider_sids;
    std::string_view csrf_token; /* bound to that session */
    int64_t now = 0;
};

struct Response {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string log_reason;    /* empty: nothing to log */
    bool ends_session = false; /* a refused or unconfirmed request: no */
    /* the id_token_hint names a kid none of the keys has */
    bool unknown_kid = false;
    /* what the verification of an id_token_hint found (an
     * ol_hint_result), -1 without one */
    int hint = -1;
    /* set: redirect through oidc_logout_federated_url, which gets this
     * (percent-encoded) URL to return to */
    std::string federated_return;
    /* cluster mode: the sessions Redis holds that end too (the upstream
     * provider's token): of a subject ('u'; those of them holding
     * cluster_psid, when set), or holding a provider sid ('p'); 0: none */
    char cluster_kind = 0;
    std::string cluster_value;
    std::string cluster_psid;
};

Response respond(const Endpoint &endpoint, const Request &request);

/* Makes r an HTML page: status, body and the headers of every page
 * (Cache-Control: no-store, csp, nosniff, no referrer). */
void set_page(Response &r, int status, std::string body, std::string csp);

/* Documents served as JSON: the JWKS and the discovery fragment. */
Response json_response(std::string body,
                       std::string cache_control = "max-age=300");
/* backchannel: logout tokens can be signed */
Response metadata_response(std::string_view issuer,
                           std::string_view end_session_path,
                           std::string_view jwks_path, bool backchannel);

/* A 400 response to a request refused before its parameters were read. */
Response refuse_request(std::string reason);

} // namespace oidc_logout
