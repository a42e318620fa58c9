/*
 * ngx_http_oidc_logout_module: small helpers the glue files share: writing
 * a response the core decided, response headers, pool copies.
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
ngx_http_oidc_logout_header_lines(ngx_http_request_t *r, ngx_list_t *headers,
                                  const char *name,
                                  ngx_http_oidc_logout_each_pt each, void *data)
{
    size_t len = ngx_strlen(name);
    ngx_int_t rc;
    ngx_uint_t i;
    ngx_list_part_t *part;
    ngx_table_elt_t *h;

    part = &headers->part;
    h = part->elts;
    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        /* a hash of 0 marks a line taken out */
        if (h[i].hash == 0 || h[i].key.len != len || h[i].value.len == 0 ||
            ngx_strncasecmp(h[i].key.data, (u_char *)name, len) != 0) {
            continue;
        }
        rc = each(r, &h[i], data);
        if (rc != NGX_OK) {
            return rc;
        }
    }
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

ngx_int_t
ngx_http_oidc_logout_output(ngx_http_request_t *r, ol_response *resp)
{
    size_t i, n, len, value_len;
    ngx_uint_t level;
    ngx_int_t rc;
    ngx_buf_t *b;
    ngx_str_t name, value, body;
    ngx_chain_t out;
    const char *p, *q;

    r->headers_out.status = ol_response_status(resp);

    p = ol_response_log_reason(resp, &len);
    if (p != NULL) {
        /* a failure is an alert, a refusal an error, a note on an answered
         * request a warning */
        level = r->headers_out.status >= NGX_HTTP_INTERNAL_SERVER_ERROR
                    ? NGX_LOG_ALERT
                : r->headers_out.status >= NGX_HTTP_BAD_REQUEST ? NGX_LOG_ERR
                                                                : NGX_LOG_WARN;
        ngx_log_error(level, r->connection->log, 0, "oidc_logout: %*s", len, p);
    }

    if (r->headers_out.status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        /* nginx's own page */
        r->headers_out.status = 0;
        ol_response_free(resp);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ol_response_header_count(resp);
    for (i = 0; i < n; i++) {
        ol_response_header(resp, i, &p, &len, &q, &value_len);

        if (ngx_http_oidc_logout_copy(r, &name, p, len) != NGX_OK ||
            ngx_http_oidc_logout_copy(r, &value, q, value_len) != NGX_OK) {
            goto failed;
        }

        if (ngx_http_oidc_logout_push_header(r, &name, &value) != NGX_OK) {
            goto failed;
        }
    }

    p = ol_response_content_type(resp, &len);
    if (len) {
        if (ngx_http_oidc_logout_copy(r, &r->headers_out.content_type, p,
                                      len) != NGX_OK) {
            goto failed;
        }
        r->headers_out.content_type_len = len;
        r->headers_out.content_type_lowcase = NULL;
    }

    p = ol_response_body(resp, &len);
    if (ngx_http_oidc_logout_copy(r, &body, p, len) != NGX_OK) {
        goto failed;
    }

    ol_response_free(resp);

    r->headers_out.content_length_n = body.len;

    if (body.len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body.data;
    b->last = body.data + body.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);

failed:

    ol_response_free(resp);
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}

ngx_int_t
ngx_http_oidc_logout_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
                                 ngx_http_handler_pt handler)
{
    ngx_http_handler_pt *h;
    ngx_http_core_main_conf_t *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[phase].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = handler;
    return NGX_OK;
}

ngx_int_t
ngx_http_oidc_logout_is_form(ngx_http_request_t *r)
{
    static ngx_str_t form = ngx_string("application/x-www-form-urlencoded");
    ngx_table_elt_t *ct;
    u_char *p, *end;

    ct = r->headers_in.content_type;
    if (ct == NULL || ct->value.len < form.len ||
        ngx_strncasecmp(ct->value.data, form.data, form.len) != 0) {
        return 0;
    }

    /* only parameters (";charset=...") may follow the media type */
    p = ct->value.data + form.len;
    end = ct->value.data + ct->value.len;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p == end || *p == ';';
}

ngx_int_t
ngx_http_oidc_logout_form_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char *p;
    size_t len;
    ngx_chain_t *cl;
    ngx_http_request_body_t *rb;
    ngx_http_core_loc_conf_t *clcf;

    rb = r->request_body;
    ngx_str_null(body);

    if (rb == NULL || rb->bufs == NULL) {
        return NGX_OK;
    }

    /* the body is in memory, though not always in one buffer: a browser
     * sends it apart from the headers, a chunked body may come in several,
     * and the chain may end with an empty last buffer, whose pos is NULL
     * after a chunked body (so empty buffers are skipped below) */
    len = 0;
    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return NGX_DECLINED;
        }
        len += cl->buf->last - cl->buf->pos;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    if (rb->temp_file != NULL || len > (size_t)clcf->client_body_buffer_size) {
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len ? len : 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;
    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->last != cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }
    body->len = len;

    return NGX_OK;
}
