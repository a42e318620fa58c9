// The C ABI (src/oidc_logout_core.h, and src/oidc_logout_core_test.h for
// the unit tests): noexcept shims over the core.
#include "c_api.hpp"

#include "allowlist.hpp"
#include "client_registry.hpp"
#include "frontchannel.hpp"
#include "jose.hpp"
#include "logout_endpoint.hpp"
#include "logout_token.hpp"
#include "pages.hpp"
#include "session_store.hpp"
#include "text.hpp"
#include "url.hpp"

#include <cstring>
#include <new>
#include <utility>

using namespace oidc_logout;
using namespace oidc_logout::c_api;

namespace {

/* Runs fn(args..., error), the core's loader of a file or text, and hands
 * what it made to the caller as a new Handle; a refusal is OL_INVALID with
 * the loader's reason. */
template <typename Handle, typename Load, typename... Args>
ol_status
load_into(Handle **out, char *err, size_t errlen, Load &&fn,
          Args &&...args) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        std::string error;
        auto made = fn(std::forward<Args>(args)..., error);
        if (!made) {
            set_error(err, errlen, error);
            return OL_INVALID;
        }
        *out = new Handle{std::move(made)};
        return OL_OK;
    });
}

/* Parses a candidate URL, or says why it is refused. */
bool
parse_candidate(const char *url, size_t len, Url &parsed, char *err,
                size_t errlen)
{
    std::string reason;
    if (!parse_url(view(url, len), UrlKind::candidate, parsed, reason)) {
        set_error(err, errlen, reason);
        return false;
    }
    return true;
}

/* Checks url against one of client_id's lists; denied names the list. */
template <typename Match>
ol_status
check_client_url(const ol_clients *clients, std::string_view client_id,
                 const char *url, size_t url_len, char *err, size_t errlen,
                 const char *denied, Match match) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        const Client *c =
            clients ? clients->registry->find(client_id) : nullptr;
        if (c == nullptr) {
            set_error(err, errlen, "unknown client");
            return OL_DENIED;
        }
        Url parsed;
        if (!parse_candidate(url, url_len, parsed, err, errlen)) {
            return OL_INVALID;
        }
        if (!match(*c, parsed)) {
            set_error(err, errlen, denied);
            return OL_DENIED;
        }
        return OL_OK;
    });
}

/* The reason of a session call's status, for the error buffer. */
void
explain_store_status(ol_status rc, char *err, size_t errlen,
                     const std::string &denied, const std::string &invalid)
{
    switch (rc) {
    case OL_DENIED:
        set_error(err, errlen, denied);
        break;
    case OL_INVALID:
        set_error(err, errlen, invalid);
        break;
    case OL_NOMEM:
        set_error(err, errlen, "no room in the zone, even after evictions");
        break;
    case OL_INTERNAL:
        set_error(err, errlen, "internal failure");
        break;
    default:
        break;
    }
}

} // namespace

extern "C" {

ol_status
ol_url_canonicalize(const char *url, size_t url_len, char *out, size_t out_size,
                    size_t *out_len, char *err, size_t errlen) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        Url parsed;
        if (!parse_candidate(url, url_len, parsed, err, errlen)) {
            return OL_INVALID;
        }
        std::string canonical = parsed.canonical();
        if (canonical.size() > out_size) {
            set_error(err, errlen, "output buffer too small");
            return OL_NOMEM;
        }
        std::memcpy(out, canonical.data(), canonical.size());
        *out_len = canonical.size();
        return OL_OK;
    });
}

ol_status
ol_allowlist_new(ol_allowlist **out) noexcept
{
    return guarded(nullptr, 0, [&]() -> ol_status {
        *out = new ol_allowlist();
        return OL_OK;
    });
}

void
ol_allowlist_free(ol_allowlist *list) noexcept
{
    delete list;
}

ol_status
ol_allowlist_add(ol_allowlist *list, const char *url, size_t len, char *err,
                 size_t errlen) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        std::string reason;
        if (!list->list.add(view(url, len), reason)) {
            set_error(err, errlen, reason);
            return OL_INVALID;
        }
        return OL_OK;
    });
}

