/*
 * ngx_http_oidc_logout_module: in front of an unmodified provider.
 *
 * The core learns from the provider's own traffic; this file carries it
 * there.  oidc_logout_authorization_endpoint: a redirect is handed over
 * with its Location, a 200 page (form_post) read whole, its headers held
 * until then (header and body filters); the core's answer may set the
 * session cookie.  oidc_logout_token_endpoint: the request's form body is
 * read before the content phase (precontent), and the answer copied as it
 * passes (body filter).  oidc_logout_provider_cookies: provider cookies
 * whose values a logout revoked are taken out of the request (preaccess).
 */

#include "ngx_http_oidc_logout.h"

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt ngx_http_next_body_filter;

static void
ngx_http_oidc_logout_provider_cleanup(void *data)
{
    ol_provider_free(data);
}

char *
ngx_http_oidc_logout_provider_init(ngx_conf_t *cf,
                                   ngx_http_oidc_logout_loc_conf_t *olcf,
                                   ngx_http_oidc_logout_srv_conf_t *oscf)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    const char *need;
    ngx_str_t *names;
    ngx_uint_t i, n;
    ol_provider_conf conf;
    ngx_pool_cleanup_t *cln;
    const char **name_data;
    size_t *name_lens;

    n = olcf->provider_cookies ? olcf->provider_cookies->nelts : 0;
    if (!olcf->authorization_endpoint && !olcf->token_endpoint && n == 0) {
        return NGX_CONF_OK;
    }

    need = olcf->session == NULL ? "\"oidc_logout_session\""
           : (olcf->authorization_endpoint || olcf->token_endpoint) &&
                   (oscf->clients == NULL || oscf->issuer.len == 0)
               ? "\"oidc_logout_clients\" and \"oidc_logout_issuer\""
               : NULL;
    if (need != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: \"%s\" needs %s",
                           olcf->authorization_endpoint
                               ? "oidc_logout_authorization_endpoint"
                           : olcf->token_endpoint ? "oidc_logout_token_endpoint"
                                                  : "oidc_logout_provider_"
                                                    "cookies",
                           need);
        return NGX_CONF_ERROR;
    }

    name_data = ngx_palloc(cf->pool, (n + 1) * sizeof(char *));
    name_lens = ngx_palloc(cf->pool, (n + 1) * sizeof(size_t));
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (name_data == NULL || name_lens == NULL || cln == NULL) {
        return NGX_CONF_ERROR;
    }
    names = n ? olcf->provider_cookies->elts : NULL;
    for (i = 0; i < n; i++) {
        name_data[i] = (const char *)names[i].data;
        name_lens[i] = names[i].len;
    }

    ngx_memzero(&conf, sizeof(conf));
    conf.clients = oscf->clients;
    conf.issuer = (const char *)oscf->issuer.data;
    conf.issuer_len = oscf->issuer.len;
    conf.cookie_names = name_data;
    conf.cookie_name_lens = name_lens;
    conf.cookie_count = n;
    conf.cookie_remember = (uint32_t)olcf->provider_cookie_remember;
    if (olcf->provider_cookie_path.len) {
        conf.cookie_path = (const char *)olcf->provider_cookie_path.data;
        conf.cookie_path_len = olcf->provider_cookie_path.len;
    }

    if (ol_provider_new(&conf, &olcf->provider, err, sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: %s", err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_provider_cleanup;
    cln->data = olcf->provider;

    return NGX_CONF_OK;
}

/* ---- what the core learns ----------------------------------------------- */

static ngx_int_t
ngx_http_oidc_logout_first(ngx_http_request_t *r, ngx_table_elt_t *h,
                           void *data)
{
    *(ngx_table_elt_t **)data = h;
    return NGX_DONE;
}

/* The response's Location: nginx points headers_out.location only at one
 * it may rewrite (a proxied redirect that proxy_redirect leaves alone is
 * only in the list). */
static ngx_table_elt_t *
ngx_http_oidc_logout_location(ngx_http_request_t *r)
{
    ngx_table_elt_t *h = r->headers_out.location;

    if (h == NULL) {
        (void)ngx_http_oidc_logout_header_lines(r, &r->headers_out.headers,
                                                "Location",
                                                ngx_http_oidc_logout_first, &h);
    }
    return h;
}

/* Hands one response to the core, and does what it says. */
static void
ngx_http_oidc_logout_observe(ngx_http_request_t *r,
                             ngx_http_oidc_logout_loc_conf_t *lcf,
                             ngx_http_oidc_logout_ctx_t *ctx, ol_observed what)
{
    ol_learned learned;
    ol_observation o;
    ngx_table_elt_t *location;
    ngx_http_oidc_logout_zone_t *zone = lcf->session->shm_zone->data;
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];

    ngx_memzero(&o, sizeof(o));
    o.what = what;
    o.store = zone->store;
    o.arena = &zone->arena;
    o.keys = ngx_http_oidc_logout_keys_current(r);
    o.now = ngx_time();
    o.handle = (const char *)ctx->handle.data;
    o.handle_len = ctx->handle.len;
    o.status = (unsigned)r->headers_out.status;
    if (what == OL_OBSERVE_AUTHORIZATION) {
        location = ngx_http_oidc_logout_location(r);
        if (location != NULL) {
            o.location = (const char *)location->value.data;
            o.location_len = location->value.len;
        }
        o.request = (const char *)r->args.data;
        o.request_len = r->args.len;
    } else {
        o.request = (const char *)ctx->token_request.data;
        o.request_len = ctx->token_request.len;
    }
    o.body = (const char *)ctx->seen;
    o.body_len = ctx->seen_len;

    if (ol_provider_observe(lcf->provider, &o, &learned, err, sizeof(err)) !=
        OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0, "oidc_logout: %s",
                      err);
        return;
    }
    if (err[0] != '\0') {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0, "oidc_logout: %s",
                      err);
    }
    if (learned.unknown_kid) {
        ngx_http_oidc_logout_keys_unknown_kid(r);
    }
    if (learned.set_cookie) {
        if (ngx_http_oidc_logout_copy(r, &ctx->handle, learned.handle,
                                      OL_ID_TEXT_LEN) != NGX_OK ||
            ngx_http_oidc_logout_set_cookie(r, lcf->session, &ctx->handle) !=
                NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "oidc_logout: the session cookie of an "
                          "authorization response could not be set");
        }
        ctx->looked_up = 0;
    }
    /* what it learned reaches the other nodes */
    ngx_http_oidc_logout_cluster_write_now(zone, &ctx->handle);
}

