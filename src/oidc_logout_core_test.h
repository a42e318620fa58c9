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

/* ---- Logout tokens of the upstream provider ------------------------------ */

/*
 * Verifies a logout token that the upstream provider sent (Back-Channel
 * Logout 1.0): signed by one of keys (as a hint), typ logout+jwt when
 * present, iss equal to issuer (a trailing "/" aside), aud holding one of
 * audiences (audience_count strings), iat at most 600 s old and not in the
 * future, exp not past, a jti, the back-channel logout event, no nonce, sid
 * and/or sub.  OL_OK fills sub, sid and jti (OL_SUB_MAX + 1 bytes each, ""
 * for a claim the token lacks); OL_INVALID says why in err and sets
 * *unknown_kid (may be NULL) to 1 when the token names a kid no key has.
 */
ol_status ol_received_logout_verify(const ol_keys *keys, const char *issuer,
                                    size_t issuer_len,
                                    const char *const *audiences,
                                    size_t audience_count, const char *token,
                                    size_t token_len, int64_t now, char *sub,
                                    char *sid, char *jti, int *unknown_kid,
                                    char *err, size_t errlen) OL_NOEXCEPT;

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

/* ---- Session ends and the outbox ----------------------------------------- */

/* Ends the session of handle for cause; with claimed (may be NULL), the
 * caller holds its pending deliveries for lease seconds (*claimed: their
 * ref, 0 when none wait). */
ol_status ol_session_end_for(ol_store *store, const ol_arena *arena,
                             const char *handle, size_t handle_len,
                             uint64_t now, ol_end_cause cause,
                             uint64_t *claimed, uint32_t lease) OL_NOEXCEPT;
ol_status ol_session_end_by_sid(ol_store *store, const ol_arena *arena,
                                const char *sid, size_t sid_len, uint64_t now,
                                ol_end_cause cause) OL_NOEXCEPT;
/* Every session of sub (holding psid, when psid_len > 0); how many. */
size_t ol_session_end_by_sub(ol_store *store, const ol_arena *arena,
                             const char *sub, size_t sub_len, const char *psid,
                             size_t psid_len, uint64_t now,
                             ol_end_cause cause) OL_NOEXCEPT;
/* Every session holding the provider sid psid; how many. */
size_t ol_session_end_by_provider_sid(ol_store *store, const ol_arena *arena,
                                      const char *psid, size_t psid_len,
                                      uint64_t now,
                                      ol_end_cause cause) OL_NOEXCEPT;
/* Takes up to max pending sessions that are due, held for lease seconds
 * (give_up: see ol_pending_take): refs[i], untils[i] (until when it is
 * held; untils may be NULL) and infos[i] (its clients still waiting).  How
 * many. */
size_t ol_pending_claim(ol_store *store, const ol_arena *arena, uint64_t now,
                        uint32_t lease, uint32_t give_up, size_t max,
                        uint64_t *refs, uint64_t *untils,
                        ol_session_info *infos) OL_NOEXCEPT;
/* The round of ref (session sid, held until until; 0: whoever holds it)
 * is over: the clients of done (count of them) are through, the others
 * due again at retry_at.  Nothing changes when another worker holds it
 * now. */
void ol_pending_settle(ol_store *store, const ol_arena *arena, uint64_t ref,
                       uint64_t until, const char *sid, const char *const *done,
                       size_t count, uint64_t retry_at) OL_NOEXCEPT;
/* Whether value is new (remembered until expires) or a replay. */
int ol_store_remember_once(ol_store *store, const ol_arena *arena,
                           const char *value, size_t len, uint64_t expires,
                           uint64_t now) OL_NOEXCEPT;

/* ---- Registry order, store counters ------------------------------------ */

size_t ol_clients_count(const ol_clients *clients) OL_NOEXCEPT;
/* The index-th client in the order of the file: its id and its
 * backchannel_logout_uri ("" when it has none).  0 past the last client. */
int ol_clients_at(const ol_clients *clients, size_t index,
                  const char **client_id,
                  const char **backchannel_uri) OL_NOEXCEPT;
/* Counts the outcome of a back-channel delivery attempt (ol_store_stats). */
void ol_store_count_delivery(ol_store *store, const ol_arena *arena,
                             ol_delivery_outcome outcome) OL_NOEXCEPT;