size_t
ol_allowlist_size(const ol_allowlist *list) noexcept
{
    return list == nullptr ? 0 : list->list.size();
}

ol_status
ol_allowlist_check(const ol_allowlist *list, const char *url, size_t len,
                   char *err, size_t errlen) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        Url parsed;
        if (!parse_candidate(url, len, parsed, err, errlen)) {
            return OL_INVALID;
        }
        if (list == nullptr || !list->list.matches(parsed)) {
            set_error(err, errlen, "not an allowed URL");
            return OL_DENIED;
        }
        return OL_OK;
    });
}

ol_status
ol_clients_load(const char *path, ol_clients **out, char *err,
                size_t errlen) noexcept
{
    return load_into(out, err, errlen, ClientRegistry::load_file, path);
}

ol_status
ol_clients_parse(const char *json, size_t len, const char *name,
                 ol_clients **out, char *err, size_t errlen) noexcept
{
    return load_into(out, err, errlen, ClientRegistry::parse, view(json, len),
                     name);
}

void
ol_clients_free(ol_clients *clients) noexcept
{
    delete clients;
}

size_t
ol_clients_count(const ol_clients *clients) noexcept
{
    return clients == nullptr ? 0 : clients->registry->size();
}

int
ol_clients_has(const ol_clients *clients, const char *client_id,
               size_t len) noexcept
{
    return clients != nullptr &&
           clients->registry->find(view(client_id, len)) != nullptr;
}

const char *
ol_clients_needing_issuer(const ol_clients *clients) noexcept
{
    const Client *c = clients->registry->needing_issuer();
    return c != nullptr ? c->id.c_str() : nullptr;
}

int
ol_clients_at(const ol_clients *clients, size_t index, const char **client_id,
              const char **backchannel_uri) noexcept
{
    const auto &order = clients->registry->in_order();
    if (index >= order.size()) {
        return 0;
    }
    *client_id = order[index]->id.c_str();
    *backchannel_uri = order[index]->backchannel_logout_uri.c_str();
    return 1;
}

const char *
ol_keys_signing_alg(const ol_keys *keys) noexcept
{
    return keys->keys->signing_alg().c_str();
}

ol_status
ol_clients_check_post_logout(const ol_clients *clients, const char *client_id,
                             size_t client_id_len, const char *url,
                             size_t url_len, char *err, size_t errlen) noexcept
{
    return check_client_url(
        clients, view(client_id, client_id_len), url, url_len, err, errlen,
        "not a registered post_logout_redirect_uri",
        [](const Client &c, const Url &u) { return c.allows_post_logout(u); });
}

ol_status
ol_clients_check_allowed_logout(const ol_clients *clients,
                                const char *client_id, size_t client_id_len,
                                const char *url, size_t url_len, char *err,
                                size_t errlen) noexcept
{
    return check_client_url(clients, view(client_id, client_id_len), url,
                            url_len, err, errlen,
                            "not one of the allowed_logout_urls",
                            [](const Client &c, const Url &u) {
                                return c.allowed_logout_urls.matches(u);
                            });
}

ol_status
ol_keys_load(const char *path, ol_keys **out, char *err, size_t errlen) noexcept
{
    return load_into(out, err, errlen, KeySet::load_file, path);
}

ol_status
ol_keys_parse(const char *json, size_t len, const char *name, ol_keys **out,
              char *err, size_t errlen) noexcept
{
    return load_into(out, err, errlen, KeySet::parse, view(json, len), name);
}

ol_status
ol_keys_parse_published(const char *json, size_t len, const char *name,
                        ol_keys **out, size_t *skipped, char *err,
                        size_t errlen) noexcept
{
    *out = nullptr;
    *skipped = 0;
    return load_into(out, err, errlen, KeySet::parse_published, view(json, len),
                     name, *skipped);
}

ol_status
ol_keys_merge(const ol_keys *own, const ol_keys *fetched, const char *missing,
              ol_keys **out, char *err, size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        *out = new ol_keys{
            KeySet::merge(own ? own->keys.get() : nullptr,
                          fetched ? fetched->keys.get() : nullptr,
                          missing ? std::string(missing) : std::string())};
        return OL_OK;
    });
}

