#include "admin.hpp"

#include "params.hpp"
#include "received_logout.hpp"
#include "text.hpp"

#include <memory>

namespace oidc_logout {

namespace {

/* How many sessions of one subject a listing shows. */
constexpr size_t listed_max = 256;

std::string
json_string(std::string_view s)
{
    return '"' + json_escape(s) + '"';
}

std::string
session_json(const ol_session_info &info)
{
    std::string out = "{\"sid\":" + json_string(info.sid) +
                      ",\"sub\":" + json_string({info.sub, info.sub_len}) +
                      ",\"created\":" + std::to_string(info.created) +
                      ",\"last_used\":" + std::to_string(info.last_used) +
                      ",\"clients\":[";
    const char *client = info.clients;
    const char *psid = info.provider_sids;
    for (size_t i = 0; i < info.client_count; i++) {
        std::string_view c(client);
        std::string_view p(psid);
        out +=
            (i ? ",{" : "{") + std::string("\"client_id\":") + json_string(c);
        if (!p.empty()) {
            out += ",\"provider_sid\":" + json_string(p);
        }
        out += "}";
        client += c.size() + 1;
        psid += p.size() + 1;
    }
    return out + "]}";
}

std::string_view
last_segment(std::string_view path)
{
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Response
sessions(SessionStore &store, const AdminRequest &rq, const Params &p)
{
    const std::string *sub = p.get("sub");
    const std::string *sid = p.get("sid");
    if ((sub == nullptr) == (sid == nullptr)) {
        return api_error(400, "invalid_request",
                         "admin: give either sub or sid");
    }
    if (rq.method == "GET") {
        std::vector<ol_session_info> infos;
        if (sid != nullptr) {
            infos.emplace_back();
            if (store.find_by_sid(*sid, rq.now, &infos[0]) != OL_OK) {
                infos.clear();
            }
        } else {
            infos.resize(listed_max);
            infos.resize(
                store.list_by_sub(*sub, rq.now, infos.data(), infos.size()));
        }
        std::string body = "{\"sessions\":[";
        for (size_t i = 0; i < infos.size(); i++) {
            body += (i ? "," : "") + session_json(infos[i]);
        }
        /* the subject has more than a listing shows */
        body += infos.size() == listed_max ? "],\"more\":true}" : "]}";
        return api_response(200, body);
    }
    if (rq.method == "DELETE") {
        size_t ended = sid != nullptr
                           ? (store.end_by_sid(*sid, OL_END_ADMIN, rq.now,
                                               nullptr) == OL_OK
                                  ? 1
                                  : 0)
                           : store.end_by_sub(*sub, std::string_view(),
                                              OL_END_ADMIN, rq.now);
        return api_response(200, "{\"ended\":" + std::to_string(ended) + "}");
    }
    Response r =
        api_error(405, "invalid_request", "admin: sessions take GET or DELETE");
    r.headers.emplace_back("Allow", "GET, DELETE");
    return r;
}

Response
deliveries(SessionStore &store, const AdminRequest &rq)
{
    if (rq.method != "GET") {
        Response r =
            api_error(405, "invalid_request", "admin: deliveries take GET");
        r.headers.emplace_back("Allow", "GET");
        return r;
    }
    std::string body = "{\"pending\":[";
    bool first = true;
    for (const SessionStore::PendingClient &c : store.pending_clients()) {
        body += (first ? "{" : ",{") + std::string("\"client_id\":") +
                json_string(c.client) +
                ",\"deliveries\":" + std::to_string(c.count) +
                ",\"oldest_end\":" + std::to_string(c.oldest) +
                ",\"next_attempt\":" + std::to_string(c.next_due) + "}";
        first = false;
    }
    return api_response(200, body + "]}");
}

} // namespace

Response
api_response(int status, std::string body)
{
    Response r = json_response(std::move(body), "no-store");
    r.status = status;
    return r;
}

Response
api_error(int status, std::string_view error, std::string description)
{
    Response r = api_response(
        status, "{\"error\":" + json_string(error) +
                    ",\"error_description\":" + json_string(description) + "}");
    r.log_reason = std::move(description);
    return r;
}

char
admin_scope(const AdminRequest &rq, std::string &value)
{
    Params p({"sub", "sid"});
    std::string reason;
    if (last_segment(rq.path) != "sessions" || !p.parse(rq.args, reason)) {
        return 0;
    }
    const std::string *sub = p.get("sub");
    const std::string *sid = p.get("sid");
    if ((sub == nullptr) == (sid == nullptr)) {
        return 0;
    }
    value = sub != nullptr ? *sub : *sid;
    return sub != nullptr ? 'u' : 's';
}

Response
admin_respond(SessionStore &store, const AdminRequest &request)
{
    /* HEAD reads as GET; the server sends the headers only */
    AdminRequest rq = request;
    if (rq.method == "HEAD") {
        rq.method = "GET";
    }
    Params p({"sub", "sid"});
    std::string reason;
    if (!p.parse(rq.args, reason)) {
        return api_error(400, "invalid_request", "admin: " + reason);
    }
    std::string_view resource = last_segment(rq.path);
    if (resource == "sessions") {
        return sessions(store, rq, p);
    }
    if (resource == "deliveries") {
        return deliveries(store, rq);
    }
    return api_error(404, "not_found",
                     "admin: no resource " + quoted(resource) +
                         " (sessions, deliveries)");
}

Response
upstream_logout(const UpstreamConfig &config, SessionStore &store,
                std::string_view body, int64_t now)
{
    auto refuse = [&](std::string why, bool unknown_kid = false) {
        store.count_upstream(OL_UPSTREAM_REFUSED);
        Response r =
            api_error(400, "invalid_request", "backchannel receiver: " + why);
        r.unknown_kid = unknown_kid;
        return r;
    };
    Params p({"logout_token"});
    std::string reason;
    if (!p.parse(body, reason)) {
        return refuse(reason);
    }
    const std::string *token = p.get("logout_token");
    if (token == nullptr) {
        return refuse("no logout_token");
    }
    if (config.keys == nullptr) {
        return refuse("no keys of the provider yet", true);
    }
    ReceivedLogout claims;
    bool unknown_kid = false;
    if (!verify_received_logout(*config.keys, config.issuer, config.audiences,
                                *token, now, claims, reason, &unknown_kid)) {
        return refuse(reason, unknown_kid);
    }
    std::string payload, typ, own_reason;
    if (config.own_keys != nullptr &&
        config.own_keys->verify_jws(*token, payload, typ, own_reason, nullptr,
                                    true)) {
        /* oidc_logout_keys_url names a JWKS that lists the module's key
         * (nginx's own jwks_uri): an application must not hand its logout
         * token back as the provider's */
        return refuse("the token is signed by this module's own key");
    }
    /* a token is taken once: its jti is remembered as long as its iat
     * is young enough to be accepted */
    uint32_t until = static_cast<uint32_t>(claims.iat + received_token_max_age +
                                           iat_leeway + 1);
    if (!store.remember_once("jti", config.issuer + '\0' + claims.jti, until,
                             static_cast<uint32_t>(now))) {
        return refuse("the token was received before (jti " +
                      quoted(claims.jti) + ")");
    }
    uint32_t at = static_cast<uint32_t>(now);
    Response r = api_response(200, std::string());
    if (!claims.sid.empty() && !claims.sub.empty()) {
        store.end_by_sub(claims.sub, claims.sid, OL_END_UPSTREAM, at);
        r.cluster_kind = 'u';
        r.cluster_psid = claims.sid;
    } else if (!claims.sid.empty()) {
        store.end_by_provider_sid(claims.sid, OL_END_UPSTREAM, at);
        r.cluster_kind = 'p';
    } else {
        store.end_by_sub(claims.sub, std::string_view(), OL_END_UPSTREAM, at);
        r.cluster_kind = 'u';
    }
    r.cluster_value = r.cluster_kind == 'p' ? claims.sid : claims.sub;
    store.count_upstream(OL_UPSTREAM_ACCEPTED);
    return r;
}

} // namespace oidc_logout
