/*
 * ngx_http_oidc_logout_module: what the glue files share.
 */

#ifndef NGX_HTTP_OIDC_LOGOUT_H
#define NGX_HTTP_OIDC_LOGOUT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "oidc_logout_core.h"

/* An oidc_logout_session directive, checked once the http block is read. */
typedef struct {
    ngx_shm_zone_t *shm_zone;
    ngx_str_t file;
    ngx_uint_t line;
} ngx_http_oidc_logout_session_ref_t;

typedef struct {
    ngx_array_t sessions; /* of ngx_http_oidc_logout_session_ref_t */
} ngx_http_oidc_logout_main_conf_t;

/* A client's backchannel_logout_uri, resolved when the registry loads. */
typedef struct {
    ngx_str_t client_id;
    ngx_url_t url; /* host, port, uri (path and query), addresses */
    ngx_uint_t https;
    ngx_uint_t literal; /* the host is an IP address */
} ngx_http_oidc_logout_bc_target_t;

typedef struct {
    ol_clients *clients;                     /* oidc_logout_clients */
    ol_allowlist *tenant_urls;               /* oidc_logout_allowed_urls */
    ngx_str_t issuer;                        /* oidc_logout_issuer */
    ol_keys *keys;                           /* oidc_logout_keys */
    ngx_http_complex_value_t *federated_url; /* oidc_logout_federated_url */
    /* paths of this server's endpoint and JWKS, for the metadata */
    ngx_str_t end_session_path;
    ngx_str_t jwks_path;
    /* back-channel deliveries of the registry's clients */
    ngx_array_t *bc_targets; /* of ngx_http_oidc_logout_bc_target_t */
    /* by the client's position in the registry: its target's index + 1,
     * 0 for a client without a backchannel_logout_uri */
    ngx_uint_t *bc_slots;
    size_t bc_nclients;
    ngx_uint_t bc_https;       /* one of them is https */
    ngx_flag_t bc_verify;      /* oidc_logout_backchannel_ssl_verify */
    ngx_flag_t bc_server_name; /* oidc_logout_backchannel_ssl_server_name */
    ngx_str_t bc_trusted; /* oidc_logout_backchannel_ssl_trusted_certificate */
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
    NGX_HTTP_OIDC_LOGOUT_METADATA
};

/* A session zone (oidc_logout_zone), as each process sees it. */
typedef struct {
    ngx_str_t name;
    time_t idle;
    time_t lifetime;
    ngx_slab_pool_t *shpool;
    ol_store *store; /* in the zone */
    ol_arena arena;  /* the pool's allocator and mutex */
    time_t full_logged;
    ngx_uint_t evicted_unlogged;
    ngx_uint_t failed_unlogged;
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
} ngx_http_oidc_logout_loc_conf_t;

/* The request's session, as the logout endpoint needs it. */
typedef struct {
    ngx_uint_t cookie; /* the request sent the session cookie */
    ngx_uint_t live;
    ngx_str_t sid;
    ngx_str_t sub;
    u_char csrf[OL_CSRF_TEXT_LEN + 1];
    size_t csrf_len;
} ngx_http_oidc_logout_session_state_t;

extern ngx_module_t ngx_http_oidc_logout_module;

/* The content handler of "oidc_logout oidc|auth0;" locations. */
ngx_int_t ngx_http_oidc_logout_handler(ngx_http_request_t *r);
/* The content handler of oidc_logout_jwks and oidc_logout_metadata. */
ngx_int_t ngx_http_oidc_logout_document_handler(ngx_http_request_t *r);

/* Writes a response the core decided, and frees it
 * (ngx_http_oidc_logout_handler.c). */
ngx_int_t ngx_http_oidc_logout_output(ngx_http_request_t *r, ol_response *resp);

/* Back-channel logout (ngx_http_oidc_logout_backchannel.c) */
char *ngx_http_oidc_logout_bc_targets(ngx_conf_t *cf,
                                      ngx_http_oidc_logout_srv_conf_t *oscf);
#if (NGX_HTTP_SSL)
char *ngx_http_oidc_logout_bc_ssl(ngx_conf_t *cf,
                                  ngx_http_oidc_logout_srv_conf_t *oscf);
#endif
/*
 * Sends the logout tokens of the session the request ended to its
 * back-channel clients.  NGX_DECLINED when there are none; NGX_DONE when
 * the response (resp, which it then owns) waits for the deliveries
 * (oidc_logout_backchannel_wait), NGX_OK when it goes out now (as it does
 * when resp is NULL).
 */
ngx_int_t ngx_http_oidc_logout_backchannel(ngx_http_request_t *r,
                                           const ol_session_info *ended,
                                           ol_response *resp);

/* Adds a response header, sent as it is (ngx_http_oidc_logout_handler.c). */
ngx_int_t ngx_http_oidc_logout_push_header(ngx_http_request_t *r,
                                           ngx_str_t *name, ngx_str_t *value);

/* Directives (ngx_http_oidc_logout_zone.c, ngx_http_oidc_logout_session.c) */
char *ngx_http_oidc_logout_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_oidc_logout_session(ngx_conf_t *cf, ngx_command_t *cmd,
                                   void *conf);

/* Logs a full zone: evictions and failed allocations, a line a second. */
void ngx_http_oidc_logout_zone_full(ngx_http_request_t *r,
                                    ngx_http_oidc_logout_zone_t *zone,
                                    ngx_uint_t evicted, ngx_uint_t failed);

/* Session layer (ngx_http_oidc_logout_session.c) */
ngx_int_t ngx_http_oidc_logout_session_init(ngx_conf_t *cf);
ngx_int_t ngx_http_oidc_logout_add_variables(ngx_conf_t *cf);
char *
ngx_http_oidc_logout_check_sessions(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_loc_conf_t *conf);
/* Ends the request's session and clears its cookie (logout); ended gets
 * the session when this request ended it, else a client_count of 0. */
ngx_int_t ngx_http_oidc_logout_end_session(ngx_http_request_t *r,
                                           ol_session_info *ended);
/* Fills st with the request's live session, if any. */
ngx_int_t
ngx_http_oidc_logout_session_state(ngx_http_request_t *r,
                                   ngx_http_oidc_logout_session_state_t *st);
/* Sets $oidc_logout_return_to for the rest of the request. */
ngx_int_t ngx_http_oidc_logout_set_return_to(ngx_http_request_t *r,
                                             ngx_str_t *value);

#endif /* NGX_HTTP_OIDC_LOGOUT_H */