void
ol_keys_free(ol_keys *keys) noexcept
{
    delete keys;
}

size_t
ol_keys_count(const ol_keys *keys) noexcept
{
    return keys == nullptr ? 0 : keys->keys->size();
}

const char *
ol_keys_public_jwks(const ol_keys *keys, size_t *len) noexcept
{
    const std::string &jwks = keys->keys->public_jwks();
    *len = jwks.size();
    return jwks.c_str();
}

ol_status
ol_hint_verify(const ol_keys *keys, const char *issuer, size_t issuer_len,
               const ol_clients *clients, const char *token, size_t token_len,
               int64_t now, ol_hint *out, char *err, size_t errlen) noexcept
{
    return guarded(err, errlen, [&]() -> ol_status {
        Hint hint;
        std::string reason;
        if (keys == nullptr) {
            set_error(err, errlen, "no keys to verify it (oidc_logout_keys)");
            return OL_INVALID;
        }
        if (!keys->keys->verify_hint(
                view(token, token_len), view(issuer, issuer_len),
                clients ? clients->registry.get() : nullptr, now, hint,
                reason)) {
            set_error(err, errlen, reason);
            return OL_INVALID;
        }
        if (hint.sub.size() > OL_SUB_MAX || hint.sid.size() > OL_SUB_MAX) {
            set_error(err, errlen, "sub or sid longer than 255 bytes");
            return OL_INVALID;
        }
        copy_text(out->client_id, hint.client_id);
        copy_text(out->sub, hint.sub);
        copy_text(out->sid, hint.sid);
        return OL_OK;
    });
}

ol_store *
ol_store_create(const ol_arena *arena, size_t zone_size) noexcept
{
    try {
        return reinterpret_cast<ol_store *>(
            SessionStore::create(*arena, zone_size));
    } catch (...) {
        return nullptr;
    }
}

const char *
ol_store_incompatible(const ol_store *store) noexcept
{
    return SessionStore::incompatible(
        reinterpret_cast<const StoreRoot *>(store));
}

void
ol_store_configure(ol_store *store, const ol_arena *arena, uint32_t idle,
                   uint32_t lifetime, int notify) noexcept
{
    store_of(store, arena).configure(idle, lifetime, notify != 0);
}

void
ol_store_get_stats(ol_store *store, const ol_arena *arena,
                   ol_store_stats *stats) noexcept
{
    store_of(store, arena).stats(*stats);
}

void
ol_store_count_delivery(ol_store *store, const ol_arena *arena,
                        ol_delivery_outcome outcome) noexcept
{
    store_of(store, arena).count_delivery(outcome);
}

const char *
ol_store_verify(ol_store *store, const ol_arena *arena) noexcept
{
    return store_of(store, arena).verify();
}

ol_status
ol_session_login(ol_store *store, const ol_arena *arena, const char *handle,
                 size_t handle_len, const char *sub, size_t sub_len,
                 uint64_t now, ol_login_result *out, char *err,
                 size_t errlen) noexcept
{
    ol_status rc = guarded(err, errlen, [&]() {
        return store_of(store, arena)
            .login(view(handle, handle_len), view(sub, sub_len), seconds(now),
                   *out);
    });
    explain_store_status(rc, err, errlen, "no live session",
                         "subject longer than " + std::to_string(OL_SUB_MAX) +
                             " bytes or not UTF-8");
    return rc;
}

ol_status
ol_session_join(ol_store *store, const ol_arena *arena, const char *handle,
                size_t handle_len, const char *client, size_t client_len,
                uint64_t now, ol_session_info *info, unsigned *evicted) noexcept
{
    unsigned forced_out = 0;
    ol_status rc = guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .join(view(handle, handle_len), view(client, client_len),
                  seconds(now), info, forced_out);
    });
    if (evicted != nullptr) {
        *evicted = forced_out;
    }
    return rc;
}

