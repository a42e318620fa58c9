// What the C ABI's shims share (c_api.cpp, c_api_logout.cpp): the objects
// behind the opaque handles, and the guard that keeps exceptions inside.
#pragma once

#include "../oidc_logout_core_test.h"

#include "allowlist.hpp"
#include "client_registry.hpp"
#include "jose.hpp"
#include "logout.hpp"
#include "logout_token.hpp"
#include "pages.hpp"
#include "provider.hpp"
#include "session_store.hpp"

#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

struct ol_allowlist_s {
    oidc_logout::Allowlist list;
};

struct ol_clients_s {
    explicit ol_clients_s(std::unique_ptr<oidc_logout::ClientRegistry> r)
        : registry(std::move(r))
    {
    }

    std::unique_ptr<oidc_logout::ClientRegistry> registry;
    /* the back-channel targets, made once (ol_clients_targets) */
    std::once_flag targets_made;
    std::vector<std::string> target_text; /* host, authority, target: 3 a
                                           * client */
    std::vector<ol_target> targets;
    std::unordered_map<std::string_view, size_t> target_of; /* by client */
};

struct ol_keys_s {
    std::unique_ptr<oidc_logout::KeySet> keys;
};

struct ol_template_s {
    std::unique_ptr<oidc_logout::PageTemplate> page;
};

struct ol_deliveries_s {
    /* what signing needs: the configuration, and the ended session */
    const ol_keys *keys = nullptr;
    ol_clients *clients = nullptr;
    std::string issuer;
    oidc_logout::EndedRecord ended;
    int64_t ended_at = 0;
    /* where the outcomes are counted, and how often a delivery is tried */
    ol_store *store = nullptr;
    ol_arena arena{};
    unsigned retries = 0;
    /* its ended session in the zone's outbox (0: none), and the rounds of
     * deliveries tried before this one */
    oidc_logout::Claim claim;
    unsigned rounds = 0;
    /* once signed */
    bool is_signed = false;
    std::vector<const ol_target *> targets;
    std::vector<std::string> bodies;
    std::vector<unsigned> attempts;
    /* per target: through (delivered, or refused for good) */
    std::vector<bool> through;
};

struct ol_response_s {
    explicit ol_response_s(oidc_logout::Response r = {})
        : response(std::move(r))
    {
    }

    oidc_logout::Response response;
    bool clear_cookie = false;
    std::unique_ptr<ol_deliveries> deliveries;
};

struct ol_provider_s {
    oidc_logout::ProviderConfig config;
};

struct ol_endpoint_s {
    oidc_logout::EndpointConfig config;
    ol_clients *clients = nullptr;
    const ol_keys *keys = nullptr;
};

namespace oidc_logout::c_api {

inline void
set_error(char *err, size_t errlen, const std::string &text) noexcept
{
    if (err == nullptr || errlen == 0) {
        return;
    }
    size_t n = text.size() < errlen - 1 ? text.size() : errlen - 1;
    std::memcpy(err, text.data(), n);
    err[n] = '\0';
}

/* Copies text that is known to fit, NUL-terminated. */
template <size_t N>
void
copy_text(char (&out)[N], const std::string &text) noexcept
{
    size_t n = text.size() < N - 1 ? text.size() : N - 1;
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

/* Runs f, turning any exception into a status and an error text. */
template <typename F>
ol_status
guarded(char *err, size_t errlen, F &&f) noexcept
{
    try {
        return f();
    } catch (const std::bad_alloc &) {
        set_error(err, errlen, "out of memory");
        return OL_NOMEM;
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
        return OL_INTERNAL;
    } catch (...) {
        set_error(err, errlen, "unknown failure");
        return OL_INTERNAL;
    }
}

inline std::string_view
view(const char *p, size_t len)
{
    return p == nullptr ? std::string_view() : std::string_view(p, len);
}

inline SessionStore
store_of(ol_store *store, const ol_arena *arena)
{
    return SessionStore(reinterpret_cast<StoreRoot *>(store), *arena);
}

inline uint32_t
seconds(uint64_t now)
{
    return static_cast<uint32_t>(now);
}

/* The targets of clients, made on first use. */
void make_targets(ol_clients *clients);

} // namespace oidc_logout::c_api
