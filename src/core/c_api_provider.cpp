// The C ABI of what the module learns in front of an unmodified provider.
#include "c_api.hpp"

#include "provider.hpp"

#include <optional>

using namespace oidc_logout;
using namespace oidc_logout::c_api;

extern "C" {

ol_status
ol_provider_new(const ol_provider_conf *conf, ol_provider **out, char *err,
                size_t errlen) noexcept
{
    *out = nullptr;
    return guarded(err, errlen, [&]() -> ol_status {
        auto p = std::make_unique<ol_provider>();
        ProviderConfig &c = p->config;
        c.clients = conf->clients ? conf->clients->registry.get() : nullptr;
        c.issuer.assign(view(conf->issuer, conf->issuer_len));
        for (size_t i = 0; i < conf->cookie_count; i++) {
            c.cookie_names.emplace_back(
                view(conf->cookie_names[i], conf->cookie_name_lens[i]));
        }
        c.cookie_remember = conf->cookie_remember;
        if (conf->cookie_path != nullptr) {
            c.cookie_path.assign(
                view(conf->cookie_path, conf->cookie_path_len));
        }
        *out = p.release();
        return OL_OK;
    });
}

void
ol_provider_free(ol_provider *provider) noexcept
{
    delete provider;
}

ol_status
ol_provider_observe(const ol_provider *provider, const ol_observation *o,
                    ol_learned *out, char *err, size_t errlen) noexcept
{
    *out = ol_learned();
    set_error(err, errlen, "");
    return guarded(err, errlen, [&]() -> ol_status {
        std::optional<SessionStore> store;
        Observation obs;
        if (o->store != nullptr) {
            store.emplace(store_of(o->store, o->arena));
            obs.store = &*store;
        }
        obs.keys = o->keys ? o->keys->keys.get() : nullptr;
        obs.now = o->now;
        obs.handle = view(o->handle, o->handle_len);
        obs.status = o->status;
        obs.location = view(o->location, o->location_len);
        obs.body = view(o->body, o->body_len);
        obs.request = view(o->request, o->request_len);
        Learned l = o->what == OL_OBSERVE_TOKEN
                        ? observe_token(provider->config, obs)
                        : observe_authorization(provider->config, obs);
        out->learned = l.learned ? 1 : 0;
        out->set_cookie = l.set_cookie ? 1 : 0;
        copy_text(out->handle, l.handle);
        out->unknown_kid = l.unknown_kid ? 1 : 0;
        set_error(err, errlen, l.log_reason);
        return OL_OK;
    });
}

int
ol_provider_drop_revoked(const ol_provider *provider, ol_store *store,
                         const ol_arena *arena, const char *cookie,
                         size_t cookie_len, uint64_t now, char *out,
                         size_t *out_len) noexcept
{
    *out_len = 0;
    try {
        SessionStore s = store_of(store, arena);
        std::string kept;
        if (!drop_revoked_cookies(provider->config, s, view(cookie, cookie_len),
                                  seconds(now), kept) ||
            kept.size() > 2 * cookie_len) {
            return 0;
        }
        std::memcpy(out, kept.data(), kept.size());
        *out_len = kept.size();
        return 1;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
