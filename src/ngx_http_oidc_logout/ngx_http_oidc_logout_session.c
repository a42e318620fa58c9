/*
 * ngx_http_oidc_logout_module: session phases and the cookie.
 *
 * oidc_logout_login and oidc_logout_join act on a successful response
 * (header filter); oidc_logout_require_session refuses requests without a
 * live session (access phase, and precontent for subrequests).  The
 * request's session cookie is read once into the request's context.
 */

#include "ngx_http_oidc_logout.h"

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;

static ngx_int_t
ngx_http_oidc_logout_cookie(ngx_http_request_t *r, ngx_str_t *name,
                            ngx_str_t *value)
{
#if (nginx_version >= 1023000)
    return ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                             value) != NULL
               ? NGX_OK
               : NGX_DECLINED;
#else
    return ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                             value) == NGX_DECLINED
               ? NGX_DECLINED
               : NGX_OK;
#endif
}

ngx_http_oidc_logout_ctx_t *
ngx_http_oidc_logout_get_ctx(ngx_http_request_t *r,
                             ngx_http_oidc_logout_session_conf_t *sc)
{
    ngx_http_oidc_logout_ctx_t *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_oidc_logout_module);
    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->main->pool, sizeof(ngx_http_oidc_logout_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    if (sc == NULL || ngx_http_oidc_logout_cookie(r->main, &sc->cookie,
                                                  &ctx->handle) != NGX_OK) {
        ngx_str_null(&ctx->handle);
    }

    ngx_http_set_ctx(r->main, ctx, ngx_http_oidc_logout_module);
    return ctx;
}

ngx_int_t
ngx_http_oidc_logout_set_cookie(ngx_http_request_t *r,
                                ngx_http_oidc_logout_session_conf_t *sc,
                                ngx_str_t *value)
{
    u_char *p;
    size_t len;
    ngx_str_t cookie;
    static ngx_str_t set_cookie = ngx_string("Set-Cookie");

    len = sc->cookie.len + 1 + (value ? value->len : 0) + sizeof("; Path=") -
          1 + sc->path.len +
          (sc->domain.len ? sizeof("; Domain=") - 1 + sc->domain.len : 0) +
          sizeof("; Max-Age=0") - 1 + sizeof("; HttpOnly") - 1 +
          sizeof("; Secure") - 1 + sizeof("; SameSite=") - 1 + sc->samesite.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, "%V=", &sc->cookie);
    if (value) {
        p = ngx_copy(p, value->data, value->len);
    }
    p = ngx_sprintf(p, "; Path=%V", &sc->path);
    if (sc->domain.len) {
        p = ngx_sprintf(p, "; Domain=%V", &sc->domain);
    }
    if (value == NULL) {
        p = ngx_cpymem(p, "; Max-Age=0", sizeof("; Max-Age=0") - 1);
    }
    p = ngx_cpymem(p, "; HttpOnly", sizeof("; HttpOnly") - 1);
    if (sc->secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }
    p = ngx_sprintf(p, "; SameSite=%V", &sc->samesite);
    cookie.len = p - cookie.data;

    return ngx_http_oidc_logout_push_header(r, &set_cookie, &cookie);
}

static void
ngx_http_oidc_logout_login(ngx_http_request_t *r,
                           ngx_http_oidc_logout_session_conf_t *sc,
                           ngx_http_oidc_logout_ctx_t *ctx, ngx_str_t *sub)
{
    ol_status rc;
    ol_login_result res = {0};
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_http_oidc_logout_zone_t *zone = sc->shm_zone->data;

    rc = ol_session_login(zone->store, &zone->arena,
                          (const char *)ctx->handle.data, ctx->handle.len,
                          (const char *)sub->data, sub->len, ngx_time(), &res,
                          err, sizeof(err));

    if (res.evicted || rc == OL_NOMEM) {
        ngx_http_oidc_logout_zone_full(r, zone, res.evicted, rc == OL_NOMEM);
    }

    if (rc != OL_OK) {
        if (rc != OL_NOMEM) {
            ngx_log_error((rc == OL_INVALID ? NGX_LOG_ERR : NGX_LOG_ALERT),
                          r->connection->log, 0,
                          "oidc_logout: oidc_logout_login: %s, no session "
                          "started",
                          err);
        }
        return;
    }

    /* a new session, or the same one under a fresh handle */
    ctx->handle.len = OL_ID_TEXT_LEN;
    ctx->handle.data = ngx_pnalloc(r->main->pool, OL_ID_TEXT_LEN);
    if (ctx->handle.data == NULL) {
        ctx->handle.len = 0;
        return;
    }
    ngx_memcpy(ctx->handle.data, res.handle, OL_ID_TEXT_LEN);
    ctx->looked_up = 0;

    (void)ngx_http_oidc_logout_set_cookie(r, sc, &ctx->handle);
}

