/*
 * ngx_http_oidc_logout_module: small helpers the glue files share.
 */

#include "ngx_http_oidc_logout.h"

ngx_int_t
ngx_http_oidc_logout_copy(ngx_http_request_t *r, ngx_str_t *dst,
                          const char *src, size_t len)
{
    dst->len = len;
    dst->data = ngx_pnalloc(r->pool, len ? len : 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    return NGX_OK;
}

ngx_int_t
ngx_http_oidc_logout_push_header(ngx_http_request_t *r, ngx_str_t *name,
                                 ngx_str_t *value)
{
    ngx_table_elt_t *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    /* a Location is never r->headers_out.location: nginx would make a
     * relative one (this endpoint's own path) absolute with the request's
     * Host (absolute_redirect) */
    return NGX_OK;
}
