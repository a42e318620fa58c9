/*
 * ngx_http_oidc_logout_module: what the glue files share.
 */

#ifndef NGX_HTTP_OIDC_LOGOUT_H
#define NGX_HTTP_OIDC_LOGOUT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "oidc_logout_core.h"

/* An oidc_logout_session directive, checked once the http block is read. */
typedef struct {
    ngx_shm_zone_t *shm_zone;
    ngx_str_t file;
    ngx_uint_t line;
    void *srv_conf; /* this module's, where the directive is */
} ngx_http_oidc_logout_session_ref_t;

typedef struct {
    ngx_array_t sessions; /* of ngx_http_oidc_logout_session_ref_t */
    ngx_array_t zones;    /* of ngx_shm_zone_t *: oidc_logout_zone */
} ngx_http_oidc_logout_main_conf_t;

/* Longest reason a core call writes into an error buffer. */
#define NGX_HTTP_OIDC_LOGOUT_ERRLEN 2048

/* Where a back-channel target's requests go (ol_target.data), resolved
 * when the registry loads. */
typedef struct {
    ngx_addr_t *addrs;
    ngx_uint_t naddrs;
    ngx_str_t host; /* for SNI and the certificate check */
} ngx_http_oidc_logout_bc_peer_t;

typedef struct ngx_http_oidc_logout_keys_url_s ngx_http_oidc_logout_keys_url_t;

typedef struct {
    ol_clients *clients;                       /* oidc_logout_clients */
    ol_allowlist *tenant_urls;                 /* oidc_logout_allowed_urls */
    ngx_str_t issuer;                          /* oidc_logout_issuer */
    ol_keys *keys;                             /* oidc_logout_keys */
    ngx_http_oidc_logout_keys_url_t *keys_url; /* oidc_logout_keys_url */
    ngx_http_complex_value_t *federated_url;   /* oidc_logout_federated_url */
    /* paths of this server's endpoint and JWKS, for the metadata */
    ngx_str_t end_session_path;
    ngx_str_t jwks_path;
    /* back-channel deliveries of the registry's clients */
    ngx_uint_t bc_ntargets;    /* clients with a backchannel_logout_uri */
    ngx_uint_t bc_https;       /* one of them is https */
    ngx_flag_t bc_verify;      /* oidc_logout_backchannel_ssl_verify */
    ngx_flag_t bc_server_name; /* oidc_logout_backchannel_ssl_server_name */
    ngx_str_t bc_trusted; /* oidc_logout_backchannel_ssl_trusted_certificate */
    time_t bc_give_up;    /* oidc_logout_backchannel_give_up */
    /* the upstream provider's logout tokens */
    ngx_array_t *upstream_client_ids; /* oidc_logout_upstream_client_id */
    ngx_str_t upstream_issuer;        /* oidc_logout_upstream_issuer */
#if (NGX_HTTP_SSL)
    ngx_ssl_t *bc_ssl;
#endif
#if (NGX_THREADS)
    ngx_thread_pool_t *bc_thread_pool;
#endif
} ngx_http_oidc_logout_srv_conf_t;

/* What a location serves besides the endpoint. */
enum {
    NGX_HTTP_OIDC_LOGOUT_NO_DOCUMENT = 0,
    NGX_HTTP_OIDC_LOGOUT_JWKS,
    NGX_HTTP_OIDC_LOGOUT_METADATA,
    /* the operators' locations (ngx_http_oidc_logout_operators.c) */
    NGX_HTTP_OIDC_LOGOUT_ADMIN,
    NGX_HTTP_OIDC_LOGOUT_METRICS,
    NGX_HTTP_OIDC_LOGOUT_RECEIVER
};

typedef struct ngx_http_oidc_logout_sweeper_s ngx_http_oidc_logout_sweeper_t;
typedef struct ngx_http_oidc_logout_cluster_s ngx_http_oidc_logout_cluster_t;

/* The longest redis_prefix= (keys add at most a sid, a cookie value, a
 * subject of 255 bytes) */
#define NGX_HTTP_OIDC_LOGOUT_REDIS_PREFIX_MAX 200

