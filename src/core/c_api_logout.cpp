// The C ABI of a logout: the endpoint object, the one call that decides a
// request, its response, and the back-channel deliveries it leaves.
#include "c_api.hpp"

#include "frontchannel.hpp"
#include "logout_endpoint.hpp"
#include "url.hpp"

#include <arpa/inet.h>
#include <optional>
#include <type_traits>

using namespace oidc_logout;
using namespace oidc_logout::c_api;

namespace {

Endpoint
endpoint_of(const ol_endpoint_conf &conf)
{
    Endpoint ep;
    ep.mode = conf.mode == OL_MODE_AUTH0 ? Mode::auth0 : Mode::oidc;
    ep.clients = conf.clients ? conf.clients->registry.get() : nullptr;
    ep.tenant_urls = conf.tenant_urls ? &conf.tenant_urls->list : nullptr;
    ep.keys = conf.keys ? conf.keys->keys.get() : nullptr;
    ep.issuer = view(conf.issuer, conf.issuer_len);
    ep.federated = conf.federated != 0;
    ep.sessions = conf.sessions != 0;
    for (int i = 0; i < 3; i++) {
        ep.pages[i] = conf.pages[i] ? conf.pages[i]->page.get() : nullptr;
    }
    return ep;
}

} // namespace

namespace oidc_logout::c_api {

namespace {

/* What a request to u needs: the host, the Host header and the request
 * target (kept in text, which must not reallocate), and its flags. */
ol_target
target_of_url(const Url &u, std::string *text)
{
    text[0] = u.host;
    text[1] = u.origin().substr(u.scheme.size() + 3);
    text[2] = u.path + (u.has_query ? "?" + u.query : "");

    ol_target t{};
    t.https = u.scheme == "https";
    t.host = text[0].data();
    t.host_len = text[0].size();
    /* an IPv6 literal, or an IPv4 address (no certificate names it as a
     * DNS name, nor does SNI) */
    in_addr v4;
    t.host_is_literal =
        u.host_is_literal || inet_pton(AF_INET, u.host.c_str(), &v4) == 1;
    t.port = static_cast<unsigned>(u.port);
    t.authority = text[1].data();
    t.authority_len = text[1].size();
    t.target = text[2].data();
    t.target_len = text[2].size();
    return t;
}

} // namespace

void
make_targets(ol_clients *clients)
{
    std::call_once(clients->targets_made, [clients]() {
        const auto &order = clients->registry->in_order();
        size_t n = 0;
        for (const Client *c : order) {
            n += c->backchannel_logout_uri.empty() ? 0 : 1;
        }
        /* the targets point into these strings: no reallocation */
        clients->target_text.resize(3 * n);
        clients->targets.reserve(n);
        for (const Client *c : order) {
            Url u;
            std::string reason;
            if (c->backchannel_logout_uri.empty() ||
                !parse_url(c->backchannel_logout_uri, UrlKind::candidate, u,
                           reason)) {
                continue; /* the registry has checked every URI */
            }
            ol_target t = target_of_url(
                u, &clients->target_text[3 * clients->targets.size()]);
            t.client_id = c->id.c_str();
            t.uri = c->backchannel_logout_uri.c_str();
            clients->target_of[c->id] = clients->targets.size();
            clients->targets.push_back(t);
        }
    });
}

} // namespace oidc_logout::c_api

extern "C" {

size_t
ol_clients_targets(ol_clients *clients, ol_target **targets) noexcept
{
    *targets = nullptr;
    if (clients == nullptr) {
        return 0;
    }
    try {
        make_targets(clients);
    } catch (...) {
        return 0;
    }
    *targets = clients->targets.data();
    return clients->targets.size();
}

/* A target of its own: the target first (a standard-layout struct, so
 * that a pointer to it is one to its owner), then its strings: the URL,
 * then what target_of_url keeps. */
struct ol_owned_target {
    ol_target target;
    std::string *text = nullptr; /* new[], freed with the owner (a
                                  * unique_ptr member is not standard-layout
                                  * everywhere) */

    ol_owned_target() = default;
    ol_owned_target(const ol_owned_target &) = delete;
    ol_owned_target &operator=(const ol_owned_target &) = delete;
    ~ol_owned_target()
    {
        delete[] text;
    }
};
static_assert(std::is_standard_layout_v<ol_owned_target>);

ol_status
ol_target_parse(const char *url, size_t len, ol_target **out, char *err,
                size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        Url u;
        std::string reason;
        if (!parse_url(view(url, len), UrlKind::candidate, u, reason)) {
            set_error(err, errlen, reason);
            return OL_INVALID;
        }
        if (u.scheme != "http" && u.scheme != "https") {
            set_error(err, errlen, "the scheme must be http or https");
            return OL_INVALID;
        }
        auto owned = std::make_unique<ol_owned_target>();
        owned->text = new std::string[4];
        owned->text[3].assign(view(url, len));
        owned->target = target_of_url(u, &owned->text[0]);
        owned->target.client_id = owned->text[3].c_str();
        owned->target.uri = owned->text[3].c_str();
        *out = &owned.release()->target;
        return OL_OK;
    });
}