/* Copies the bytes of in to what the context has seen, up to
 * OL_OBSERVED_BODY_MAX; NGX_DECLINED beyond, NGX_ERROR without memory. */
static ngx_int_t
ngx_http_oidc_logout_see(ngx_http_request_t *r, ngx_http_oidc_logout_ctx_t *ctx,
                         ngx_chain_t *in)
{
    size_t len, size;
    u_char *p;
    ngx_chain_t *cl;

    for (cl = in; cl; cl = cl->next) {
        if (ngx_buf_special(cl->buf)) {
            continue;
        }
        if (!ngx_buf_in_memory(cl->buf)) {
            return NGX_DECLINED;
        }
        len = cl->buf->last - cl->buf->pos;
        if (ctx->seen_len + len > OL_OBSERVED_BODY_MAX) {
            return NGX_DECLINED;
        }
        if (ctx->seen_len + len > ctx->seen_size) {
            size = ngx_max(ctx->seen_size * 2, 4096);
            while (size < ctx->seen_len + len) {
                size *= 2;
            }
            size = ngx_min(size, OL_OBSERVED_BODY_MAX);
            p = ngx_pnalloc(r->pool, size);
            if (p == NULL) {
                return NGX_ERROR;
            }
            if (ctx->seen_len) {
                ngx_memcpy(p, ctx->seen, ctx->seen_len);
            }
            ctx->seen = p;
            ctx->seen_size = size;
        }
        ngx_memcpy(ctx->seen + ctx->seen_len, cl->buf->pos, len);
        ctx->seen_len += len;
    }

    return NGX_OK;
}

