// One logout request, decided whole: the session it ends, the response, the
// front-channel page, the federated step and who hears of it by back-channel.
#pragma once

#include "logout_endpoint.hpp"
#include "logout_token.hpp"
#include "provider.hpp"
#include "session_store.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* An endpoint as the configuration made it, built once per location. */
struct EndpointConfig {
    Endpoint endpoint; /* its issuer views issuer below */
    const ProviderConfig *provider = nullptr; /* its cookies are revoked */
    std::string issuer;
    unsigned frontchannel_timeout_ms = 0;
    unsigned backchannel_retries = 0;
    /* how long the deliveries of a logout may take, in seconds: the
     * worker that ends the session holds them that long */
    uint32_t backchannel_lease = 0;
};

/* Evaluates oidc_logout_federated_url with return_to as
 * $oidc_logout_return_to; false when it cannot. */
using FederatedUrl =
    std::function<bool(std::string_view return_to, std::string &url)>;

/* What the request brings besides its parameters. */
struct LogoutCall {
    std::string_view params;
    bool post = false;
    std::string_view action;       /* see Request::action */
    SessionStore *store = nullptr; /* the location's sessions, if any */
    std::string_view handle;       /* the session cookie */
    bool unverified = false;       /* see ol_logout_request */
    std::string_view cookie;       /* the request's Cookie header(s) */
    int64_t now = 0;
    FederatedUrl federated_url;
    const KeySet *keys = nullptr; /* verify the hint; nullptr: the endpoint's */
};

/* The session a logout ended, for the back-channel deliveries. */
struct EndedRecord {
    std::string sid;
    std::string sub;
    std::vector<std::string> client_ids;
    std::vector<std::string> provider_sids; /* the provider's, per client */

    /* Views of the record, valid as long as it is. */
    EndedSession session() const;
};

/* The session of info (as the store fills it; ended, or live): the packed
 * client ids and provider sids, one after another, unpacked. */
EndedRecord ended_record(const ol_session_info &info);

struct LogoutOutcome {
    Response response;
    bool clear_cookie = false; /* the request's cookie is to be cleared */
    /* the ended session, when one of its clients has a
     * backchannel_logout_uri */
    bool notify = false;
    EndedRecord ended;
    Claim pending; /* its deliveries, held in the outbox */
};

/*
 * Finds the request's session, decides the response (respond), and when
 * it ends the session: ends it, takes the federated step, replaces the
 * response with the front-channel page when the session's clients have
 * one, and says who is to be notified by back-channel.  A federated URL
 * that cannot be evaluated makes a 500 with the reason to log; the session
 * has ended all the same, and its clients are notified.
 */
LogoutOutcome decide_logout(const EndpointConfig &config,
                            const LogoutCall &call);

} // namespace oidc_logout