static void
ngx_http_oidc_logout_join(ngx_http_request_t *r,
                          ngx_http_oidc_logout_session_conf_t *sc,
                          ngx_http_oidc_logout_ctx_t *ctx, ngx_str_t *client)
{
    ol_status rc;
    unsigned evicted;
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_http_oidc_logout_zone_t *zone = sc->shm_zone->data;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);

    rc = ol_session_join_client(zone->store, &zone->arena, oscf->clients,
                                (const char *)ctx->handle.data, ctx->handle.len,
                                (const char *)client->data, client->len,
                                ngx_time(), &evicted, err, sizeof(err));

    if (evicted || rc == OL_NOMEM) {
        ngx_http_oidc_logout_zone_full(r, zone, evicted, rc == OL_NOMEM);
    }

    switch (rc) {
    case OL_OK:
        ctx->looked_up = 0;
        return;
    case OL_NOMEM:
        return;
    default:
        /* no live session is an everyday event; an unknown client or a
         * full session a misconfiguration */
        ngx_log_error((rc == OL_DENIED ? NGX_LOG_INFO : NGX_LOG_WARN),
                      r->connection->log, 0,
                      "oidc_logout: oidc_logout_join: %s, not joined", err);
    }
}

static ngx_int_t
ngx_http_oidc_logout_header_filter(ngx_http_request_t *r)
{
    ngx_str_t value;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (r != r->main || lcf->session == NULL ||
        (lcf->login == NULL && lcf->join == NULL) ||
        r->headers_out.status < NGX_HTTP_OK ||
        r->headers_out.status >= NGX_HTTP_BAD_REQUEST || r->error_page) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (!ctx->reached_content) {
        /* "return", or a response that skipped the access checks */
        return ngx_http_next_header_filter(r);
    }

    if (lcf->login) {
        if (ngx_http_complex_value(r, lcf->login, &value) != NGX_OK) {
            return NGX_ERROR;
        }
        if (value.len) {
            ngx_http_oidc_logout_login(r, lcf->session, ctx, &value);
        }
    }

    if (lcf->join) {
        if (ngx_http_complex_value(r, lcf->join, &value) != NGX_OK) {
            return NGX_ERROR;
        }
        if (value.len) {
            ngx_http_oidc_logout_join(r, lcf->session, ctx, &value);
        }
    }

    /* the other nodes read it from Redis */
    ngx_http_oidc_logout_cluster_write_now(lcf->session->shm_zone->data,
                                           &ctx->handle);

    return ngx_http_next_header_filter(r);
}

/* NGX_OK with a live session, 401 without (and a log line). */
static ngx_int_t
ngx_http_oidc_logout_check_session(ngx_http_request_t *r,
                                   ngx_http_oidc_logout_loc_conf_t *lcf)
{
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_zone_t *zone;

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    zone = lcf->session->shm_zone->data;

    if (ctx->session_live ||
        ol_session_find(zone->store, &zone->arena,
                        (const char *)ctx->handle.data, ctx->handle.len,
                        ngx_time(), 1, NULL) == OL_OK) {
        return NGX_OK;
    }

    ngx_log_error(
        NGX_LOG_INFO, r->connection->log, 0, "oidc_logout: no live session: %s",
        ctx->handle.len ? "it ended or expired" : "no session cookie");

    return NGX_HTTP_UNAUTHORIZED;
}

/* Access phase: main requests (a live session satisfies "satisfy any"). */
static ngx_int_t
ngx_http_oidc_logout_access_handler(ngx_http_request_t *r)
{
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (lcf->require_session != 1 || lcf->session == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_oidc_logout_check_session(r, lcf);
}

/*
 * Precontent phase: nginx runs no access handler for subrequests, so the
 * session of an auth_request subrequest is checked here; and a main
 * request that gets here has passed its access checks (login and join).
 */
static ngx_int_t
ngx_http_oidc_logout_precontent_handler(ngx_http_request_t *r)
{
    ngx_int_t rc;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (lcf->session == NULL) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        if (lcf->require_session != 1) {
            return NGX_DECLINED;
        }
        rc = ngx_http_oidc_logout_check_session(r, lcf);
        return rc == NGX_OK ? NGX_DECLINED : rc;
    }

    if (lcf->login || lcf->join) {
        ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ctx->reached_content = 1;
    }

    return NGX_DECLINED;
}

void
ngx_http_oidc_logout_session_forget(ngx_http_oidc_logout_ctx_t *ctx)
{
    ngx_str_null(&ctx->handle);
    ctx->looked_up = 0;
}

ngx_int_t
ngx_http_oidc_logout_session_clear(ngx_http_request_t *r)
{
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_oidc_logout_session_forget(ctx);

    return ngx_http_oidc_logout_set_cookie(r, lcf->session, NULL);
}

ngx_int_t
ngx_http_oidc_logout_session_init(ngx_conf_t *cf)
{
    ngx_uint_t i;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_session_ref_t *ref;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    ref = omcf->sessions.elts;

    for (i = 0; i < omcf->sessions.nelts; i++) {
        if (ref[i].shm_zone->shm.size == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "oidc_logout: zone \"%V\" of \"oidc_logout_session\" "
                          "is not declared by \"oidc_logout_zone\" in %V:%ui",
                          &ref[i].shm_zone->shm.name, &ref[i].file,
                          ref[i].line);
            return NGX_ERROR;
        }
    }

    if (omcf->sessions.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_oidc_logout_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                         ngx_http_oidc_logout_access_handler) !=
            NGX_OK ||
        ngx_http_oidc_logout_add_handler(
            cf, NGX_HTTP_PRECONTENT_PHASE,
            ngx_http_oidc_logout_precontent_handler) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_oidc_logout_header_filter;

    return NGX_OK;
}