void
ol_target_free(ol_target *target) noexcept
{
    /* the target is the first member of its owner */
    delete reinterpret_cast<ol_owned_target *>(target);
}

/* ---- the endpoint ------------------------------------------------------- */

ol_status
ol_endpoint_new(const ol_endpoint_conf *conf, ol_endpoint **out, char *err,
                size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        auto ep = std::make_unique<ol_endpoint>();
        ep->config.issuer.assign(view(conf->issuer, conf->issuer_len));
        ep->config.endpoint = endpoint_of(*conf);
        ep->config.endpoint.issuer = ep->config.issuer;
        ep->config.frontchannel_timeout_ms = conf->frontchannel_timeout_ms;
        ep->config.backchannel_retries = conf->backchannel_retries;
        ep->config.backchannel_lease = round_lease(
            conf->backchannel_retries, conf->backchannel_timeout_ms);
        ep->config.provider =
            conf->provider != nullptr ? &conf->provider->config : nullptr;
        ep->clients = const_cast<ol_clients *>(conf->clients);
        ep->keys = conf->keys;
        if (ep->clients != nullptr) {
            make_targets(ep->clients);
        }
        *out = ep.release();
        return OL_OK;
    });
}

void
ol_endpoint_free(ol_endpoint *endpoint) noexcept
{
    delete endpoint;
}

ol_status
ol_logout_decide(const ol_endpoint *endpoint, const ol_logout_request *request,
                 ol_response **out, char *err, size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        LogoutCall call;
        call.params = view(request->params, request->params_len);
        call.post = request->post != 0;
        call.action = view(request->action, request->action_len);
        call.handle = view(request->handle, request->handle_len);
        call.unverified = request->unverified != 0;
        call.cookie = view(request->cookie, request->cookie_len);
        call.now = request->now;
        call.keys = request->keys ? request->keys->keys.get() : nullptr;
        std::optional<SessionStore> store;
        if (request->store != nullptr) {
            store.emplace(store_of(request->store, request->arena));
            call.store = &*store;
        }
        if (request->federated_url != nullptr) {
            call.federated_url = [request](std::string_view back,
                                           std::string &url) {
                const char *p = nullptr;
                size_t len = 0;
                if (request->federated_url(request->data, back.data(),
                                           back.size(), &p, &len) != OL_OK) {
                    return false;
                }
                url.assign(view(p, len));
                return true;
            };
        }

        LogoutOutcome outcome = decide_logout(endpoint->config, call);

        auto resp = std::make_unique<ol_response>();
        resp->response = std::move(outcome.response);
        resp->clear_cookie = outcome.clear_cookie;
        if (outcome.notify) {
            auto d = std::make_unique<ol_deliveries>();
            d->keys = endpoint->keys;
            d->clients = endpoint->clients;
            d->issuer = endpoint->config.issuer;
            d->ended = std::move(outcome.ended);
            d->ended_at = request->now;
            d->store = request->store;
            if (request->arena != nullptr) {
                d->arena = *request->arena;
            }
            d->retries = endpoint->config.backchannel_retries;
            d->claim = outcome.pending;
            resp->deliveries = std::move(d);
        }
        *out = resp.release();
        return OL_OK;
    });
}

int
ol_response_clears_cookie(const ol_response *response) noexcept
{
    return response->clear_cookie ? 1 : 0;
}

int
ol_response_unknown_kid(const ol_response *response) noexcept
{
    return response->response.unknown_kid ? 1 : 0;
}

ol_deliveries *
ol_response_take_deliveries(ol_response *response) noexcept
{
    return response->deliveries.release();
}

/* ---- the deliveries ----------------------------------------------------- */