/* Adds client to the live session of handle, registered or not.  OL_DENIED
 * without one; OL_INVALID when the client does not fit; info (may be
 * NULL) receives the session; *evicted (may be NULL) the number of other
 * sessions forced out to make room. */
ol_status ol_session_join(ol_store *store, const ol_arena *arena,
                          const char *handle, size_t handle_len,
                          const char *client, size_t client_len, uint64_t now,
                          ol_session_info *info, unsigned *evicted) OL_NOEXCEPT;
/* What the provider taught of the session of handle: client joins it with
 * psid (its provider sid), and sub becomes its subject; a session of
 * another subject gives way to a new one on the same handle. */
ol_status ol_session_learn(ol_store *store, const ol_arena *arena,
                           const char *handle, size_t handle_len,
                           const char *client, size_t client_len,
                           const char *psid, size_t psid_len, const char *sub,
                           size_t sub_len, uint64_t now) OL_NOEXCEPT;
/* Ends the session of handle.  OL_OK when this call ended it (info, may be
 * NULL, receives it), OL_DENIED when there was none. */
ol_status ol_session_end(ol_store *store, const ol_arena *arena,
                         const char *handle, size_t handle_len, uint64_t now,
                         ol_session_info *info) OL_NOEXCEPT;

/* ---- Parts of a logout decision ------------------------------------------ */

/* What ol_logout_decide finds out about the request's session. */
typedef struct {
    const char *params;
    size_t params_len;
    int post;
    const char *action;
    size_t action_len;
    int has_cookie;  /* the request sent a session cookie */
    int has_session; /* the request's cookie names a live session */
    const char *session_sid;
    size_t session_sid_len;
    const char *session_sub;
    size_t session_sub_len;
    const char *csrf_token; /* bound to that session */
    size_t csrf_token_len;
    int64_t now;
} ol_logout_state;

/* The response alone, the session neither ended nor notified. */
ol_status ol_logout_respond(const ol_endpoint_conf *endpoint,
                            const ol_logout_state *request,
                            ol_response **out) OL_NOEXCEPT;
/* 1 when the request's session must end (a signed-out page or a redirect),
 * 0 when the request was refused. */
int ol_response_ends_session(const ol_response *response) OL_NOEXCEPT;
/* When not NULL, the percent-encoded URL a federated logout returns to. */
const char *ol_response_federated_return(const ol_response *response,
                                         size_t *len) OL_NOEXCEPT;
/* Replaces response with the front-channel page of the ended session
 * (ended, as ol_session_end filled it), going on to the redirect's
 * Location or to next; *replaced tells whether it did. */
ol_status ol_frontchannel_page(ol_response *response,
                               const ol_endpoint_conf *endpoint,
                               const ol_session_info *ended,
                               unsigned timeout_ms, const char *next,
                               size_t next_len, int *replaced) OL_NOEXCEPT;
/* The signed deliveries of an ended session (ended, as ol_session_end
 * filled it).  OL_DENIED when keys hold no private key. */
ol_status ol_backchannel_deliveries(const ol_keys *keys,
                                    const ol_clients *clients,
                                    const char *issuer, size_t issuer_len,
                                    const ol_session_info *ended, int64_t now,
                                    ol_deliveries **out, char *err,
                                    size_t errlen) OL_NOEXCEPT;
/* The delivery policy alone: attempt counts from 1. */
ol_delivery_outcome ol_delivery_judge(ol_attempt attempt_end, unsigned status,
                                      unsigned attempt, unsigned retries,
                                      uint64_t *retry_in_ms) OL_NOEXCEPT;

/* ---- Metrics ------------------------------------------------------------ */

/*
 * The metrics page of zone (its name, NUL-terminated) in the Prometheus
 * text exposition format 0.0.4, written to out with a NUL.  *len receives
 * the text's length (without the NUL) also when out is too small, which is
 * OL_INVALID.
 */
ol_status ol_metrics_render(const ol_metrics *m, const char *zone, char *out,
                            size_t outlen, size_t *len) OL_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* OIDC_LOGOUT_CORE_TEST_H */
