/*
 * The C ABI of the ngx_oidc_logout core.
 *
 * The core (C++17, src/core/) decides; the nginx glue (C) carries bytes.
 * This header is the only place where the two meet.
 *
 * Conventions:
 *   - inputs are pointer + length and need not be NUL-terminated;
 *   - objects are opaque handles released by the matching _free function
 *     (every _free accepts NULL);
 *   - a function that can fail returns ol_status and, where it takes an
 *     err/errlen pair, writes a NUL-terminated reason there (truncated to
 *     errlen);
 *   - no exception crosses this boundary.
 */

#ifndef OIDC_LOGOUT_CORE_H
#define OIDC_LOGOUT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define OL_NOEXCEPT noexcept
extern "C" {
#else
#define OL_NOEXCEPT
#endif

typedef enum {
    OL_OK = 0,
    OL_DENIED,  /* well-formed input that the rules refuse */
    OL_INVALID, /* malformed input */
    OL_NOMEM,   /* allocation failure */
    OL_INTERNAL /* unexpected failure inside the core */
} ol_status;

/* Limits of identifiers (bytes). */
#define OL_ID_TEXT_LEN 22        /* base64url of 128 random bits */
#define OL_SUB_MAX 255           /* longest subject */
#define OL_CLIENT_ID_MAX 255     /* longest client_id */
#define OL_SESSION_DATA_MAX 1024 /* subject and client ids of one session */

/* ---- URLs --------------------------------------------------------------- */

/*
 * Parses an absolute URL under the module's strict rules (see
 * doc/redirects.md) and writes its canonical form to out: lower-case
 * scheme and host, no default port, "/" for an empty path, percent-encoding
 * with upper-case hex and unreserved characters decoded.  *out_len receives
 * the length written.  OL_INVALID with the reason in err when the URL is
 * refused; OL_NOMEM when out is too small.
 */
ol_status ol_url_canonicalize(const char *url, size_t url_len, char *out,
                              size_t out_size, size_t *out_len, char *err,
                              size_t errlen) OL_NOEXCEPT;

/* ---- Allowlists --------------------------------------------------------- */

/*
 * A list of allowed logout URLs with Auth0 "Allowed Logout URLs" semantics:
 * scheme, host, port and path must match, the candidate's query is allowed,
 * and "*." may stand for exactly one leftmost host label.  The tenant-level
 * list of oidc_logout_allowed_urls is one of these; so is each client's
 * allowed_logout_urls.
 */
typedef struct ol_allowlist_s ol_allowlist;

ol_status ol_allowlist_new(ol_allowlist **out) OL_NOEXCEPT;
void ol_allowlist_free(ol_allowlist *list) OL_NOEXCEPT;
ol_status ol_allowlist_add(ol_allowlist *list, const char *url, size_t len,
                           char *err, size_t errlen) OL_NOEXCEPT;

/* ---- Client registry ---------------------------------------------------- */

typedef struct ol_clients_s ol_clients;

/*
 * Loads a client registry: a JSON array of OpenID Connect client metadata
 * objects, or an object {"clients": [...]}.  On failure err names the file,
 * the client, the field and the reason.
 */
ol_status ol_clients_load(const char *path, ol_clients **out, char *err,
                          size_t errlen) OL_NOEXCEPT;
void ol_clients_free(ol_clients *clients) OL_NOEXCEPT;
int ol_clients_has(const ol_clients *clients, const char *client_id,
                   size_t len) OL_NOEXCEPT;
/* The client_id of a client whose logout notifications carry the issuer
 * (a back-channel client, or a front-channel one with
 * frontchannel_logout_session_required), or NULL when there is none. */
const char *ol_clients_needing_issuer(const ol_clients *clients) OL_NOEXCEPT;

/*
 * Where a client's back-channel logout tokens go: its
 * backchannel_logout_uri as the registry parsed it.  The strings live as
 * long as the registry.
 */
typedef struct {
    const char *client_id;
    const char *uri; /* the backchannel_logout_uri as registered */
    int https;
    const char *host; /* an IPv6 literal keeps its brackets */
    size_t host_len;
    int host_is_literal;   /* an IP address, not a name */
    unsigned port;         /* explicit or the scheme's default */
    const char *authority; /* the Host header: host, and a port that is
                            * not the scheme's default */
    size_t authority_len;
    const char *target; /* the request target: path, and ?query */
    size_t target_len;
    void *data; /* the glue's own (its resolved addresses), NULL at first */
} ol_target;

/* The targets of the registry's back-channel clients, in the order of the
 * file, and how many there are.  Called while the configuration loads. */
size_t ol_clients_targets(ol_clients *clients, ol_target **targets) OL_NOEXCEPT;
/* A target of its own for an http or https URL (oidc_logout_keys_url):
 * its client_id is the URL.  OL_INVALID with the reason when the URL is
 * refused (the rules of doc/redirects.md, and the scheme). */
ol_status ol_target_parse(const char *url, size_t len, ol_target **out,
                          char *err, size_t errlen) OL_NOEXCEPT;
void ol_target_free(ol_target *target) OL_NOEXCEPT;

/* ---- Signing keys and id_token_hint ------------------------------------ */

/* The JWKS of oidc_logout_keys: RSA (2048 bits or more) and EC P-256,
 * P-384 and P-521 keys; symmetric keys are refused. */
typedef struct ol_keys_s ol_keys;

ol_status ol_keys_load(const char *path, ol_keys **out, char *err,
                       size_t errlen) OL_NOEXCEPT;
/* ol_keys_load from a JSON text in memory; name stands for the file in
 * errors. */
ol_status ol_keys_parse(const char *json, size_t len, const char *name,
                        ol_keys **out, char *err, size_t errlen) OL_NOEXCEPT;
/*
 * A provider's published JWKS (oidc_logout_keys_url) in memory: its keys
 * only verify (private members are ignored), a kid may be given to
 * several keys, and a key that cannot verify a signature here (use other
 * than "sig", such as Keycloak's encryption key; another kty, curve or
 * alg; RSA under 2048 bits; a malformed member) is skipped and counted in
 * *skipped.  OL_INVALID with the reason when the text is not a JWKS or no
 * key is left.
 */
ol_status ol_keys_parse_published(const char *json, size_t len,
                                  const char *name, ol_keys **out,
                                  size_t *skipped, char *err,
                                  size_t errlen) OL_NOEXCEPT;
/*
 * The keys that verify hints: own's (oidc_logout_keys) and fetched's (the
 * provider's), either may be NULL.  Only own's private key signs.  The
 * public JWKS (ol_jwks_respond) lists fetched's keys, then own's.
 * missing (may be NULL) says why the provider's keys are absent: a hint
 * that no key verifies carries it in its reason.  The result shares the
 * parsed keys and may be freed before or after either.
 */
ol_status ol_keys_merge(const ol_keys *own, const ol_keys *fetched,
                        const char *missing, ol_keys **out, char *err,
                        size_t errlen) OL_NOEXCEPT;
void ol_keys_free(ol_keys *keys) OL_NOEXCEPT;
size_t ol_keys_count(const ol_keys *keys) OL_NOEXCEPT;

/* What a verified id_token_hint says. */
typedef struct {
    char client_id[OL_CLIENT_ID_MAX + 1]; /* azp, or the single aud */
    char sub[OL_SUB_MAX + 1];
    char sid[OL_SUB_MAX + 1]; /* empty when the token has none */
} ol_hint;

/* ---- Sessions ----------------------------------------------------------- */

/*
 * Memory and a lock shared by every process that uses a store (nginx: the
 * zone's slab pool and mutex).  alloc and free are called with the lock
 * held; alloc returns NULL when the arena is full.  Blocks must be aligned
 * for pointers.  A process may die holding the lock: the lock must then be
 * released for the others (nginx's master does it), and the next holder
 * repairs the store.  report (may be NULL) hears of it, with the lock held:
 * damaged 0 when an unfinished change was undone, 1 when the store was
 * found damaged and emptied; also (damaged 0) of logout tokens that waited
 * in the zone and were dropped or given up.
 */
typedef struct {
    void *data;
    void *(*alloc)(void *data, size_t size);
    void (*free)(void *data, void *p);
    void (*lock)(void *data);
    void (*unlock)(void *data);
    void (*report)(void *data, int damaged, const char *what);
} ol_arena;

/* A session store: plain data inside the arena. */
typedef struct ol_store_s ol_store;

/* Why a session ended. */
typedef enum {
    OL_END_LOGOUT,   /* at the logout endpoint */
    OL_END_IDLE,     /* oidc_logout_zone idle= reached */
    OL_END_LIFETIME, /* oidc_logout_zone lifetime= reached */
    OL_END_EVICTED,  /* forced out of a full zone */
    OL_END_ADMIN,    /* through oidc_logout_admin */
    OL_END_UPSTREAM, /* a logout token of the upstream provider */
    OL_END_REPLACED, /* another subject signed in with its cookie */
    OL_END_CAUSES
} ol_end_cause;

/* What became of a logout at the endpoint. */
typedef enum {
    OL_LOGOUT_REDIRECTED,   /* ended, redirected to the client */
    OL_LOGOUT_PAGE,         /* ended, the logged-out page */
    OL_LOGOUT_CONFIRMATION, /* the user was asked to confirm */
    OL_LOGOUT_REFUSED,      /* a 4xx */
    OL_LOGOUT_OUTCOMES
} ol_logout_outcome;

/* What the verification of an id_token_hint found. */
typedef enum {
    OL_HINT_VERIFIED,
    OL_HINT_REFUSED,
    OL_HINT_UNKNOWN_KEY, /* its kid is not (yet) among the keys */
    OL_HINT_RESULTS
} ol_hint_result;

/* What became of one back-channel delivery to a client. */
typedef enum {
    OL_SENT_DELIVERED, /* 200 or 204 */
    OL_SENT_RETRIED,   /* failed, tried again in the same round */
    OL_SENT_FAILED,    /* a round failed: kept in the zone for later */
    OL_SENT_GIVEN_UP,  /* oidc_logout_backchannel_give_up reached */
    OL_SENT_DROPPED,   /* the zone's pending area was full */
    OL_SENT_OUTCOMES
} ol_sent_outcome;

/* Logout tokens received from the upstream provider. */
typedef enum {
    OL_UPSTREAM_ACCEPTED,
    OL_UPSTREAM_REFUSED,
    OL_UPSTREAM_RESULTS
} ol_upstream_result;

/* The counters of a zone, as the metrics page shows them. */
typedef struct {
    const char *client_id;
    uint64_t sent[OL_SENT_OUTCOMES];
    uint64_t pending;
} ol_client_metrics;
typedef struct {
    uint64_t sessions;      /* live now */
    uint64_t logins, joins; /* since the zone was created */
    uint64_t ends[OL_END_CAUSES];
    uint64_t logouts[2][OL_LOGOUT_OUTCOMES]; /* [0] oidc, [1] auth0 */
    uint64_t hints[OL_HINT_RESULTS];
    uint64_t upstream[OL_UPSTREAM_RESULTS]; /* logout tokens received */
    uint64_t pending;                       /* deliveries waiting in the zone */
    uint64_t zone_bytes, zone_bytes_free;
    uint64_t repaired, rebuilt;
    const ol_client_metrics *clients;
    size_t client_count;
} ol_metrics;

typedef struct {
    uint64_t sessions;       /* stored now, expired ones included */
    uint64_t created;        /* since the store was created */
    uint64_t ended;          /* by logout, admin, upstream, or another login on
                              * the cookie (the sums of ends[]) */
    uint64_t expired;        /* idle or lifetime reached */
    uint64_t evicted;        /* forced out to make room */
    uint64_t alloc_failures; /* no room even after evictions */
    /* back-channel logout deliveries, by outcome of an attempt */
    uint64_t backchannel_delivered; /* 200 or 204 */
    uint64_t backchannel_retried;   /* failed, tried again */
    uint64_t backchannel_failed;    /* failed, given up */
    uint64_t slots;                 /* of 256 bytes each, for sessions */
    uint64_t slots_free; /* a session takes one, or more for long data */
    uint64_t repaired;   /* unfinished changes undone after a crash */
    uint64_t rebuilt;    /* times the store was found damaged, emptied */
    uint64_t ends[OL_END_CAUSES]; /* sessions ended, by cause */
    uint64_t joins;               /* clients added to a session */
    uint64_t pending;             /* deliveries waiting in the zone */
    uint64_t pending_dropped;     /* ... dropped: the pending area was full */
    uint64_t pending_given_up;    /* ... given up, too old */
} ol_store_stats;

typedef struct {
    char handle[OL_ID_TEXT_LEN + 1]; /* the cookie value */
    char sid[OL_ID_TEXT_LEN + 1];
    int created;        /* 1: a new session, the cookie must be set */
    int previous_ended; /* 1: the cookie's earlier session was ended */
    unsigned evicted;   /* sessions forced out to make room */
} ol_login_result;

typedef struct {
    char sid[OL_ID_TEXT_LEN + 1];
    char sub[OL_SUB_MAX + 1];
    size_t sub_len;
    uint64_t created;
    uint64_t last_used;
    size_t client_count;
    /* client ids, each NUL-terminated, one after another */
    char clients[OL_SESSION_DATA_MAX];
    /* the provider's sid for each client, in the same order, each
     * NUL-terminated (empty when none was learned) */
    char provider_sids[OL_SESSION_DATA_MAX];
} ol_session_info;

/*
 * Creates a store in an empty arena of zone_size bytes (the indexes are
 * sized from it).  NULL when the arena cannot hold it.
 */
ol_store *ol_store_create(const ol_arena *arena, size_t zone_size) OL_NOEXCEPT;
/* Why a store found in an existing arena cannot be used, or NULL. */
const char *ol_store_incompatible(const ol_store *store) OL_NOEXCEPT;
/* Idle and absolute timeouts in seconds (0: none); notify: whether a
 * session that expires or is forced out notifies its clients. */
void ol_store_configure(ol_store *store, const ol_arena *arena, uint32_t idle,
                        uint32_t lifetime, int notify) OL_NOEXCEPT;
void ol_store_get_stats(ol_store *store, const ol_arena *arena,
                        ol_store_stats *stats) OL_NOEXCEPT;
typedef enum {
    OL_DELIVERY_DELIVERED,
    OL_DELIVERY_RETRIED,
    OL_DELIVERY_FAILED
} ol_delivery_outcome;

/*
 * The session of handle (the cookie value, may be empty) becomes subject
 * sub's: kept when it is a live session of sub, otherwise a new session is
 * created and the old one ended.  OL_INVALID for an empty or too long sub
 * or one that is not UTF-8,
 * OL_NOMEM when there is no room even after evictions, OL_INTERNAL when the
 * random generator fails.
 */
ol_status ol_session_login(ol_store *store, const ol_arena *arena,
                           const char *handle, size_t handle_len,
                           const char *sub, size_t sub_len, uint64_t now,
                           ol_login_result *out, char *err,
                           size_t errlen) OL_NOEXCEPT;
/* Adds client, which must be one of clients, to the live session of
 * handle.  OL_DENIED without a live session; OL_INVALID for an unknown
 * client or one the session cannot hold; OL_NOMEM when there is no room;
 * err says which.  *evicted gets the number of other sessions forced out
 * to make room. */
ol_status ol_session_join_client(ol_store *store, const ol_arena *arena,
                                 const ol_clients *clients, const char *handle,
                                 size_t handle_len, const char *client,
                                 size_t client_len, uint64_t now,
                                 unsigned *evicted, char *err,
                                 size_t errlen) OL_NOEXCEPT;
/* The live session of handle (OL_OK) or none (OL_DENIED); touch refreshes
 * its idle timer.  info may be NULL. */
ol_status ol_session_find(ol_store *store, const ol_arena *arena,
                          const char *handle, size_t handle_len, uint64_t now,
                          int touch, ol_session_info *info) OL_NOEXCEPT;

/* ---- In front of an unmodified provider ---------------------------------- */

/*
 * What the module learns from the provider's own traffic, and the
 * provider's session cookies it revokes at a logout.  Built once per
 * location from its configuration (which must outlive it).
 */
typedef struct ol_provider_s ol_provider;

typedef struct {
    const ol_clients *clients; /* their redirect_uris name the client */
    const char *issuer;        /* the provider's, which signs ID tokens */
    size_t issuer_len;
    /* oidc_logout_provider_cookies: the names, and how long (seconds) a
     * revoked value is remembered */
    const char *const *cookie_names;
    const size_t *cookie_name_lens;
    size_t cookie_count;
    uint32_t cookie_remember;
    const char *cookie_path; /* their Path; NULL for "/" */
    size_t cookie_path_len;
} ol_provider_conf;

ol_status ol_provider_new(const ol_provider_conf *conf, ol_provider **out,
                          char *err, size_t errlen) OL_NOEXCEPT;
void ol_provider_free(ol_provider *provider) OL_NOEXCEPT;

typedef enum {
    /* a response of oidc_logout_authorization_endpoint: request is the
     * request's query, location the Location header, body a 200 HTML page
     * (a form_post response), read up to OL_OBSERVED_BODY_MAX bytes */
    OL_OBSERVE_AUTHORIZATION = 1,
    /* a response of oidc_logout_token_endpoint: request is the request's
     * form body, body the JSON answer */
    OL_OBSERVE_TOKEN = 2
} ol_observed;

#define OL_OBSERVED_BODY_MAX 65536

typedef struct {
    ol_observed what;
    ol_store *store;
    const ol_arena *arena;
    const ol_keys *keys; /* the provider's keys, for its ID tokens */
    int64_t now;
    const char *handle; /* the request's session cookie (may be empty) */
    size_t handle_len;
    unsigned status;
    const char *location;
    size_t location_len;
    const char *body;
    size_t body_len;
    const char *request;
    size_t request_len;
} ol_observation;

typedef struct {
    int learned;    /* a successful response, bound to a session */
    int set_cookie; /* set the session cookie to handle (a fresh one at
                     * every sign-in, the session found or started) */
    char handle[OL_ID_TEXT_LEN + 1];
    int unknown_kid; /* an ID token named a key the set does not hold */
} ol_learned;

/*
 * Learns from one response of the provider.  An authorization response (a
 * 302/303/307 to a registered redirect_uri, or a form_post page, carrying
 * code or id_token) finds or starts the browser's session under a fresh
 * handle, joins the client, remembers the code for ten minutes and one
 * use, and binds a verified ID token (its sub, and its sid as that
 * client's provider sid).  A token response to an authorization_code
 * request binds its ID token to the session the code was remembered for
 * (verified, or, when its key is not in the set yet, taken on the word of
 * the channel).  Anything else changes nothing.
 * err gets a line to log ("" when there is none); OL_OK unless the call
 * itself failed.
 */
ol_status ol_provider_observe(const ol_provider *provider,
                              const ol_observation *observation,
                              ol_learned *out, char *err,
                              size_t errlen) OL_NOEXCEPT;

/*
 * The Cookie header cookie without the provider cookies whose values a
 * logout revoked: 1 and the header in out (*out_len; out has room for
 * 2 * cookie_len bytes: the pairs kept are joined with "; "), or 0 when it
 * keeps every cookie.  A value is revoked however it is spelled: blanks
 * around it, double quotes, percent-escapes.
 */
int ol_provider_drop_revoked(const ol_provider *provider, ol_store *store,
                             const ol_arena *arena, const char *cookie,
                             size_t cookie_len, uint64_t now, char *out,
                             size_t *out_len) OL_NOEXCEPT;

/* ---- Back-channel logout ------------------------------------------------ */

/* Whether keys hold a private key (the first one signs logout tokens), and
 * the alg it signs with ("" when none). */
const char *ol_keys_signing_alg(const ol_keys *keys) OL_NOEXCEPT;

/* The deliveries of one ended session (ol_response_take_deliveries). */
typedef struct ol_deliveries_s ol_deliveries;

/*
 * Signs one logout token (typ logout+jwt: iss, aud, iat, exp = iat + 120,
 * a unique jti, events, sid, sub) for each client of the ended session
 * that has a backchannel_logout_uri.  It only reads the configuration, so
 * it may run in a thread while the event loop goes on.  err says why
 * signing failed.
 */
ol_status ol_deliveries_sign(ol_deliveries *deliveries, char *err,
                             size_t errlen) OL_NOEXCEPT;
/* The ended session's public id, for log lines. */
const char *ol_deliveries_sid(const ol_deliveries *deliveries) OL_NOEXCEPT;
/* How many deliveries there are once signed (0 before). */
size_t ol_deliveries_count(const ol_deliveries *deliveries) OL_NOEXCEPT;
/* The index-th delivery: its target and the
 * application/x-www-form-urlencoded body ("logout_token=..."). */
void ol_delivery_get(const ol_deliveries *deliveries, size_t index,
                     const ol_target **target, const char **body,
                     size_t *body_len) OL_NOEXCEPT;
void ol_deliveries_free(ol_deliveries *deliveries) OL_NOEXCEPT;
/*
 * The round of deliveries is over (every attempt ended, or they could not
 * all start): the clients that got their token, or refused it for good,
 * are through; the others wait in the zone for another round, from a
 * delay that grows with the rounds (see ol_pending_take).
 */
void ol_deliveries_settle(ol_deliveries *deliveries, uint64_t now) OL_NOEXCEPT;

/* ---- Every session end notifies ------------------------------------------ */

/*
 * Ends the expired sessions that one sweep of the zone reaches: the least
 * recently used, and buckets more of the zone's index from where the last
 * sweep stopped (each worker sweeps every second).  How many ended.
 */
unsigned ol_store_sweep(ol_store *store, const ol_arena *arena, uint64_t now,
                        unsigned buckets) OL_NOEXCEPT;

/* Who delivers the logout tokens that wait in a zone. */
typedef struct {
    const ol_keys *keys; /* signs them */
    const ol_clients *clients;
    const char *issuer;
    size_t issuer_len;
    unsigned retries;    /* oidc_logout_backchannel_retries */
    uint64_t timeout_ms; /* oidc_logout_backchannel_timeout */
    uint32_t give_up;    /* oidc_logout_backchannel_give_up, seconds */
} ol_notifier_conf;

/*
 * Takes up to max ended sessions of the zone whose clients wait for their
 * logout tokens and whose next round is due; each comes back as the
 * deliveries of one round, to sign (fresh tokens: new jti, iat and exp),
 * deliver and settle (ol_deliveries_settle), like a logout's.  Its clients
 * are held for this worker for the time of the round; should it die, they
 * are taken again after that.  A session that ended give_up seconds ago
 * is given up (ol_store_stats.pending_given_up).  How many were taken.
 */
size_t ol_pending_take(ol_store *store, const ol_arena *arena,
                       const ol_notifier_conf *conf, uint64_t now,
                       ol_deliveries **out, size_t max) OL_NOEXCEPT;

/* How one attempt of a delivery ended, as the network showed it. */
typedef enum {
    OL_ATTEMPT_ANSWERED, /* the client answered with an HTTP status */
    OL_ATTEMPT_FAILED,   /* no usable answer: connect, TLS, send, read,
                          * timeout, a response that is not HTTP */
    OL_ATTEMPT_ABORTED   /* given up before an answer: no memory, nginx
                          * shutting down, a certificate refused */
} ol_attempt;

/*
 * An attempt of the index-th delivery ended: the delivery policy says
 * whether it delivered the token (200 or 204), is to be tried again (a
 * failure or a 5xx, while oidc_logout_backchannel_retries allows, and
 * unless final: nginx is exiting; *retry_in_ms gets the delay, doubling
 * from 1 s up to 30 s), or is given up.  The zone counts the outcome;
 * *attempt gets the attempt's number, from 1.
 */
ol_delivery_outcome ol_delivery_attempted(ol_deliveries *deliveries,
                                          size_t index, ol_attempt attempt_end,
                                          unsigned status, int final,
                                          unsigned *attempt,
                                          uint64_t *retry_in_ms) OL_NOEXCEPT;

/* ---- The logout endpoint ------------------------------------------------ */

typedef enum { OL_MODE_OIDC = 1, OL_MODE_AUTH0 = 2 } ol_mode;

/* The pages of the endpoint, each replaceable by an operator's template. */
typedef enum {
    OL_PAGE_LOGGED_OUT = 0,
    OL_PAGE_ERROR = 1,
    OL_PAGE_CONFIRM = 2
} ol_page_kind;

/*
 * A page template: HTML with the placeholders {{title}}, {{message}} and,
 * for the confirmation page (where it is required), {{form}}.  Unknown
 * placeholders are refused with the reason.
 */
typedef struct ol_template_s ol_template;

ol_status ol_template_load(const char *path, ol_page_kind kind,
                           ol_template **out, char *err,
                           size_t errlen) OL_NOEXCEPT;
void ol_template_free(ol_template *page) OL_NOEXCEPT;

/* What an endpoint is configured with.  Pointers may be NULL. */
typedef struct {
    ol_mode mode;
    const ol_clients *clients;
    const ol_allowlist *tenant_urls;
    const ol_keys *keys;
    const char *issuer;
    size_t issuer_len;
    int federated; /* oidc_logout_federated_url is set (used with an issuer) */
    int sessions;  /* the location has oidc_logout_session */
    const ol_template *pages[3];      /* by ol_page_kind; NULL: built in */
    unsigned frontchannel_timeout_ms; /* oidc_logout_frontchannel_timeout */
    unsigned backchannel_retries;     /* oidc_logout_backchannel_retries */
    uint64_t backchannel_timeout_ms;  /* oidc_logout_backchannel_timeout */
    const ol_provider *provider; /* its session cookies end with a logout */
} ol_endpoint_conf;

/* A logout endpoint, built once per location from its configuration (which
 * must outlive it). */
typedef struct ol_endpoint_s ol_endpoint;

ol_status ol_endpoint_new(const ol_endpoint_conf *conf, ol_endpoint **out,
                          char *err, size_t errlen) OL_NOEXCEPT;
void ol_endpoint_free(ol_endpoint *endpoint) OL_NOEXCEPT;

/* One logout request. */
typedef struct {
    /* the query string (GET, HEAD) or the
     * application/x-www-form-urlencoded body (POST), as received */
    const char *params;
    size_t params_len;
    int post;
    /* this endpoint's path, URL-escaped, a relative reference that stays
     * on this origin: the confirmation form posts to it, the 303 of a
     * cross-site POST goes to it, and the federated return is it on the
     * issuer's origin (no absolute URL is taken from the request) */
    const char *action;
    size_t action_len;
    /* the location's session zone (NULL without oidc_logout_session) and
     * the request's session cookie (may be empty) */
    ol_store *store;
    const ol_arena *arena;
    const char *handle;
    size_t handle_len;
    /* cluster mode: Redis could not be asked for the cookie's session
     * (then a session this node does not know ends once Redis is back) */
    int unverified;
    /* the request's Cookie headers, joined with "; " (the provider's
     * session cookies are revoked when the logout is carried out) */
    const char *cookie;
    size_t cookie_len;
    int64_t now;
    /* for a federated logout: evaluates oidc_logout_federated_url with
     * $oidc_logout_return_to set to return_to (percent-encoded), *url
     * valid until the request ends; OL_OK, or the failure */
    ol_status (*federated_url)(void *data, const char *return_to,
                               size_t return_to_len, const char **url,
                               size_t *url_len);
    void *data;
    /* the keys that verify id_token_hint now (the glue's
     * ngx_http_oidc_logout_keys_current); NULL: the endpoint's own */
    const ol_keys *keys;
} ol_logout_request;

typedef struct ol_response_s ol_response;

/*
 * Decides a logout request whole: finds its session, decides the response
 * (a refusal is a 4xx response), and when the response ends the session,
 * ends it, takes the federated step, makes the front-channel page of the
 * session's clients the response, and keeps the back-channel deliveries
 * (ol_response_take_deliveries).  The glue sends the response as it is.
 * Fails only with OL_NOMEM or OL_INTERNAL, err saying why.
 */
ol_status ol_logout_decide(const ol_endpoint *endpoint,
                           const ol_logout_request *request, ol_response **out,
                           char *err, size_t errlen) OL_NOEXCEPT;
/* The public JWKS of keys, as a 200 application/json response. */
ol_status ol_jwks_respond(const ol_keys *keys, ol_response **out) OL_NOEXCEPT;

/*
 * The discovery metadata fragment: end_session_endpoint and jwks_uri (the
 * issuer's origin with these paths; jwks_path may be empty) and the
 * logout capabilities (back-channel ones when backchannel: the keys can
 * sign logout tokens), as a 200 application/json response.
 */
ol_status ol_metadata_respond(const char *issuer, size_t issuer_len,
                              const char *end_session_path,
                              size_t end_session_path_len,
                              const char *jwks_path, size_t jwks_path_len,
                              int backchannel, ol_response **out) OL_NOEXCEPT;

/* A 400 response for a request refused before its parameters were read
 * (wrong content type, oversized body); reason goes to the log. */
ol_status ol_logout_refuse(const char *reason, size_t reason_len,
                           ol_response **out) OL_NOEXCEPT;
void ol_response_free(ol_response *response) OL_NOEXCEPT;

/* The HTTP status: 200, 302, 303 (a POST to repeat as a GET), 400, or 500
 * (the log reason says why; nginx's own page is sent). */
int ol_response_status(const ol_response *response) OL_NOEXCEPT;
/* Body and its content type (both empty for a redirect). */
const char *ol_response_body(const ol_response *response,
                             size_t *len) OL_NOEXCEPT;
const char *ol_response_content_type(const ol_response *response,
                                     size_t *len) OL_NOEXCEPT;
/* Response headers to send, Location included; index from 0. */
size_t ol_response_header_count(const ol_response *response) OL_NOEXCEPT;
void ol_response_header(const ol_response *response, size_t index,
                        const char **name, size_t *name_len, const char **value,
                        size_t *value_len) OL_NOEXCEPT;
/* 1 when the session cookie is to be cleared (the logout ended the
 * request's session). */
int ol_response_clears_cookie(const ol_response *response) OL_NOEXCEPT;
/* 1 when the request's id_token_hint names a kid that none of the keys
 * has: the provider may have rotated its keys (ask a refresh). */
int ol_response_unknown_kid(const ol_response *response) OL_NOEXCEPT;
/* The back-channel deliveries of the session the logout ended, unsigned,
 * now the caller's to free; NULL when there are none. */
ol_deliveries *ol_response_take_deliveries(ol_response *response) OL_NOEXCEPT;
/* Why the request was refused (printable ASCII, no prefix), or NULL with
 * *len = 0 when there is nothing to log. */
const char *ol_response_log_reason(const ol_response *response,
                                   size_t *len) OL_NOEXCEPT;

/* ---- The operators' locations -------------------------------------------- */

/* One request of the admin API (oidc_logout_admin). */
typedef struct {
    const char *method;
    size_t method_len;
    const char *path; /* its last segment names the resource */
    size_t path_len;
    const char *args; /* the query string */
    size_t args_len;
    uint64_t now;
} ol_admin_request;

/*
 * Decides one request of the admin API whole (JSON): GET .../sessions with
 * sub= or sid= lists live sessions, DELETE .../sessions with sub= or sid=
 * ends them (their clients are then notified like after a logout), GET
 * .../deliveries lists the logout tokens waiting per client.
 */
ol_status ol_admin_decide(ol_store *store, const ol_arena *arena,
                          const ol_admin_request *request, ol_response **out,
                          char *err, size_t errlen) OL_NOEXCEPT;

/* A refusal of the APIs before the core could read the request: status,
 * a JSON invalid_request error with reason, which is also logged; allow
 * (may be NULL) the methods of an Allow header. */
ol_status ol_api_refuse(int status, const char *reason, size_t len,
                        const char *allow, ol_response **out) OL_NOEXCEPT;

/* A back-channel logout receiver (oidc_logout_backchannel_receiver): who
 * the upstream provider is and the client ids it addresses nginx by. */
typedef struct ol_receiver_s ol_receiver;

typedef struct {
    const char *issuer;
    size_t issuer_len;
    const char *const *audiences; /* oidc_logout_upstream_client_id */
    const size_t *audience_lens;
    size_t audience_count;
    /* oidc_logout_keys (may be NULL): a token they verify is the module's
     * own, never the provider's */
    const ol_keys *own_keys;
} ol_receiver_conf;

ol_status ol_receiver_new(const ol_receiver_conf *conf, ol_receiver **out,
                          char *err, size_t errlen) OL_NOEXCEPT;
void ol_receiver_free(ol_receiver *receiver) OL_NOEXCEPT;

/*
 * A POST of the upstream provider to the receiver (its
 * application/x-www-form-urlencoded body), decided whole: the logout token
 * verified with keys (the provider's, fetched), its jti remembered in the
 * zone, every session it names ended (its clients then notified).  200, or
 * 400 with a JSON error, its reason to log; ol_response_unknown_kid when
 * the token's kid is not among keys.
 */
ol_status ol_receiver_decide(const ol_receiver *receiver, const ol_keys *keys,
                             ol_store *store, const ol_arena *arena,
                             const char *body, size_t body_len, uint64_t now,
                             ol_response **out, char *err,
                             size_t errlen) OL_NOEXCEPT;

/* The metrics page of a zone (oidc_logout_metrics) in the Prometheus text
 * format; clients (may be NULL) names the clients to show. */
ol_status ol_metrics_respond(ol_store *store, const ol_arena *arena,
                             const ol_clients *clients, const char *zone,
                             uint64_t zone_bytes, ol_response **out, char *err,
                             size_t errlen) OL_NOEXCEPT;

/* ---- Cluster mode: the zone caches the sessions Redis holds -------------- */

/*
 * With it, the zone is one node's cache: its sessions do not expire in it
 * (Redis decides, ol_cluster_script OL_SCRIPT_EXPIRE, and the stream of
 * ends says so: ol_cluster_forget), and one forced out only leaves the
 * cache; an end made here waits in the outbox, unpublished, until Redis
 * says which node notifies (ol_cluster_published).
 */
void ol_cluster_enable(ol_store *store, const ol_arena *arena) OL_NOEXCEPT;

/* The sessions an admin request names (ol_admin_decide), for a node to
 * read from Redis before deciding: 'u' with a subject, 's' with a sid in
 * value, 0 for none. */
int ol_admin_cluster_scope(const ol_admin_request *request, char *value,
                           size_t value_size, size_t *value_len) OL_NOEXCEPT;
/* The sessions Redis holds that the decision ends too
 * (OL_SCRIPT_END_BY's arguments): 'u' (value is a subject; with psid, those
 * holding that provider sid), 'p' (value is a provider sid), 0: none. */
int ol_response_cluster_end(const ol_response *resp, const char **value,
                            size_t *value_len, const char **psid,
                            size_t *psid_len) OL_NOEXCEPT;

/* The Lua scripts of the data model (see src/core/redis_model.cpp). */
typedef enum {
    OL_SCRIPT_PUT,        /* write a session */
    OL_SCRIPT_END,        /* end sessions: which node won each */
    OL_SCRIPT_EXPIRE,     /* end the due sessions, for this node to notify */
    OL_SCRIPT_LOAD,       /* the records of a subject, a provider sid, a sid */
    OL_SCRIPT_END_BY,     /* end a subject's or a provider sid's sessions */
    OL_SCRIPT_END_HANDLE, /* end the session of a cookie value */
    OL_SCRIPT_EXISTS,     /* which sids live */
    OL_SCRIPT_SECRET      /* the cluster's secret */
} ol_cluster_script;
const char *ol_cluster_script_text(ol_cluster_script kind) OL_NOEXCEPT;

/* Whether the session of the cookie value handle is live in the zone. */
int ol_cluster_knows(ol_store *store, const ol_arena *arena, const char *handle,
                     size_t handle_len, uint64_t now) OL_NOEXCEPT;

/* Whether the session of the cookie value handle ended lately (here, or
 * heard from the stream): no need to ask Redis. */
int ol_cluster_handle_ended(ol_store *store, const ol_arena *arena,
                            const char *handle, size_t handle_len,
                            uint64_t now) OL_NOEXCEPT;

/* A session to write to Redis (OL_SCRIPT_PUT's arguments). */
typedef struct {
    const char *handle, *sid, *sub;
    size_t sub_len;
    const char *record; /* binary */
    size_t record_len;
    const char *const *provider_sids;
    size_t provider_sid_count;
    uint32_t changed;  /* nonzero: changed since written (ol_cluster_written) */
    uint32_t deadline; /* when it expires, 0: never */
    uint32_t lifetime_end;
} ol_cluster_session;
typedef struct ol_cluster_sessions ol_cluster_sessions;

/* The sessions used since since (seconds), newest first, at most max:
 * with changed_only, those changed since they were written; otherwise also
 * those whose deadline moved by idle/16 or more since it was last listed
 * (their touches).  NULL on no memory. */
ol_cluster_sessions *ol_cluster_changes(ol_store *store, const ol_arena *arena,
                                        uint64_t since, int changed_only,
                                        size_t max) OL_NOEXCEPT;
/* The session of the cookie value handle when it changed since it was
 * written (a list of one), or none: what a login or a join changed, to
 * write before the browser has its answer.  NULL on no memory. */
ol_cluster_sessions *ol_cluster_change_of(ol_store *store,
                                          const ol_arena *arena,
                                          const char *handle, size_t handle_len,
                                          uint64_t now) OL_NOEXCEPT;
size_t ol_cluster_sessions_count(const ol_cluster_sessions *list) OL_NOEXCEPT;
void ol_cluster_session_get(const ol_cluster_sessions *list, size_t index,
                            ol_cluster_session *out) OL_NOEXCEPT;
void ol_cluster_sessions_free(ol_cluster_sessions *list) OL_NOEXCEPT;
/* Redis took the write of the session of sid as it was at changed.  A
 * session the stream said ended while the write was in flight (the write
 * came first, the end told its clients) leaves the zone now. */
void ol_cluster_written(ol_store *store, const ol_arena *arena, const char *sid,
                        uint32_t changed, uint64_t now) OL_NOEXCEPT;

/* A record read from Redis becomes a live session of the zone: OL_OK;
 * OL_DENIED when it ended (here, or heard of); OL_INVALID for bytes that
 * are not a record; OL_NOMEM. */
ol_status ol_cluster_import(ol_store *store, const ol_arena *arena,
                            const char *record, size_t len,
                            uint64_t now) OL_NOEXCEPT;
/* Another node ended sid: it leaves the zone, and no record brings it
 * back (one changed here and not yet written stays until its write is
 * answered).  Whether it left. */
int ol_cluster_forget(ol_store *store, const ol_arena *arena, const char *sid,
                      size_t sid_len, uint64_t now) OL_NOEXCEPT;

/* Ends made here that Redis has not heard of (OL_SCRIPT_END's arguments):
 * how many, at most max. */
size_t ol_cluster_unpublished(ol_store *store, const ol_arena *arena,
                              char (*sids)[OL_ID_TEXT_LEN + 1],
                              ol_end_cause *causes, size_t max) OL_NOEXCEPT;
/* Cookies of sessions this node did not know, logged out while Redis
 * was unreachable (OL_SCRIPT_END_HANDLE's arguments): how many, at most
 * max; and Redis heard of one of them. */
size_t ol_cluster_unpublished_handles(ol_store *store, const ol_arena *arena,
                                      char (*handles)[OL_ID_TEXT_LEN + 1],
                                      size_t max) OL_NOEXCEPT;
void ol_cluster_handle_published(ol_store *store, const ol_arena *arena,
                                 const char *handle) OL_NOEXCEPT;
/* What OL_SCRIPT_END answered for sid: won, this node notifies its clients
 * and those of record (may be empty) besides; otherwise another node
 * does, and this one forgets it.  1 when this answer decided the end, 0
 * when another answer (another worker's) had already. */
int ol_cluster_published(ol_store *store, const ol_arena *arena,
                         const char *sid, int won, const char *record,
                         size_t record_len, uint64_t now) OL_NOEXCEPT;
/* Redis ended the session of record for cause (OL_SCRIPT_EXPIRE): its
 * clients wait in this zone's outbox. */
ol_status ol_cluster_enqueue(ol_store *store, const ol_arena *arena,
                             const char *record, size_t len, ol_end_cause cause,
                             uint64_t now) OL_NOEXCEPT;

/* The sids of the zone's live sessions, from *cursor (0 at first), at
 * most about max a call; 1 when the walk is over. */
int ol_cluster_cached(ol_store *store, const ol_arena *arena, uint64_t *cursor,
                      char (*sids)[OL_ID_TEXT_LEN + 1], size_t max,
                      size_t *count) OL_NOEXCEPT;

/* Flags every process of a node shares, swapped atomically: value 0 or
 * 1 sets it (returns whether it changed), -1 reads it. */
typedef enum {
    OL_CLUSTER_DOWN, /* Redis is unreachable */
    OL_CLUSTER_STALE /* ends may have been missed: the cache is checked */
} ol_cluster_flag_kind;
int ol_cluster_flag(ol_store *store, const ol_arena *arena,
                    ol_cluster_flag_kind kind, int value) OL_NOEXCEPT;
/* The last entry of the stream of ends that this node applied. */
void ol_cluster_stream_position(ol_store *store, const ol_arena *arena,
                                uint64_t *ms, uint64_t *seq) OL_NOEXCEPT;
void ol_cluster_set_stream_position(ol_store *store, const ol_arena *arena,
                                    uint64_t ms, uint64_t seq) OL_NOEXCEPT;
/* This zone's name among the nodes: 16 hex digits and a NUL. */
void ol_cluster_node(ol_store *store, const ol_arena *arena,
                     char out[17]) OL_NOEXCEPT;
/* Values a node remembers (keyed hashes: the nodes share the secret)
 * and that the others remember too. */
typedef enum {
    OL_MEMO_CODES,   /* authorization codes bound to sessions */
    OL_MEMO_REVOKED, /* revoked provider cookies */
    OL_MEMO_JTIS     /* logout tokens the receiver took */
} ol_cluster_memo_table;
typedef struct {
    uint32_t table; /* an ol_cluster_memo_table */
    uint8_t key[16];
    uint8_t sid[16];
    uint32_t expires; /* 0: taken (a code used once) */
    uint32_t client_hash;
} ol_cluster_memo;
/* What this zone remembered since the last published, at most max: how
 * many; *upto then goes to ol_cluster_memos_published once they are. */
size_t ol_cluster_memos(ol_store *store, const ol_arena *arena,
                        ol_cluster_memo *out, size_t max,
                        uint64_t *upto) OL_NOEXCEPT;
void ol_cluster_memos_published(ol_store *store, const ol_arena *arena,
                                uint64_t upto) OL_NOEXCEPT;
/* What another node remembered (or took). */
void ol_cluster_memo_apply(ol_store *store, const ol_arena *arena,
                           const ol_cluster_memo *memo,
                           uint64_t now) OL_NOEXCEPT;

/* The cluster's secret (32 bytes) replaces the zone's. */
void ol_cluster_set_secret(ol_store *store, const ol_arena *arena,
                           const uint8_t *secret, size_t len) OL_NOEXCEPT;
/* Whether secret is the zone's. */
int ol_cluster_secret_is(ol_store *store, const ol_arena *arena,
                         const uint8_t *secret, size_t len) OL_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* OIDC_LOGOUT_CORE_H */
