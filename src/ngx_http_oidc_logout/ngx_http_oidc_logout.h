/*
 * ngx_http_oidc_logout_module: what the glue files share.
 */

#ifndef NGX_HTTP_OIDC_LOGOUT_H
#define NGX_HTTP_OIDC_LOGOUT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "oidc_logout_core.h"

typedef struct {
    ol_clients *clients;       /* oidc_logout_clients */
    ol_allowlist *tenant_urls; /* oidc_logout_allowed_urls */
} ngx_http_oidc_logout_srv_conf_t;

typedef struct {
    ngx_uint_t mode; /* oidc_logout: 0 (off), OL_MODE_OIDC, OL_MODE_AUTH0 */
} ngx_http_oidc_logout_loc_conf_t;

extern ngx_module_t ngx_http_oidc_logout_module;

/* The content handler of "oidc_logout oidc|auth0;" locations. */
ngx_int_t ngx_http_oidc_logout_handler(ngx_http_request_t *r);

#endif /* NGX_HTTP_OIDC_LOGOUT_H */