ol_status
ol_session_learn(ol_store *store, const ol_arena *arena, const char *handle,
                 size_t handle_len, const char *client, size_t client_len,
                 const char *psid, size_t psid_len, const char *sub,
                 size_t sub_len, uint64_t now) noexcept
{
    return guarded(nullptr, 0, [&]() {
        unsigned evicted = 0;
        return store_of(store, arena)
            .learn(view(handle, handle_len), false, view(client, client_len),
                   view(psid, psid_len), view(sub, sub_len), seconds(now),
                   nullptr, nullptr, evicted);
    });
}

ol_status
ol_session_join_client(ol_store *store, const ol_arena *arena,
                       const ol_clients *clients, const char *handle,
                       size_t handle_len, const char *client, size_t client_len,
                       uint64_t now, unsigned *evicted, char *err,
                       size_t errlen) noexcept
{
    *evicted = 0;
    if (!ol_clients_has(clients, client, client_len)) {
        set_error(err, errlen,
                  "unknown client " + quoted(view(client, client_len)));
        return OL_INVALID;
    }
    ol_status rc = ol_session_join(store, arena, handle, handle_len, client,
                                   client_len, now, nullptr, evicted);
    explain_store_status(rc, err, errlen, "no live session",
                         "the session cannot hold another client");
    return rc;
}

ol_status
ol_session_find(ol_store *store, const ol_arena *arena, const char *handle,
                size_t handle_len, uint64_t now, int touch,
                ol_session_info *info) noexcept
{
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .find(view(handle, handle_len), seconds(now), touch != 0, info);
    });
}

ol_status
ol_session_find_by_sid(ol_store *store, const ol_arena *arena, const char *sid,
                       size_t sid_len, uint64_t now,
                       ol_session_info *info) noexcept
{
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .find_by_sid(view(sid, sid_len), seconds(now), info);
    });
}

size_t
ol_session_list_by_sub(ol_store *store, const ol_arena *arena, const char *sub,
                       size_t sub_len, uint64_t now, ol_session_info *infos,
                       size_t max) noexcept
{
    try {
        return store_of(store, arena)
            .list_by_sub(view(sub, sub_len), seconds(now), infos, max);
    } catch (...) {
        return 0;
    }
}

ol_status
ol_session_end(ol_store *store, const ol_arena *arena, const char *handle,
               size_t handle_len, uint64_t now, ol_session_info *info) noexcept
{
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .end(view(handle, handle_len), seconds(now), info);
    });
}

ol_status
ol_template_load(const char *path, ol_page_kind kind, ol_template **out,
                 char *err, size_t errlen) noexcept
{
    return load_into(out, err, errlen, PageTemplate::load_file, path,
                     static_cast<PageKind>(kind));
}

void
ol_template_free(ol_template *page) noexcept
{
    delete page;
}

ol_status
ol_jwks_respond(const ol_keys *keys, ol_response **out) noexcept
{
    return guarded(nullptr, 0, [&]() -> ol_status {
        *out = new ol_response{json_response(keys->keys->public_jwks())};
        return OL_OK;
    });
}

ol_status
ol_metadata_respond(const char *issuer, size_t issuer_len,
                    const char *end_session_path, size_t end_session_path_len,
                    const char *jwks_path, size_t jwks_path_len,
                    int backchannel, ol_response **out) noexcept
{
    return guarded(nullptr, 0, [&]() -> ol_status {
        *out = new ol_response{metadata_response(
            view(issuer, issuer_len),
            view(end_session_path, end_session_path_len),
            view(jwks_path, jwks_path_len), backchannel != 0)};
        return OL_OK;
    });
}

ol_status
ol_logout_refuse(const char *reason, size_t reason_len,
                 ol_response **out) noexcept
{
    return guarded(nullptr, 0, [&]() -> ol_status {
        *out = new ol_response{
            refuse_request(std::string(view(reason, reason_len)))};
        return OL_OK;
    });
}

void
ol_response_free(ol_response *response) noexcept
{
    delete response;
}

int
ol_response_status(const ol_response *response) noexcept
{
    return response->response.status;
}

const char *
ol_response_body(const ol_response *response, size_t *len) noexcept
{
    *len = response->response.body.size();
    return response->response.body.data();
}