/* Where Redis is, as the zone directive parsed it. */
typedef struct {
    ngx_str_t host;      /* an IP address text, or empty with unix_path */
    in_port_t port;      /* host order */
    ngx_str_t unix_path; /* unix:/path or /path, or empty */
    ngx_str_t password;  /* empty: no AUTH */
    ngx_str_t name;      /* "127.0.0.1:6379" for log lines */
} ngx_http_oidc_logout_redis_conf_t;

/* A session zone (oidc_logout_zone), as each process sees it. */
typedef struct {
    ngx_str_t name;
    time_t idle;
    time_t lifetime;
    ngx_flag_t notify; /* notify=: expiry and eviction tell the clients */
    ngx_slab_pool_t *shpool;
    ol_store *store; /* in the zone */
    ol_arena arena;  /* the pool's allocator and mutex */
    time_t full_logged;
    ngx_uint_t evicted_unlogged;
    ngx_uint_t failed_unlogged;
    ngx_http_oidc_logout_sweeper_t *sweeper; /* this worker's */
    /* who delivers the logout tokens that wait in the zone: the first
     * server that uses it and can (ngx_http_oidc_logout_sweep_notifier) */
    void **notifier_ctx; /* that server's loc_conf; NULL: nobody */
    /* redis=: the zone caches the sessions a cluster shares in Redis */
    ngx_http_oidc_logout_redis_conf_t *redis;
    ngx_str_t redis_prefix;
    ngx_str_t file; /* where the directive is */
    ngx_uint_t line;
    ngx_http_oidc_logout_cluster_t *cluster; /* this worker's */
} ngx_http_oidc_logout_zone_t;

/* Which zone and cookie a location uses (oidc_logout_session). */
typedef struct {
    ngx_shm_zone_t *shm_zone;
    ngx_str_t cookie;
    ngx_str_t domain;
    ngx_str_t path;
    ngx_flag_t secure;
    ngx_str_t samesite;
} ngx_http_oidc_logout_session_conf_t;

typedef struct {
    ngx_uint_t mode; /* oidc_logout: 0 (off), OL_MODE_OIDC, OL_MODE_AUTH0 */
    ngx_http_oidc_logout_session_conf_t *session;
    ngx_http_complex_value_t *login;
    ngx_http_complex_value_t *join;
    ngx_flag_t require_session;
    ol_template *pages[3]; /* oidc_logout_page, by ol_page_kind */
    ngx_uint_t document;   /* oidc_logout_jwks, oidc_logout_metadata */
    ngx_msec_t frontchannel_timeout; /* oidc_logout_frontchannel_timeout */
    ngx_msec_t bc_timeout;           /* oidc_logout_backchannel_timeout */
    ngx_uint_t bc_retries;           /* oidc_logout_backchannel_retries */
    ngx_msec_t bc_wait;              /* oidc_logout_backchannel_wait */
    /* in front of an unmodified provider */
    ngx_flag_t authorization_endpoint; /* oidc_logout_authorization_endpoint */
    ngx_flag_t token_endpoint;         /* oidc_logout_token_endpoint */
    ngx_array_t *provider_cookies; /* oidc_logout_provider_cookies: ngx_str_t */
    time_t provider_cookie_remember; /* its remember= */
    ngx_str_t provider_cookie_path;  /* its path= */
    ol_provider *provider; /* from the above, when one of them is set */
    ol_receiver *receiver; /* oidc_logout_backchannel_receiver */
    ngx_str_t served_file; /* where the operators' directive is */
    ngx_uint_t served_line;
    ol_endpoint *endpoint; /* an "oidc_logout" location's, from the above */
} ngx_http_oidc_logout_loc_conf_t;