/* Sends the held headers and what was read of the page. */
static ngx_int_t
ngx_http_oidc_logout_release(ngx_http_request_t *r,
                             ngx_http_oidc_logout_ctx_t *ctx, ngx_uint_t last)
{
    ngx_int_t rc;
    ngx_buf_t *b;
    ngx_chain_t out;

    ctx->holding = 0;
    rc = ngx_http_next_header_filter(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    if (ctx->seen_len == 0 && !last) {
        return NGX_OK;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }
    b->pos = ctx->seen;
    b->last = ctx->seen + ctx->seen_len;
    b->memory = ctx->seen_len ? 1 : 0;
    b->last_buf = last ? 1 : 0;
    b->sync = ctx->seen_len ? 0 : 1;
    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}

static ngx_int_t
ngx_http_oidc_logout_provider_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t status;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    status = r->headers_out.status;

    if (r != r->main || lcf->provider == NULL || r->error_page ||
        (!lcf->authorization_endpoint && !lcf->token_endpoint)) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (lcf->authorization_endpoint) {
        if (status == NGX_HTTP_MOVED_TEMPORARILY ||
            status == NGX_HTTP_SEE_OTHER ||
            status == NGX_HTTP_TEMPORARY_REDIRECT) {
            ngx_http_oidc_logout_observe(r, lcf, ctx, OL_OBSERVE_AUTHORIZATION);

        } else if (status == NGX_HTTP_OK && !r->header_only &&
                   r->headers_out.content_type.len >= sizeof("text/html") - 1 &&
                   ngx_strncasecmp(r->headers_out.content_type.data,
                                   (u_char *)"text/html",
                                   sizeof("text/html") - 1) == 0 &&
                   (r->headers_out.content_length_n < 0 ||
                    r->headers_out.content_length_n <= OL_OBSERVED_BODY_MAX)) {
            /* a form_post page: its headers wait for the whole page */
            ctx->observing = OL_OBSERVE_AUTHORIZATION;
            ctx->holding = 1;
            r->filter_need_in_memory = 1;
            return NGX_OK;
        }
        return ngx_http_next_header_filter(r);
    }

    if (status == NGX_HTTP_OK && !r->header_only &&
        ctx->token_request.len > 0) {
        ctx->observing = OL_OBSERVE_TOKEN;
        r->filter_need_in_memory = 1;
    }
    return ngx_http_next_header_filter(r);
}

static ngx_int_t
ngx_http_oidc_logout_provider_body_filter(ngx_http_request_t *r,
                                          ngx_chain_t *in)
{
    size_t before;
    ngx_int_t rc;
    ngx_uint_t last;
    ngx_chain_t *cl;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    ctx = r == r->main ? ngx_http_get_module_ctx(r, ngx_http_oidc_logout_module)
                       : NULL;
    if (ctx == NULL || !ctx->observing || in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    last = 0;
    for (cl = in; cl; cl = cl->next) {
        last |= cl->buf->last_buf;
    }

    before = ctx->seen_len;
    rc = ngx_http_oidc_logout_see(r, ctx, in);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (!ctx->holding) {
        /* the token answer passes as it comes */
        if (rc == NGX_DECLINED) {
            ctx->observing = 0;
        } else if (last) {
            ngx_http_oidc_logout_observe(r, lcf, ctx, OL_OBSERVE_TOKEN);
            ctx->observing = 0;
        }
        return ngx_http_next_body_filter(r, in);
    }

    if (rc == NGX_DECLINED) {
        /* larger than a form_post page: what was kept, then in, sent on
         * unobserved */
        ctx->observing = 0;
        ctx->seen_len = before;
        rc = ngx_http_oidc_logout_release(r, ctx, 0);
        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }
        return ngx_http_next_body_filter(r, in);
    }

    /* kept in ctx->seen: the buffers are free again */
    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }
    if (!last) {
        return NGX_OK;
    }

    ngx_http_oidc_logout_observe(r, lcf, ctx, OL_OBSERVE_AUTHORIZATION);
    ctx->observing = 0;
    rc = ngx_http_oidc_logout_release(r, ctx, 1);
    return rc > NGX_OK ? NGX_ERROR : rc;
}

