// One logout request, decided whole (see logout.hpp).
#include "logout.hpp"

#include "frontchannel.hpp"

namespace oidc_logout {

namespace {

bool
has_backchannel_client(const ClientRegistry *clients,
                       const std::vector<std::string> &ids)
{
    for (const std::string &id : ids) {
        const Client *c = clients ? clients->find(id) : nullptr;
        if (c != nullptr && !c->backchannel_logout_uri.empty()) {
            return true;
        }
    }
    return false;
}

} // namespace

EndedRecord
ended_record(const ol_session_info &info)
{
    EndedRecord ended;
    ended.sid = info.sid;
    ended.sub.assign(info.sub, info.sub_len);
    const char *id = info.clients;
    const char *psid = info.provider_sids;
    for (size_t i = 0; i < info.client_count; i++) {
        ended.client_ids.emplace_back(id);
        id += ended.client_ids.back().size() + 1;
        ended.provider_sids.emplace_back(psid);
        psid += ended.provider_sids.back().size() + 1;
    }
    return ended;
}

EndedSession
EndedRecord::session() const
{
    EndedSession s;
    s.sid = sid;
    s.sub = sub;
    s.client_ids.assign(client_ids.begin(), client_ids.end());
    s.provider_sids.assign(provider_sids.begin(), provider_sids.end());
    return s;
}

LogoutOutcome
decide_logout(const EndpointConfig &config, const LogoutCall &call)
{
    Endpoint ep = config.endpoint;
    if (call.keys != nullptr) {
        ep.keys = call.keys;
    }
    uint32_t now = static_cast<uint32_t>(call.now);

    /* the request's session: the confirmation and the hint's sid need it */
    ol_session_info live;
    EndedRecord live_record;
    std::string csrf;
    Request rq;
    rq.params = call.params;
    rq.post = call.post;
    rq.action = call.action;
    rq.has_cookie = !call.handle.empty();
    rq.now = call.now;
    if (call.store != nullptr && rq.has_cookie &&
        call.store->find(call.handle, now, false, &live) == OL_OK) {
        csrf = call.store->csrf_token(call.handle);
        rq.has_session = true;
        live_record = ended_record(live);
        for (const std::string &psid : live_record.provider_sids) {
            if (!psid.empty()) {
                rq.provider_sids.push_back(psid);
            }
        }
        rq.session_sid = live.sid;
        rq.session_sub = std::string_view(live.sub, live.sub_len);
        rq.csrf_token = csrf;
    }

    LogoutOutcome out;
    out.response = respond(ep, rq);
    Response &r = out.response;
    int mode = ep.mode == Mode::auth0 ? 1 : 0;
    if (call.store != nullptr && r.hint >= 0) {
        call.store->count_hint(static_cast<ol_hint_result>(r.hint));
    }
    if (!r.ends_session) {
        if (call.store != nullptr) {
            call.store->count_logout(mode, r.status >= 400
                                               ? OL_LOGOUT_REFUSED
                                               : OL_LOGOUT_CONFIRMATION);
        }
        return out;
    }

    /* DESIGN §6: end, notify, redirect */
    ol_session_info ended{};
    if (call.store != nullptr && rq.has_cookie) {
        /* idempotent: only the request that ended it learns its clients,
         * so they are notified once */
        if (call.store->end(call.handle, now, &ended, OL_END_LOGOUT,
                            &out.pending, config.backchannel_lease) != OL_OK) {
            ended = ol_session_info{};
            /* cluster mode, Redis not asked: a session this node never
             * saw ends once Redis is back */
            if (call.unverified) {
                call.store->end_unknown(call.handle, now);
            }
        }
        out.clear_cookie = true;
    }
    /* the provider's session cookies: expired whatever the response
     * becomes, and never taken again */
    std::vector<std::string> expired;
    if (config.provider != nullptr && call.store != nullptr) {
        expired =
            revoke_cookies(*config.provider, *call.store, call.cookie, now);
    }
    auto expire_cookies = [&]() {
        for (std::string &set : expired) {
            r.headers.emplace_back("Set-Cookie", std::move(set));
        }
    };
    EndedRecord record = ended_record(ended);
    const std::vector<std::string> &ids = record.client_ids;
    if (has_backchannel_client(ep.clients, ids)) {
        out.notify = true;
        out.ended = record;
    } else if (out.pending.ref != 0) {
        /* nobody to tell by back-channel */
        call.store->settle(out.pending, record.sid, ids, now);
        out.pending = Claim();
    }

    std::string location;
    if (!r.federated_return.empty()) {
        if (!call.federated_url ||
            !call.federated_url(r.federated_return, location)) {
            r = Response();
            r.status = 500;
            r.log_reason = "oidc_logout_federated_url could not be evaluated";
            expire_cookies();
            return out;
        }
    }

    bool redirected = !location.empty() || r.status == 302 || r.status == 303;
    bool replaced = false;
    if (!ids.empty() && ep.clients != nullptr) {
        FrontchannelSession session;
        session.ended = record.session();
        session.issuer = ep.issuer;
        session.timeout_ms = config.frontchannel_timeout_ms;
        session.next_default =
            location.empty() ? call.action : std::string_view(location);
        replaced = frontchannel_page(r, *ep.clients, session);
    }
    if (!location.empty() && !replaced) {
        r.headers.insert(r.headers.begin(), {"Location", location});
    }
    if (call.store != nullptr) {
        call.store->count_logout(mode, redirected ? OL_LOGOUT_REDIRECTED
                                                  : OL_LOGOUT_PAGE);
    }
    r.federated_return.clear();
    expire_cookies();
    return out;
}

} // namespace oidc_logout