ol_status
ol_deliveries_sign(ol_deliveries *d, char *err, size_t errlen) noexcept
{
    if (d->keys == nullptr || !d->keys->keys->can_sign()) {
        set_error(err, errlen, "no private key");
        return OL_DENIED;
    }
    return guarded(err, errlen, [&]() -> ol_status {
        EndedSession session = d->ended.session();
        make_targets(d->clients);
        std::vector<Delivery> list =
            backchannel_deliveries(*d->keys->keys, *d->clients->registry,
                                   d->issuer, session, d->ended_at);
        d->targets.clear();
        d->bodies.clear();
        for (Delivery &one : list) {
            auto t = d->clients->target_of.find(one.client->id);
            if (t == d->clients->target_of.end()) {
                continue;
            }
            d->targets.push_back(&d->clients->targets[t->second]);
            d->bodies.push_back(std::move(one.body));
        }
        d->attempts.assign(d->targets.size(), 0);
        d->through.assign(d->targets.size(), false);
        d->is_signed = true;
        return OL_OK;
    });
}

const char *
ol_deliveries_sid(const ol_deliveries *deliveries) noexcept
{
    return deliveries->ended.sid.c_str();
}

size_t
ol_deliveries_count(const ol_deliveries *deliveries) noexcept
{
    return deliveries->targets.size();
}

void
ol_delivery_get(const ol_deliveries *deliveries, size_t index,
                const ol_target **target, const char **body,
                size_t *body_len) noexcept
{
    *target = deliveries->targets[index];
    *body = deliveries->bodies[index].data();
    *body_len = deliveries->bodies[index].size();
}

ol_delivery_outcome
ol_delivery_attempted(ol_deliveries *deliveries, size_t index,
                      ol_attempt attempt_end, unsigned status, int final,
                      unsigned *attempt, uint64_t *retry_in_ms) noexcept
{
    unsigned n = ++deliveries->attempts[index];
    uint64_t delay = 0;
    ol_delivery_outcome outcome = judge_delivery(
        attempt_end, status, n, final ? 0 : deliveries->retries, delay);
    deliveries->through[index] = outcome == OL_DELIVERY_DELIVERED ||
                                 (outcome == OL_DELIVERY_FAILED &&
                                  !worth_another_round(attempt_end, status));
    if (deliveries->store != nullptr) {
        SessionStore store = store_of(deliveries->store, &deliveries->arena);
        if (deliveries->through[index] && deliveries->claim.ref != 0) {
            /* saved at once: a worker that dies later in the round leaves
             * this client through */
            try {
                store.settle(deliveries->claim, deliveries->ended.sid,
                             {deliveries->targets[index]->client_id}, 0, false);
            } catch (...) {
                /* the round's settle does it */
            }
        }
        store.count_delivery(outcome);
        store.count_sent(deliveries->targets[index]->client_id,
                         outcome == OL_DELIVERY_DELIVERED ? OL_SENT_DELIVERED
                         : outcome == OL_DELIVERY_RETRIED ? OL_SENT_RETRIED
                                                          : OL_SENT_FAILED);
    }
    *attempt = n;
    *retry_in_ms = delay;
    return outcome;
}

void
ol_deliveries_free(ol_deliveries *deliveries) noexcept
{
    delete deliveries;
}

void
ol_deliveries_settle(ol_deliveries *d, uint64_t now) noexcept
{
    if (d->claim.ref == 0 || d->store == nullptr) {
        return;
    }
    guarded(nullptr, 0, [&]() -> ol_status {
        /* unsigned: nobody is through, the round is tried again */
        std::vector<std::string> done;
        for (size_t i = 0; d->is_signed && i < d->ended.client_ids.size();
             i++) {
            const std::string &client = d->ended.client_ids[i];
            bool through = true; /* no back-channel: nothing to deliver */
            for (size_t t = 0; t < d->targets.size(); t++) {
                if (client == d->targets[t]->client_id) {
                    through = d->through[t];
                }
            }
            if (through) {
                done.push_back(client);
            }
        }
        store_of(d->store, &d->arena)
            .settle(d->claim, d->ended.sid, done,
                    seconds(now) + next_round_in(d->rounds));
        d->claim = Claim();
        return OL_OK;
    });
}

unsigned
ol_store_sweep(ol_store *store, const ol_arena *arena, uint64_t now,
               unsigned buckets) noexcept
{
    try {
        return store_of(store, arena).sweep(seconds(now), buckets);
    } catch (...) {
        return 0;
    }
}