/* What the module keeps of a request (of its main request). */
typedef struct {
    ngx_str_t handle;      /* the session cookie, or the one just set */
    ol_session_info *info; /* the session, once looked up */
    unsigned looked_up : 1;
    /* cluster mode: the session was read from Redis (or needed not be),
     * and the admin API's sessions loaded */
    unsigned cluster_read : 1;
    unsigned cluster_asked : 1; /* ... and Redis answered */
    unsigned cluster_loaded : 1;
    /* cluster mode: the preaccess lookup found the session live (and
     * touched it), which require_session takes as its own */
    unsigned session_live : 1;
    /* the request passed the location's access checks and reached its
     * content handling (not "return", not an error page) */
    unsigned reached_content : 1;
    ngx_str_t return_to; /* $oidc_logout_return_to */
    /* a response of the provider being read (ngx_http_oidc_logout_provider.c):
     * what is observed (an ol_observed, 0 for nothing), whether its headers
     * wait for its body, the body so far, the token request's form body */
    unsigned observing : 2;
    unsigned holding : 1;
    unsigned body_read : 1;
    u_char *seen;
    size_t seen_len;
    size_t seen_size;
    ngx_str_t token_request;
    /* a logout decided, waiting for Redis's word on who notifies */
    ol_response *decided;
    ol_deliveries *deliveries;
    ngx_int_t decided_rc;
} ngx_http_oidc_logout_ctx_t;

typedef struct ngx_http_oidc_logout_batch_s ngx_http_oidc_logout_batch_t;
/* Called once when a batch is over, or when its wait is. */
typedef void (*ngx_http_oidc_logout_bc_done_pt)(void *data);

extern ngx_module_t ngx_http_oidc_logout_module;

/* The logout endpoint (ngx_http_oidc_logout_endpoint.c) */
ngx_int_t ngx_http_oidc_logout_handler(ngx_http_request_t *r);
/* The JWKS and the metadata (ngx_http_oidc_logout_documents.c) */
ngx_int_t ngx_http_oidc_logout_document_handler(ngx_http_request_t *r);
/* Builds the endpoint object of an "oidc_logout" location. */
char *ngx_http_oidc_logout_endpoint_init(ngx_conf_t *cf,
                                         ngx_http_oidc_logout_loc_conf_t *olcf,
                                         ngx_http_oidc_logout_srv_conf_t *oscf);

/* Back-channel targets and TLS (ngx_http_oidc_logout_bc_targets.c) */
char *ngx_http_oidc_logout_bc_targets(ngx_conf_t *cf,
                                      ngx_http_oidc_logout_srv_conf_t *oscf);
/* Resolves t's host into t->data (an ngx_http_oidc_logout_bc_peer_t);
 * NULL, or why it cannot. */
const char *ngx_http_oidc_logout_bc_resolve(ngx_conf_t *cf, ol_target *t);
#if (NGX_HTTP_SSL)
char *ngx_http_oidc_logout_bc_ssl(ngx_conf_t *cf,
                                  ngx_http_oidc_logout_srv_conf_t *oscf);
#endif

/* One HTTP request, a POST or a GET (ngx_http_oidc_logout_bc_client.c) */
typedef struct ngx_http_oidc_logout_post_s ngx_http_oidc_logout_post_t;
/* How an attempt ended: failure names it when there was no HTTP answer,
 * NULL when status is the answer's. */
typedef void (*ngx_http_oidc_logout_post_done_pt)(
    ngx_http_oidc_logout_post_t *p, const char *failure, ol_attempt attempt_end,
    ngx_uint_t status);

struct ngx_http_oidc_logout_post_s {
    /* set by the caller */
    const ol_target *target; /* its data: ngx_http_oidc_logout_bc_peer_t */
    ngx_http_oidc_logout_srv_conf_t *oscf; /* the TLS settings */
    ngx_msec_t timeout;                    /* of each attempt */
    ngx_log_t *log;
    ngx_pool_t *pool; /* lives as long as this */
    ngx_http_oidc_logout_post_done_pt done;
    void *data;
    const char *label; /* log lines: label + target->client_id; NULL:
                        * "backchannel client=" */
    size_t max_body;   /* a GET: the longest body read; 0: a POST */
    /* an answered GET's body (in the pool), once done is called */
    u_char *body;
    size_t body_len;
    ngx_err_t err; /* why a connect() failed, if it did */
    /* the client's own */
    ngx_str_t request;
    ngx_uint_t attempt; /* attempts so far */
    size_t sent;
    ngx_peer_connection_t peer;
    ngx_event_t deadline;
    u_char *in; /* the response so far */
    size_t in_len;
    size_t in_size;
    unsigned connected : 1;
};

