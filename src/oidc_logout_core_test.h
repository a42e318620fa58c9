/*
 * The core's functions that only the unit tests call: the C ABI the module
 * uses is oidc_logout_core.h, which this header extends.  Nothing in the
 * module's glue includes it.
 */

#ifndef OIDC_LOGOUT_CORE_TEST_H
#define OIDC_LOGOUT_CORE_TEST_H

#include "oidc_logout_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Allowlists ---------------------------------------------------------- */

size_t ol_allowlist_size(const ol_allowlist *list) OL_NOEXCEPT;
/* OL_OK when the candidate is allowed, OL_DENIED or OL_INVALID (with the
 * reason in err) otherwise. */
ol_status ol_allowlist_check(const ol_allowlist *list, const char *url,
                             size_t len, char *err, size_t errlen) OL_NOEXCEPT;

/* ---- Client registry ----------------------------------------------------- */

/* ol_clients_load from a JSON text in memory; name stands for the file in
 * errors. */
ol_status ol_clients_parse(const char *json, size_t len, const char *name,
                           ol_clients **out, char *err,
                           size_t errlen) OL_NOEXCEPT;
/*
 * Redirect checks for one client.  OL_OK when allowed; OL_DENIED when the
 * client is unknown or the URL is not registered for it; OL_INVALID when the
 * URL is malformed.  err says which.
 *
 * _post_logout: exact match against post_logout_redirect_uris (OpenID
 * Connect RP-Initiated Logout), query included.
 * _allowed_logout: allowlist match against allowed_logout_urls (Auth0).
 */
ol_status ol_clients_check_post_logout(const ol_clients *clients,
                                       const char *client_id,
                                       size_t client_id_len, const char *url,
                                       size_t url_len, char *err,
                                       size_t errlen) OL_NOEXCEPT;
ol_status ol_clients_check_allowed_logout(const ol_clients *clients,
                                          const char *client_id,
                                          size_t client_id_len, const char *url,
                                          size_t url_len, char *err,
                                          size_t errlen) OL_NOEXCEPT;

/* ---- Keys and hints ------------------------------------------------------ */

/* ol_keys_load from a JSON text in memory. */
ol_status ol_keys_parse(const char *json, size_t len, const char *name,
                        ol_keys **out, char *err, size_t errlen) OL_NOEXCEPT;
size_t ol_keys_count(const ol_keys *keys) OL_NOEXCEPT;
/* The public keys as a JWKS document: private members are never in it. */
const char *ol_keys_public_jwks(const ol_keys *keys, size_t *len) OL_NOEXCEPT;
/*
 * Verifies an id_token_hint: signed by one of keys (kid selects the key,
 * alg must fit it, none and HMAC are refused), iss equal to issuer (a
 * trailing "/" aside), azp or aud a client of clients, iat not in the
 * future (60 s leeway).  An expired token is accepted.  OL_OK fills out;
 * OL_INVALID says why in err.
 */
ol_status ol_hint_verify(const ol_keys *keys, const char *issuer,
                         size_t issuer_len, const ol_clients *clients,
                         const char *token, size_t token_len, int64_t now,
                         ol_hint *out, char *err, size_t errlen) OL_NOEXCEPT;

/* ---- The session store --------------------------------------------------- */

/* Repairs what a dead process left (as every call does), then checks every
 * index, the LRU list and the free slots; a description of the first
 * inconsistency, or NULL. */
const char *ol_store_verify(ol_store *store, const ol_arena *arena) OL_NOEXCEPT;
ol_status ol_session_find_by_sid(ol_store *store, const ol_arena *arena,
                                 const char *sid, size_t sid_len, uint64_t now,
                                 ol_session_info *info) OL_NOEXCEPT;
/* The live sessions of sub, at most max of them; returns how many. */
size_t ol_session_list_by_sub(ol_store *store, const ol_arena *arena,
                              const char *sub, size_t sub_len, uint64_t now,
                              ol_session_info *infos, size_t max) OL_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* OIDC_LOGOUT_CORE_TEST_H */
