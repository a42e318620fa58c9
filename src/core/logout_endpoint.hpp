// Decisions of the logout endpoint (OIDC RP-Initiated Logout, Auth0 mode).
#pragma once

#include "allowlist.hpp"
#include "client_registry.hpp"

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
};

struct Response {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string log_reason;    /* empty: nothing to log */
    bool ends_session = false; /* a refused request changes nothing */
};

/* The response to a logout request whose parameters (query string or form
 * body) are params. */
Response respond(const Endpoint &endpoint, std::string_view params);

/* A 400 response to a request refused before its parameters were read. */
Response refuse_request(std::string reason);

} // namespace oidc_logout