/* Makes the request: a POST of body as a form to p->target. */
ngx_int_t ngx_http_oidc_logout_post_prepare(ngx_http_oidc_logout_post_t *p,
                                            const char *body, size_t body_len);
/* Makes the request: a GET of p->target, its answer's body bounded by
 * p->max_body. */
ngx_int_t ngx_http_oidc_logout_get_prepare(ngx_http_oidc_logout_post_t *p);
/* One attempt (a retry goes to the host's next address): p->done is
 * called once, its connection closed. */
void ngx_http_oidc_logout_post(ngx_http_oidc_logout_post_t *p);
/* Closes an attempt's connection, if any, without a call of done. */
void ngx_http_oidc_logout_post_cancel(ngx_http_oidc_logout_post_t *p);

/* Back-channel batches (ngx_http_oidc_logout_bc_batch.c): starts the
 * deliveries d of a logout (the batch owns them).  done, when not NULL, is
 * called once: when they are over, or after wait, whichever comes first,
 * never before this returns.  NULL on failure. */
ngx_http_oidc_logout_batch_t *
ngx_http_oidc_logout_bc_start(ngx_http_request_t *r, ol_deliveries *d,
                              ngx_msec_t wait,
                              ngx_http_oidc_logout_bc_done_pt done, void *data);
/* The batch's done is not to be called any more. */
void ngx_http_oidc_logout_bc_forget(ngx_http_oidc_logout_batch_t *b);
/* Starts the deliveries d that waited in a zone (the batch owns them),
 * for the server oscf, logging to log. */
ngx_int_t ngx_http_oidc_logout_bc_deliver(ngx_http_oidc_logout_srv_conf_t *oscf,
                                          ngx_msec_t timeout, ngx_log_t *log,
                                          ol_deliveries *d);

/* Each worker's periodic work on the zones (ngx_http_oidc_logout_sweep.c) */
/* Chooses each zone's notifier once the http block is read; warns when a
 * zone has back-channel clients and nobody to sign for them. */
ngx_int_t ngx_http_oidc_logout_sweep_notifiers(ngx_conf_t *cf);
ngx_int_t ngx_http_oidc_logout_sweep_init_process(ngx_cycle_t *cycle);
/* Sessions of zone ended outside a sweep: their deliveries start now. */
void ngx_http_oidc_logout_sweep_now(ngx_http_oidc_logout_zone_t *zone);

/* Sessions shared through Redis (ngx_http_oidc_logout_cluster.c) */
ngx_int_t ngx_http_oidc_logout_cluster_init(ngx_conf_t *cf);
ngx_int_t ngx_http_oidc_logout_cluster_init_process(ngx_cycle_t *cycle);
void ngx_http_oidc_logout_cluster_exit_process(ngx_cycle_t *cycle);
/* Every second, from the sweep's tick. */
void ngx_http_oidc_logout_cluster_tick(ngx_http_oidc_logout_zone_t *zone);
/* Sessions of zone changed or ended here: Redis hears of it now. */
void ngx_http_oidc_logout_cluster_changed(ngx_http_oidc_logout_zone_t *zone);
/* The session of the cookie value handle, changed by this request, is
 * written to Redis at once, whatever other writes are in flight: the
 * browser's next request may reach another node. */
void ngx_http_oidc_logout_cluster_write_now(ngx_http_oidc_logout_zone_t *zone,
                                            ngx_str_t *handle);
/* Which node tells the clients of the session sid this request ended:
 * NGX_DONE, and done(r, won) is called later (won: this node, or Redis
 * could not say); NGX_DECLINED when not in cluster mode (this node). */
typedef void (*ngx_http_oidc_logout_verdict_pt)(ngx_http_request_t *r,
                                                ngx_uint_t won);
ngx_int_t ngx_http_oidc_logout_cluster_verdict(
    ngx_http_request_t *r, ngx_http_oidc_logout_zone_t *zone, const char *sid,
    ngx_http_oidc_logout_verdict_pt done);
/* The admin API's content handler, again once the sessions its request
 * names are read from Redis: NGX_DONE meanwhile; NGX_DECLINED when there
 * is nothing to read. */
ngx_int_t ngx_http_oidc_logout_cluster_load(ngx_http_request_t *r,
                                            ngx_http_oidc_logout_zone_t *zone,
                                            int kind, ngx_str_t *value,
                                            ngx_http_handler_pt again);