/* ---- the token request's body ------------------------------------------- */

static void
ngx_http_oidc_logout_token_body(ngx_http_request_t *r)
{
    u_char *p;
    size_t len;
    ngx_chain_t *cl;
    ngx_http_oidc_logout_ctx_t *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_oidc_logout_module);
    ctx->body_read = 1;

    /* the form body in memory (a chunked one ends with an empty buffer) */
    len = 0;
    if (r->request_body != NULL && r->request_body->temp_file == NULL) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (ngx_buf_special(cl->buf)) {
                continue;
            }
            if (!ngx_buf_in_memory(cl->buf)) {
                len = OL_OBSERVED_BODY_MAX + 1;
                break;
            }
            len += cl->buf->last - cl->buf->pos;
        }
    } else if (r->request_body != NULL) {
        len = OL_OBSERVED_BODY_MAX + 1;
    }

    if (len > OL_OBSERVED_BODY_MAX) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "oidc_logout: a token request body beyond "
                      "client_body_buffer_size (or 64 KB) is not observed");

    } else if (len > 0 && (p = ngx_pnalloc(r->pool, len)) != NULL) {
        ctx->token_request.data = p;
        ctx->token_request.len = len;
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (!ngx_buf_special(cl->buf)) {
                p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
            }
        }
    }

    /* the body stays for the content handler (proxy_pass) */
    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}

static ngx_int_t
ngx_http_oidc_logout_provider_precontent(ngx_http_request_t *r)
{
    ngx_int_t rc;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    if (r != r->main || !lcf->token_endpoint || lcf->provider == NULL ||
        !(r->method & NGX_HTTP_POST)) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ctx->body_read) {
        return NGX_DECLINED;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_oidc_logout_token_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}

/* ---- revoked provider cookies ------------------------------------------- */

static ngx_int_t
ngx_http_oidc_logout_drop_revoked(ngx_http_request_t *r, ngx_table_elt_t *h,
                                  void *data)
{
    u_char *out;
    size_t out_len;
    ngx_http_oidc_logout_loc_conf_t *lcf = data;
    ngx_http_oidc_logout_zone_t *zone = lcf->session->shm_zone->data;

    out = ngx_pnalloc(r->pool, 2 * h->value.len);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ol_provider_drop_revoked(lcf->provider, zone->store, &zone->arena,
                                 (const char *)h->value.data, h->value.len,
                                 ngx_time(), (char *)out, &out_len)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "oidc_logout: a provider cookie that a logout revoked "
                      "was taken out of the request");
        h->value.data = out;
        h->value.len = out_len;
    }
    return NGX_OK;
}

static ngx_int_t
ngx_http_oidc_logout_provider_preaccess(ngx_http_request_t *r)
{
    ngx_int_t rc;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    if (lcf->provider == NULL || lcf->provider_cookies == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_oidc_logout_header_lines(r, &r->headers_in.headers, "Cookie",
                                           ngx_http_oidc_logout_drop_revoked,
                                           lcf);
    return rc == NGX_OK ? NGX_DECLINED : rc;
}

ngx_int_t
ngx_http_oidc_logout_provider_filters(ngx_conf_t *cf)
{
    if (ngx_http_oidc_logout_add_handler(
            cf, NGX_HTTP_PREACCESS_PHASE,
            ngx_http_oidc_logout_provider_preaccess) != NGX_OK ||
        ngx_http_oidc_logout_add_handler(
            cf, NGX_HTTP_PRECONTENT_PHASE,
            ngx_http_oidc_logout_provider_precontent) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_oidc_logout_provider_header_filter;
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_oidc_logout_provider_body_filter;

    return NGX_OK;
}