const char *
ol_response_content_type(const ol_response *response, size_t *len) noexcept
{
    *len = response->response.content_type.size();
    return response->response.content_type.data();
}

size_t
ol_response_header_count(const ol_response *response) noexcept
{
    return response->response.headers.size();
}

void
ol_response_header(const ol_response *response, size_t index, const char **name,
                   size_t *name_len, const char **value,
                   size_t *value_len) noexcept
{
    static const std::string none;
    const auto &headers = response->response.headers;
    const std::string &n = index < headers.size() ? headers[index].first : none;
    const std::string &v =
        index < headers.size() ? headers[index].second : none;
    *name = n.data();
    *name_len = n.size();
    *value = v.data();
    *value_len = v.size();
}

const char *
ol_response_log_reason(const ol_response *response, size_t *len) noexcept
{
    const std::string &r = response->response.log_reason;
    *len = r.size();
    return r.empty() ? nullptr : r.data();
}

ol_status
ol_session_end_for(ol_store *store, const ol_arena *arena, const char *handle,
                   size_t handle_len, uint64_t now, ol_end_cause cause,
                   uint64_t *claimed, uint32_t lease) noexcept
{
    return guarded(nullptr, 0, [&]() {
        Claim claim;
        ol_status rc =
            store_of(store, arena)
                .end(view(handle, handle_len), seconds(now), nullptr, cause,
                     claimed != nullptr ? &claim : nullptr, lease);
        if (claimed != nullptr) {
            *claimed = claim.ref;
        }
        return rc;
    });
}

ol_status
ol_session_end_by_sid(ol_store *store, const ol_arena *arena, const char *sid,
                      size_t sid_len, uint64_t now, ol_end_cause cause) noexcept
{
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .end_by_sid(view(sid, sid_len), cause, seconds(now), nullptr);
    });
}

size_t
ol_session_end_by_sub(ol_store *store, const ol_arena *arena, const char *sub,
                      size_t sub_len, const char *psid, size_t psid_len,
                      uint64_t now, ol_end_cause cause) noexcept
{
    try {
        return store_of(store, arena)
            .end_by_sub(view(sub, sub_len), view(psid, psid_len), cause,
                        seconds(now));
    } catch (...) {
        return 0;
    }
}

size_t
ol_session_end_by_provider_sid(ol_store *store, const ol_arena *arena,
                               const char *psid, size_t psid_len, uint64_t now,
                               ol_end_cause cause) noexcept
{
    try {
        return store_of(store, arena)
            .end_by_provider_sid(view(psid, psid_len), cause, seconds(now));
    } catch (...) {
        return 0;
    }
}

size_t
ol_pending_claim(ol_store *store, const ol_arena *arena, uint64_t now,
                 uint32_t lease, uint32_t give_up, size_t max, uint64_t *refs,
                 uint64_t *untils, ol_session_info *infos) noexcept
{
    try {
        std::vector<Pending> pending;
        store_of(store, arena)
            .claim(seconds(now), lease, give_up, max, pending);
        for (size_t i = 0; i < pending.size(); i++) {
            refs[i] = pending[i].claim.ref;
            if (untils != nullptr) {
                untils[i] = pending[i].claim.until;
            }
            infos[i] = pending[i].info;
        }
        return pending.size();
    } catch (...) {
        return 0;
    }
}

void
ol_pending_settle(ol_store *store, const ol_arena *arena, uint64_t ref,
                  uint64_t until, const char *sid, const char *const *done,
                  size_t count, uint64_t retry_at) noexcept
{
    try {
        std::vector<std::string> through(done, done + count);
        Claim claim;
        claim.ref = ref;
        claim.until = seconds(until);
        store_of(store, arena).settle(claim, sid, through, seconds(retry_at));
    } catch (...) {
    }
}

int
ol_store_remember_once(ol_store *store, const ol_arena *arena,
                       const char *value, size_t len, uint64_t expires,
                       uint64_t now) noexcept
{
    try {
        return store_of(store, arena)
                       .remember_once("test", view(value, len),
                                      seconds(expires), seconds(now))
                   ? 1
                   : 0;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
