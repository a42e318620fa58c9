#include "logout_token.hpp"

#include "random_id.hpp"
#include "received_logout.hpp"
#include "text.hpp"

namespace oidc_logout {

namespace {

std::string
json_string(std::string_view s)
{
    return '"' + json_escape(s) + '"';
}

} // namespace

std::string_view
EndedSession::sid_for(size_t index) const
{
    return index < provider_sids.size() && !provider_sids[index].empty()
               ? provider_sids[index]
               : sid;
}

std::string
logout_token_claims(std::string_view issuer, const Client &client,
                    std::string_view sid, std::string_view sub, int64_t now)
{
    std::string claims =
        "{\"iss\":" + json_string(issuer) +
        ",\"aud\":" + json_string(client.id) +
        ",\"iat\":" + std::to_string(now) +
        ",\"exp\":" + std::to_string(now + logout_token_lifetime) +
        ",\"jti\":" + json_string(random_id_text()) + ",\"events\":{" +
        json_string(backchannel_logout_event) + ":{}}";
    if (!client.backchannel_sid_refused || sub.empty()) {
        claims += ",\"sid\":" + json_string(sid);
    }
    if (!sub.empty()) {
        claims += ",\"sub\":" + json_string(sub);
    }
    return claims + "}";
}

std::vector<Delivery>
backchannel_deliveries(const KeySet &keys, const ClientRegistry &clients,
                       std::string_view issuer, const EndedSession &session,
                       int64_t now)
{
    std::vector<Delivery> out;
    for (size_t i = 0; i < session.client_ids.size(); i++) {
        const Client *c = clients.find(session.client_ids[i]);
        if (c == nullptr || c->backchannel_logout_uri.empty()) {
            continue;
        }
        /* a compact JWS is base64url and dots: form-safe as it is */
        out.push_back(Delivery{
            c, "logout_token=" +
                   keys.sign(logout_token_claims(issuer, *c, session.sid_for(i),
                                                 session.sub, now),
                             "logout+jwt")});
    }
    return out;
}

namespace {

/* The first retry waits this long, each next one twice as long, up to
 * retry_delay_max. */
constexpr uint64_t retry_delay_ms = 1000;
constexpr uint64_t retry_delay_max_ms = 30000;

} // namespace

ol_delivery_outcome
judge_delivery(ol_attempt attempt_end, unsigned status, unsigned attempt,
               unsigned retries, uint64_t &retry_in_ms)
{
    retry_in_ms = 0;
    if (attempt_end == OL_ATTEMPT_ANSWERED &&
        (status == 200 || status == 204)) {
        return OL_DELIVERY_DELIVERED;
    }
    /* a client error (4xx) or a redirect will not change by itself */
    bool recoverable = attempt_end != OL_ATTEMPT_ABORTED &&
                       worth_another_round(attempt_end, status);
    if (!recoverable || attempt == 0 || attempt > retries) {
        return OL_DELIVERY_FAILED;
    }
    retry_in_ms = retry_delay_max_ms;
    if (attempt - 1 < 16) {
        uint64_t delay = retry_delay_ms << (attempt - 1);
        retry_in_ms = delay < retry_delay_max_ms ? delay : retry_delay_max_ms;
    }
    return OL_DELIVERY_RETRIED;
}

bool
worth_another_round(ol_attempt attempt_end, unsigned status)
{
    return attempt_end != OL_ATTEMPT_ANSWERED ||
           (status >= 500 && status < 600);
}

uint32_t
round_lease(unsigned retries, uint64_t timeout_ms)
{
    uint64_t ms = 5000;
    for (unsigned attempt = 1; attempt <= retries + 1; attempt++) {
        uint64_t delay = 0;
        judge_delivery(OL_ATTEMPT_FAILED, 0, attempt, retries, delay);
        ms += timeout_ms + delay;
    }
    return static_cast<uint32_t>(ms / 1000 + 1);
}

uint32_t
next_round_in(unsigned rounds)
{
    constexpr uint32_t first = 5;
    constexpr uint32_t longest = 300;
    return rounds < 6 ? first << rounds : longest;
}

} // namespace oidc_logout
