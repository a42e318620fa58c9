// The C ABI of the operators' locations: the admin API, the upstream
// provider's logout tokens, the metrics page.
#include "c_api.hpp"

#include <cstring>

#include "admin.hpp"
#include "metrics.hpp"

using namespace oidc_logout;
using namespace oidc_logout::c_api;

struct ol_receiver_s {
    UpstreamConfig config;
};

extern "C" {

ol_status
ol_admin_decide(ol_store *store, const ol_arena *arena,
                const ol_admin_request *request, ol_response **out, char *err,
                size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        AdminRequest rq;
        rq.method = view(request->method, request->method_len);
        rq.path = view(request->path, request->path_len);
        rq.args = view(request->args, request->args_len);
        rq.now = seconds(request->now);
        SessionStore s = store_of(store, arena);
        *out = new ol_response(admin_respond(s, rq));
        return OL_OK;
    });
}

int
ol_admin_cluster_scope(const ol_admin_request *request, char *value,
                       size_t value_size, size_t *value_len) noexcept
{
    *value_len = 0;
    try {
        AdminRequest rq;
        rq.path = view(request->path, request->path_len);
        rq.args = view(request->args, request->args_len);
        std::string v;
        char kind = admin_scope(rq, v);
        if (kind == 0 || v.size() > value_size) {
            return 0;
        }
        std::memcpy(value, v.data(), v.size());
        *value_len = v.size();
        return kind;
    } catch (...) {
        return 0;
    }
}

int
ol_response_cluster_end(const ol_response *resp, const char **value,
                        size_t *value_len, const char **psid,
                        size_t *psid_len) noexcept
{
    const Response &r = resp->response;
    *value = r.cluster_value.data();
    *value_len = r.cluster_value.size();
    *psid = r.cluster_psid.data();
    *psid_len = r.cluster_psid.size();
    return r.cluster_kind;
}

ol_status
ol_api_refuse(int status, const char *reason, size_t len, const char *allow,
              ol_response **out) noexcept
{
    *out = nullptr;
    return guarded(nullptr, 0, [&]() -> ol_status {
        Response r = api_error(status, "invalid_request",
                               std::string(view(reason, len)));
        if (allow != nullptr) {
            r.headers.emplace_back("Allow", allow);
        }
        *out = new ol_response(std::move(r));
        return OL_OK;
    });
}

ol_status
ol_receiver_new(const ol_receiver_conf *conf, ol_receiver **out, char *err,
                size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        auto r = std::make_unique<ol_receiver>();
        r->config.issuer.assign(view(conf->issuer, conf->issuer_len));
        r->config.own_keys =
            conf->own_keys != nullptr ? conf->own_keys->keys.get() : nullptr;
        for (size_t i = 0; i < conf->audience_count; i++) {
            r->config.audiences.emplace_back(
                view(conf->audiences[i], conf->audience_lens[i]));
        }
        *out = r.release();
        return OL_OK;
    });
}

void
ol_receiver_free(ol_receiver *receiver) noexcept
{
    delete receiver;
}

ol_status
ol_receiver_decide(const ol_receiver *receiver, const ol_keys *keys,
                   ol_store *store, const ol_arena *arena, const char *body,
                   size_t body_len, uint64_t now, ol_response **out, char *err,
                   size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        UpstreamConfig config = receiver->config;
        config.keys = keys != nullptr ? keys->keys.get() : nullptr;
        SessionStore s = store_of(store, arena);
        *out = new ol_response(upstream_logout(config, s, view(body, body_len),
                                               static_cast<int64_t>(now)));
        return OL_OK;
    });
}

ol_status
ol_metrics_respond(ol_store *store, const ol_arena *arena,
                   const ol_clients *clients, const char *zone,
                   uint64_t zone_bytes, ol_response **out, char *err,
                   size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        SessionStore s = store_of(store, arena);
        ol_store_stats st{};
        s.stats(st);
        ol_metrics m{};
        m.sessions = st.sessions;
        m.logins = st.created;
        m.joins = st.joins;
        for (size_t i = 0; i < OL_END_CAUSES; i++) {
            m.ends[i] = st.ends[i];
        }
        s.counters(m.logouts, m.hints, m.upstream);
        m.pending = st.pending;
        m.zone_bytes = zone_bytes;
        m.zone_bytes_free = st.slots_free * slot_size;
        m.repaired = st.repaired;
        m.rebuilt = st.rebuilt;

        /* the registry's clients: each one's counters are a few words
         * (the deliveries waiting in all are in m.pending) */
        std::vector<std::string> ids;
        if (clients != nullptr) {
            for (const Client *c : clients->registry->in_order()) {
                ids.push_back(c->id);
            }
        }
        std::vector<ol_client_metrics> rows(ids.size());
        for (size_t i = 0; i < ids.size(); i++) {
            rows[i].client_id = ids[i].c_str();
            s.client_sent(ids[i], rows[i].sent, &rows[i].pending);
        }
        m.clients = rows.data();
        m.client_count = rows.size();

        Response r = api_response(200, metrics_text(m, zone ? zone : ""));
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        *out = new ol_response(std::move(r));
        return OL_OK;
    });
}

} // extern "C"
