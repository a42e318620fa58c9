// The front-channel logout page (OpenID Connect Front-Channel Logout 1.0).
#pragma once

#include "client_registry.hpp"
#include "logout_endpoint.hpp"
#include "logout_token.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* The URL a client's iframe loads: its frontchannel_logout_uri, its own
 * query kept, with iss and sid added when the client requires them. */
std::string frontchannel_url(const Client &client, std::string_view issuer,
                             std::string_view sid);

/* What the page needs besides the response it replaces. */
struct FrontchannelSession {
    EndedSession ended;
    std::string_view issuer;
    unsigned timeout_ms = 0; /* oidc_logout_frontchannel_timeout */
    /* where to go when the response is not a redirect */
    std::string_view next_default;
};

/*
 * Replaces response (a redirect or a signed-out page, after its session
 * ended) with the page that loads each client's front-channel URL in a
 * hidden iframe, then goes on to the redirect's Location (or next_default)
 * once every iframe has loaded or timeout_ms has passed.  False, with
 * response unchanged, when no client of the session has a
 * frontchannel_logout_uri; throws only on allocation or random generator
 * failure.
 */
bool frontchannel_page(Response &response, const ClientRegistry &clients,
                       const FrontchannelSession &session);

} // namespace oidc_logout
