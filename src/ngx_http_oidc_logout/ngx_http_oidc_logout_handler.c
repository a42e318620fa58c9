/*
 * ngx_http_oidc_logout_module: the logout endpoint's content handler.
 *
 * The core decides the response; this file reads the request's parameters
 * (query string or form body) and writes what the core decided.
 */

#include "ngx_http_oidc_logout.h"

static void ngx_http_oidc_logout_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_oidc_logout_respond(ngx_http_request_t *r,
                                              ngx_str_t *params);
static ngx_int_t ngx_http_oidc_logout_refuse(ngx_http_request_t *r,
                                             const char *reason);
static ngx_int_t ngx_http_oidc_logout_send(ngx_http_request_t *r,
                                           ol_response *resp);
static ngx_int_t ngx_http_oidc_logout_is_form(ngx_http_request_t *r);
static ngx_int_t ngx_http_oidc_logout_finish(ngx_http_request_t *r,
                                             ol_response *resp);
static ngx_int_t ngx_http_oidc_logout_own_path(ngx_http_request_t *r,
                                               ngx_str_t *path);

ngx_int_t
ngx_http_oidc_logout_handler(ngx_http_request_t *r)
{
    ngx_int_t rc;

    if (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_oidc_logout_respond(r, &r->args);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (!ngx_http_oidc_logout_is_form(r)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_oidc_logout_refuse(
            r, "POST without Content-Type application/x-www-form-urlencoded");
    }

    /* the parameters are read from memory */
    r->request_body_in_single_buf = 1;

    rc =
        ngx_http_read_client_request_body(r, ngx_http_oidc_logout_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}

static void
ngx_http_oidc_logout_body_handler(ngx_http_request_t *r)
{
    u_char *p;
    size_t len;
    ngx_str_t params;
    ngx_chain_t *cl;
    ngx_http_request_body_t *rb;
    ngx_http_core_loc_conf_t *clcf;

    rb = r->request_body;
    ngx_str_null(&params);

    if (rb == NULL || rb->bufs == NULL) {
        ngx_http_finalize_request(r, ngx_http_oidc_logout_respond(r, &params));
        return;
    }

    /* the body is in memory, though not always in one buffer: a browser
     * sends it apart from the headers, a chunked body may come in several,
     * and the chain may end with an empty last buffer, whose pos is NULL
     * after a chunked body (so empty buffers are skipped below) */
    len = 0;
    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            len = (size_t)-1;
            break;
        }
        len += cl->buf->last - cl->buf->pos;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    if (rb->temp_file != NULL || len > (size_t)clcf->client_body_buffer_size) {
        ngx_http_finalize_request(
            r, ngx_http_oidc_logout_refuse(
                   r, "request body larger than client_body_buffer_size"));
        return;
    }

    params.data = ngx_pnalloc(r->pool, len ? len : 1);
    if (params.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = params.data;
    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->last != cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }
    params.len = len;

    ngx_http_finalize_request(r, ngx_http_oidc_logout_respond(r, &params));
}

static ngx_int_t
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

static ngx_int_t
ngx_http_oidc_logout_respond(ngx_http_request_t *r, ngx_str_t *params)
{
    ngx_str_t action;
    ol_endpoint endpoint;
    ol_response *resp;
    ol_logout_request req;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;
    ngx_http_oidc_logout_session_state_t st;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (ngx_http_oidc_logout_session_state(r, &st) != NGX_OK ||
        ngx_http_oidc_logout_own_path(r, &action) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&endpoint, sizeof(endpoint));
    endpoint.mode = (ol_mode)olcf->mode;
    endpoint.clients = oscf->clients;
    endpoint.tenant_urls = oscf->tenant_urls;
    endpoint.keys = oscf->keys;
    endpoint.issuer = (const char *)oscf->issuer.data;
    endpoint.issuer_len = oscf->issuer.len;
    endpoint.federated = oscf->federated_url != NULL;
    endpoint.sessions = olcf->session != NULL;
    endpoint.pages[0] = olcf->pages[0];
    endpoint.pages[1] = olcf->pages[1];
    endpoint.pages[2] = olcf->pages[2];

    ngx_memzero(&req, sizeof(req));
    req.params = (const char *)params->data;
    req.params_len = params->len;
    req.post = (r->method & NGX_HTTP_POST) ? 1 : 0;
    req.action = (const char *)action.data;
    req.action_len = action.len;
    req.has_cookie = st.cookie;
    req.has_session = st.live;
    req.session_sid = (const char *)st.sid.data;
    req.session_sid_len = st.sid.len;
    req.session_sub = (const char *)st.sub.data;
    req.session_sub_len = st.sub.len;
    req.csrf_token = (const char *)st.csrf;
    req.csrf_token_len = st.csrf_len;
    req.now = ngx_time();

    if (ol_logout_respond(&endpoint, &req, &resp) != OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "oidc_logout: could not decide the logout response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_send(r, resp);
}

/* The federated URL, which gets $oidc_logout_return_to; empty when the
 * response does not go through it. */
static ngx_int_t
ngx_http_oidc_logout_federated_location(ngx_http_request_t *r,
                                        ol_response *resp, ngx_str_t *location)
{
    size_t len;
    const char *back;
    ngx_str_t value;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    ngx_str_null(location);

    back = ol_response_federated_return(resp, &len);
    if (back == NULL) {
        return NGX_OK;
    }

    value.len = len;
    value.data = ngx_pnalloc(r->pool, len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(value.data, back, len);

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    if (ngx_http_oidc_logout_set_return_to(r, &value) != NGX_OK ||
        ngx_http_complex_value(r, oscf->federated_url, location) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}

/*
 * This endpoint's own path, URL-escaped: a relative reference that cannot
 * leave this origin, whatever the location matched.  Backslashes are
 * escaped too (browsers read "\" as "/"), and a second "/" at the start
 * (a scheme-relative URL) becomes "%2F", which nginx decodes back.  A GET
 * of it, with the session gone, is the signed-out page.
 */
static ngx_int_t
ngx_http_oidc_logout_own_path(ngx_http_request_t *r, ngx_str_t *path)
{
    u_char *p, *c, *end;

    /* every byte escaped at the most */
    path->data = ngx_pnalloc(r->pool, 3 * r->uri.len);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = path->data;
    end = r->uri.data + r->uri.len;
    for (c = r->uri.data; c < end; c++) {
        if (*c == '\\' || (c == r->uri.data + 1 && *c == '/' && c[-1] == '/')) {
            p = ngx_sprintf(p, "%%%02Xd", (int)*c);
        } else {
            p = (u_char *)ngx_escape_uri(p, c, 1, NGX_ESCAPE_URI);
        }
    }

    path->len = p - path->data;
    return NGX_OK;
}

/*
 * A response that ends the session: ends it, then either turns the response
 * into the front-channel page of the session's clients or, for a federated
 * logout, sends the browser through the federated URL, and starts the
 * back-channel deliveries.  NGX_DONE when the response waits for them (it
 * then belongs to them).
 */
static ngx_int_t
ngx_http_oidc_logout_finish(ngx_http_request_t *r, ol_response *resp)
{
    int replaced = 0;
    ngx_int_t rc;
    ngx_str_t location, next;
    ol_endpoint endpoint;
    ol_session_info ended;
    static ngx_str_t name = ngx_string("Location");
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    if (ngx_http_oidc_logout_end_session(r, &ended) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_oidc_logout_federated_location(r, resp, &location);

    if (rc == NGX_OK && ended.client_count) {
        oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
        olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

        ngx_memzero(&endpoint, sizeof(endpoint));
        endpoint.clients = oscf->clients;
        endpoint.issuer = (const char *)oscf->issuer.data;
        endpoint.issuer_len = oscf->issuer.len;

        next = location;
        if (next.len == 0) {
            rc = ngx_http_oidc_logout_own_path(r, &next);
        }

        if (rc == NGX_OK &&
            ol_frontchannel_page(
                resp, &endpoint, &ended, (unsigned)olcf->frontchannel_timeout,
                (const char *)next.data, next.len, &replaced) != OL_OK) {
            rc = NGX_ERROR;
        }
    }

    if (rc == NGX_OK && location.len && !replaced) {
        rc = ngx_http_oidc_logout_push_header(r, &name, &location);
    }

    if (rc != NGX_OK) {
        /* the session has ended: its clients hear of it all the same */
        (void)ngx_http_oidc_logout_backchannel(r, &ended, NULL);
        return NGX_ERROR;
    }

    rc = ngx_http_oidc_logout_backchannel(r, &ended, resp);

    return rc == NGX_DECLINED ? NGX_OK : rc;
}

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
        status = ol_jwks_respond(oscf->keys, &resp);
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

    return ngx_http_oidc_logout_send(r, resp);
}

static ngx_int_t
ngx_http_oidc_logout_refuse(ngx_http_request_t *r, const char *reason)
{
    ol_response *resp;

    if (ol_logout_refuse(reason, ngx_strlen(reason), &resp) != OL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_send(r, resp);
}

/* Copies len bytes into the request pool (nginx keeps pointers to them). */
static ngx_int_t
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

/* Writes the core's response, after ending the session when it says so,
 * and frees it. */
static ngx_int_t
ngx_http_oidc_logout_send(ngx_http_request_t *r, ol_response *resp)
{
    ngx_int_t rc;

    if (ol_response_ends_session(resp)) {
        rc = ngx_http_oidc_logout_finish(r, resp);

        if (rc == NGX_DONE) {
            return NGX_DONE;
        }

        if (rc != NGX_OK) {
            ol_response_free(resp);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_oidc_logout_output(r, resp);
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
        /* a refusal is an error; a note on an answered request a warning */
        level = r->headers_out.status >= NGX_HTTP_BAD_REQUEST ? NGX_LOG_ERR
                                                              : NGX_LOG_WARN;
        ngx_log_error(level, r->connection->log, 0, "oidc_logout: %*s", len, p);
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