size_t
ol_pending_take(ol_store *store, const ol_arena *arena,
                const ol_notifier_conf *conf, uint64_t now, ol_deliveries **out,
                size_t max) noexcept
{
    size_t taken = 0;
    guarded(nullptr, 0, [&]() -> ol_status {
        std::vector<Pending> pending;
        SessionStore s = store_of(store, arena);
        s.claim(seconds(now), round_lease(conf->retries, conf->timeout_ms),
                conf->give_up, max, pending);
        for (Pending &p : pending) {
            if (conf->keys == nullptr || conf->clients == nullptr) {
                /* no server of the zone delivers logout tokens */
                EndedRecord ended = ended_record(p.info);
                s.settle(p.claim, ended.sid, ended.client_ids, seconds(now));
                continue;
            }
            auto d = std::make_unique<ol_deliveries>();
            d->keys = conf->keys;
            d->clients = const_cast<ol_clients *>(conf->clients);
            d->issuer.assign(view(conf->issuer, conf->issuer_len));
            d->ended = ended_record(p.info);
            d->ended_at = static_cast<int64_t>(now); /* fresh tokens */
            d->store = store;
            d->arena = *arena;
            d->retries = conf->retries;
            d->claim = p.claim;
            d->rounds = p.attempts;
            out[taken++] = d.release();
        }
        return OL_OK;
    });
    return taken;
}

/* ---- parts of a decision, for the unit tests ---------------------------- */

ol_status
ol_logout_respond(const ol_endpoint_conf *endpoint,
                  const ol_logout_state *request, ol_response **out) noexcept
{
    return guarded(nullptr, 0, [&]() -> ol_status {
        Request rq;
        rq.params = view(request->params, request->params_len);
        rq.post = request->post != 0;
        rq.action = view(request->action, request->action_len);
        rq.has_cookie = request->has_cookie != 0;
        rq.has_session = request->has_session != 0;
        rq.session_sid = view(request->session_sid, request->session_sid_len);
        rq.session_sub = view(request->session_sub, request->session_sub_len);
        rq.csrf_token = view(request->csrf_token, request->csrf_token_len);
        rq.now = request->now;
        auto resp = std::make_unique<ol_response>();
        resp->response = respond(endpoint_of(*endpoint), rq);
        *out = resp.release();
        return OL_OK;
    });
}

int
ol_response_ends_session(const ol_response *response) noexcept
{
    return response->response.ends_session ? 1 : 0;
}

const char *
ol_response_federated_return(const ol_response *response, size_t *len) noexcept
{
    const std::string &r = response->response.federated_return;
    *len = r.size();
    return r.empty() ? nullptr : r.data();
}

ol_status
ol_frontchannel_page(ol_response *response, const ol_endpoint_conf *endpoint,
                     const ol_session_info *ended, unsigned timeout_ms,
                     const char *next, size_t next_len, int *replaced) noexcept
{
    *replaced = 0;
    if (endpoint->clients == nullptr || ended->client_count == 0) {
        return OL_OK;
    }
    return guarded(nullptr, 0, [&]() -> ol_status {
        EndedRecord record = ended_record(*ended);
        FrontchannelSession session;
        session.ended = record.session();
        session.issuer = view(endpoint->issuer, endpoint->issuer_len);
        session.timeout_ms = timeout_ms;
        session.next_default = view(next, next_len);
        *replaced = frontchannel_page(response->response,
                                      *endpoint->clients->registry, session)
                        ? 1
                        : 0;
        return OL_OK;
    });
}

ol_status
ol_backchannel_deliveries(const ol_keys *keys, const ol_clients *clients,
                          const char *issuer, size_t issuer_len,
                          const ol_session_info *ended, int64_t now,
                          ol_deliveries **out, char *err,
                          size_t errlen) noexcept
{
    *out = nullptr;
    ol_status rc = guarded(err, errlen, [&]() -> ol_status {
        auto d = std::make_unique<ol_deliveries>();
        d->keys = keys;
        d->clients = const_cast<ol_clients *>(clients);
        d->issuer.assign(view(issuer, issuer_len));
        d->ended = ended_record(*ended);
        d->ended_at = now;
        *out = d.release();
        return OL_OK;
    });
    if (rc == OL_OK) {
        rc = ol_deliveries_sign(*out, err, errlen);
        if (rc != OL_OK) {
            ol_deliveries_free(*out);
            *out = nullptr;
        }
    }
    return rc;
}

ol_delivery_outcome
ol_delivery_judge(ol_attempt attempt_end, unsigned status, unsigned attempt,
                  unsigned retries, uint64_t *retry_in_ms) noexcept
{
    uint64_t delay = 0;
    ol_delivery_outcome outcome =
        judge_delivery(attempt_end, status, attempt, retries, delay);
    if (retry_in_ms != nullptr) {
        *retry_in_ms = delay;
    }
    return outcome;
}

} // extern "C"
