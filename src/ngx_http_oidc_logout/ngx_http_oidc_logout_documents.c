/*
 * ngx_http_oidc_logout_module: the documents a provider publishes:
 * oidc_logout_jwks (the public signing keys, with the provider's fetched
 * ones) and oidc_logout_metadata
 * (the logout part of the discovery document).
 */

#include "ngx_http_oidc_logout.h"

ngx_int_t
ngx_http_oidc_logout_document_handler(ngx_http_request_t *r)
{
    ngx_int_t rc;
    ol_status status;
    ol_response *resp;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (olcf->document == NGX_HTTP_OIDC_LOGOUT_JWKS) {
        /* the provider's keys, when fetched, and the module's */
        status = ol_jwks_respond(ngx_http_oidc_logout_keys_current(r), &resp);
    } else {
        status = ol_metadata_respond(
            (const char *)oscf->issuer.data, oscf->issuer.len,
            (const char *)oscf->end_session_path.data,
            oscf->end_session_path.len, (const char *)oscf->jwks_path.data,
            oscf->jwks_path.len,
            oscf->keys != NULL && *ol_keys_signing_alg(oscf->keys) != '\0',
            &resp);
    }

    if (status != OL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_output(r, resp);
}