/* The sessions Redis holds that a decision ends too (resp). */
void ngx_http_oidc_logout_cluster_end_by(ngx_http_oidc_logout_zone_t *zone,
                                         ol_response *resp);

/*
 * The provider's keys (ngx_http_oidc_logout_keys_url.c).
 *
 * The keys that verify id_token_hint now: oidc_logout_keys and the
 * provider's fetched keys merged (ol_keys_merge), or oidc_logout_keys alone
 * without oidc_logout_keys_url; NULL when there are none.  Valid until the
 * request's handler returns to the event loop.
 */
const ol_keys *ngx_http_oidc_logout_keys_current(ngx_http_request_t *r);
/* The provider's fetched keys alone (they verify what the provider signs:
 * its logout tokens); NULL before the first fetch or without
 * oidc_logout_keys_url.  Valid as ngx_http_oidc_logout_keys_current's. */
const ol_keys *ngx_http_oidc_logout_keys_upstream(ngx_http_request_t *r);
/* A hint named a kid none of the keys has (ol_response_unknown_kid): asks
 * the provider's keys again, at most once every 10 s across the workers. */
void ngx_http_oidc_logout_keys_unknown_kid(ngx_http_request_t *r);
char *ngx_http_oidc_logout_keys_url(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
/* A server that uses oidc_logout_keys_url, merged: its TLS settings fetch
 * the keys when it is the first. */
char *
ngx_http_oidc_logout_keys_url_merge(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_srv_conf_t *oscf);
ngx_int_t ngx_http_oidc_logout_keys_init_process(ngx_cycle_t *cycle);
void ngx_http_oidc_logout_keys_exit_process(ngx_cycle_t *cycle);

/* The zone (ngx_http_oidc_logout_zone.c) */
char *ngx_http_oidc_logout_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* Logs a full zone: evictions and failed allocations, a line a second. */
void ngx_http_oidc_logout_zone_full(ngx_http_request_t *r,
                                    ngx_http_oidc_logout_zone_t *zone,
                                    ngx_uint_t evicted, ngx_uint_t failed);

/* Session phases and the cookie (ngx_http_oidc_logout_session.c) */
ngx_int_t ngx_http_oidc_logout_session_init(ngx_conf_t *cf);
/* The request's context, its cookie read with sc (may be NULL). */
ngx_http_oidc_logout_ctx_t *
ngx_http_oidc_logout_get_ctx(ngx_http_request_t *r,
                             ngx_http_oidc_logout_session_conf_t *sc);
/* The request's session has ended: its variables are empty from now on. */
void ngx_http_oidc_logout_session_forget(ngx_http_oidc_logout_ctx_t *ctx);
/* Forgets the request's session and clears its cookie (it has ended). */
ngx_int_t ngx_http_oidc_logout_session_clear(ngx_http_request_t *r);

/* Sets the session cookie to value, or clears it when value is NULL. */
ngx_int_t
ngx_http_oidc_logout_set_cookie(ngx_http_request_t *r,
                                ngx_http_oidc_logout_session_conf_t *sc,
                                ngx_str_t *value);

/* In front of an unmodified provider (ngx_http_oidc_logout_provider.c) */
/* Builds the provider object of a location that observes the provider or
 * revokes its cookies. */
char *ngx_http_oidc_logout_provider_init(ngx_conf_t *cf,
                                         ngx_http_oidc_logout_loc_conf_t *olcf,
                                         ngx_http_oidc_logout_srv_conf_t *oscf);
ngx_int_t ngx_http_oidc_logout_provider_filters(ngx_conf_t *cf);

/* Access (ngx_http_oidc_logout_access.c): whether the location of clcf's
 * loc_conf, in the server of srv_conf, restricts who reaches it: allow and
 * deny rules that deny someone, auth_basic, auth_request, "internal", a
 * server that listens on loopback addresses or UNIX sockets only, or one
 * that checks client certificates (ssl_verify_client on or optional) on
 * TLS addresses only.  Read once the http block is merged (in a
 * postconfiguration handler). */
ngx_uint_t ngx_http_oidc_logout_restricted(ngx_conf_t *cf, void **loc_conf,
                                           void **srv_conf);

/* The operators' locations (ngx_http_oidc_logout_operators.c): the admin
 * API, the metrics page, the upstream provider's logout tokens */
ngx_int_t ngx_http_oidc_logout_operators_handler(ngx_http_request_t *r);
char *
ngx_http_oidc_logout_operators_init(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_loc_conf_t *olcf,
                                    ngx_http_oidc_logout_srv_conf_t *oscf);
char *ngx_http_oidc_logout_upstream_client_id(ngx_conf_t *cf,
                                              ngx_command_t *cmd, void *conf);

/* Variables (ngx_http_oidc_logout_variables.c) */
ngx_int_t ngx_http_oidc_logout_add_variables(ngx_conf_t *cf);

/* Shared helpers (ngx_http_oidc_logout_util.c) */
/* Adds a response header, sent as it is. */
ngx_int_t ngx_http_oidc_logout_push_header(ngx_http_request_t *r,
                                           ngx_str_t *name, ngx_str_t *value);
/* Sends a response the core decided (a 500 one as nginx's own page), and
 * frees it. */
ngx_int_t ngx_http_oidc_logout_output(ngx_http_request_t *r, ol_response *resp);
/* Calls each with every line of headers named name (a list of nginx's,
 * whatever else the nginx version keeps of them), until it returns
 * something else than NGX_OK, which is returned. */
typedef ngx_int_t (*ngx_http_oidc_logout_each_pt)(ngx_http_request_t *r,
                                                  ngx_table_elt_t *h,
                                                  void *data);
ngx_int_t ngx_http_oidc_logout_header_lines(ngx_http_request_t *r,
                                            ngx_list_t *headers,
                                            const char *name,
                                            ngx_http_oidc_logout_each_pt each,
                                            void *data);
/* Adds handler to the handlers of an nginx phase. */
ngx_int_t ngx_http_oidc_logout_add_handler(ngx_conf_t *cf,
                                           ngx_http_phases phase,
                                           ngx_http_handler_pt handler);
/* Whether the request's body is application/x-www-form-urlencoded. */
ngx_int_t ngx_http_oidc_logout_is_form(ngx_http_request_t *r);
/* The request body that nginx read, in one piece in the request's pool:
 * NGX_OK; NGX_DECLINED when it is larger than client_body_buffer_size. */
ngx_int_t ngx_http_oidc_logout_form_body(ngx_http_request_t *r,
                                         ngx_str_t *body);
/* Copies len bytes into the request pool (nginx keeps pointers to them). */
ngx_int_t ngx_http_oidc_logout_copy(ngx_http_request_t *r, ngx_str_t *dst,
                                    const char *src, size_t len);

/*
 * Directive handlers (ngx_http_oidc_logout_conf.c), for the command table of
 * ngx_http_oidc_logout_module.c.
 */
char *ngx_http_oidc_logout_session(ngx_conf_t *cf, ngx_command_t *cmd,
                                   void *conf);
/* Login, join and require_session need oidc_logout_session. */
char *
ngx_http_oidc_logout_check_sessions(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_loc_conf_t *conf);

/* What the configuration holds of the core, freed with its pool. */
enum {
    NGX_HTTP_OIDC_LOGOUT_HOLD_CLIENTS = 0,
    NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS,
    NGX_HTTP_OIDC_LOGOUT_HOLD_PAGE,
    NGX_HTTP_OIDC_LOGOUT_HOLD_ALLOWLIST
};

/* oidc_logout_clients and oidc_logout_keys: cmd->offset is
 * NGX_HTTP_OIDC_LOGOUT_HOLD_CLIENTS or NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS. */
char *ngx_http_oidc_logout_srv_file(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
char *ngx_http_oidc_logout_allowed_urls(ngx_conf_t *cf, ngx_command_t *cmd,
                                        void *conf);
char *ngx_http_oidc_logout_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
                                  void *conf);
char *ngx_http_oidc_logout_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_oidc_logout_document(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
char *ngx_http_oidc_logout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* oidc_logout_authorization_endpoint and oidc_logout_token_endpoint: the
 * flag at cmd->offset of the location's configuration */
char *ngx_http_oidc_logout_observes(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
char *ngx_http_oidc_logout_provider_cookies(ngx_conf_t *cf, ngx_command_t *cmd,
                                            void *conf);

/* The range of a time or number directive, and what to say outside it. */
typedef struct {
    ngx_conf_post_handler_pt post_handler;
    ngx_uint_t min; /* ngx_msec_t is an ngx_uint_t as well */
    ngx_uint_t max;
    char *reason;
} ngx_http_oidc_logout_bounds_t;

char *ngx_http_oidc_logout_check_bounds(ngx_conf_t *cf, void *post, void *data);

/* Refusals of a directive's parameters, for the directives' parsers: "invalid
 * parameter", and a parameter the directive cannot do without. */
char *ngx_http_oidc_logout_invalid_parameter(ngx_conf_t *cf, ngx_command_t *cmd,
                                             ngx_str_t *arg);
char *ngx_http_oidc_logout_needs(ngx_conf_t *cf, ngx_command_t *cmd,
                                 const char *what);

/*
 * One connection to Redis on the event loop (ngx_http_oidc_logout_redis.c).
 *
 * A worker's connection, never blocking it: it connects (then AUTH when a
 * password is set), and after a failed attempt or a lost connection tries
 * again after 100 ms, doubling to 2 s, until closed.  Commands are sent
 * only while it is up; their replies come in the order they were sent.
 * Callbacks run from the event loop, never before the call that set them
 * up has returned; from any of them, commands may be sent and the state
 * asked, but the connection is not to be closed.
 */
typedef struct ngx_http_oidc_logout_redis_s ngx_http_oidc_logout_redis_t;

/* reply is NULL when the command failed: not sent, connection lost,
 * timed out, or the connection is being closed; otherwise hiredis's
 * (REDIS_REPLY_ERROR for an error reply), valid during the call only.
 * Called exactly once per accepted command. */
typedef void (*ngx_http_oidc_logout_redis_reply_pt)(void *data,
                                                    redisReply *reply);
/* up: 1 when connected (after AUTH succeeded; reason ""), 0 when a
 * connection attempt failed or an established connection was lost;
 * reason is a short text (hiredis errstr, "timed out", "AUTH: <error>").
 * Called on every attempt's failure too: the caller decides what to log.
 * When an established connection is lost, the pending commands' NULL
 * replies come first. */
typedef void (*ngx_http_oidc_logout_redis_state_pt)(void *data, ngx_uint_t up,
                                                    const char *reason);

/* Allocated with ngx_alloc (lives until close; conf is copied); starts
 * connecting at once (non-blocking); reconnects after a failure or loss,
 * 100 ms doubling to 2 s.  timeout bounds an attempt (connect and AUTH)
 * and is the commands' default.  NULL: no memory. */
ngx_http_oidc_logout_redis_t *ngx_http_oidc_logout_redis_open(
    ngx_http_oidc_logout_redis_conf_t *conf, ngx_msec_t timeout,
    ngx_http_oidc_logout_redis_state_pt on_state, void *data, ngx_log_t *log);
/* Sends one command (binary-safe argv, copied). timeout: how long its
 * reply may take (0: the connection's); past it the connection is dropped
 * (every pending command gets NULL) and reconnects. NGX_OK: the callback
 * will be called once; NGX_DECLINED: not connected, the callback is not
 * called; NGX_ERROR: no memory, or a command that changes how replies
 * come (SUBSCRIBE and the like, MONITOR), which it cannot carry. */
ngx_int_t ngx_http_oidc_logout_redis_command(
    ngx_http_oidc_logout_redis_t *rc, ngx_msec_t timeout,
    ngx_http_oidc_logout_redis_reply_pt on_reply, void *data, int argc,
    const char **argv, const size_t *argvlen);
ngx_uint_t ngx_http_oidc_logout_redis_up(ngx_http_oidc_logout_redis_t *rc);
/* At the worker's exit: pending callbacks get NULL, then no more
 * callbacks; frees it. */
void ngx_http_oidc_logout_redis_close(ngx_http_oidc_logout_redis_t *rc);

#endif /* NGX_HTTP_OIDC_LOGOUT_H */
