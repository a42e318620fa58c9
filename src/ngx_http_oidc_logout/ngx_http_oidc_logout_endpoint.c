/*
 * ngx_http_oidc_logout_module: the logout endpoint.
 *
 * Reads a logout request's parameters (query string or form body) and
 * hands them, with the session cookie, to the core, which decides the
 * request whole.  Then performs the outcome: clears the cookie, starts the
 * back-channel deliveries, and sends the response, now or once the
 * deliveries are over (oidc_logout_backchannel_wait).
 */

#include "ngx_http_oidc_logout.h"

/* A response held until the back-channel deliveries are over. */
typedef struct {
    ngx_http_request_t *r;
    ol_response *resp;
    ngx_http_oidc_logout_batch_t *batch;
} ngx_http_oidc_logout_held_t;

static void ngx_http_oidc_logout_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_oidc_logout_respond(ngx_http_request_t *r,
                                              ngx_str_t *params);
static void ngx_http_oidc_logout_verdict(ngx_http_request_t *r, ngx_uint_t won);
static ngx_int_t ngx_http_oidc_logout_deliver(ngx_http_request_t *r,
                                              ol_response *resp,
                                              ol_deliveries *d, ngx_int_t rc);
static ngx_int_t ngx_http_oidc_logout_refuse(ngx_http_request_t *r,
                                             const char *reason);
static ngx_int_t ngx_http_oidc_logout_own_path(ngx_http_request_t *r,
                                               ngx_str_t *path);

/* ---- configuration ------------------------------------------------------ */

static void
ngx_http_oidc_logout_endpoint_cleanup(void *data)
{
    ol_endpoint_free(data);
}

char *
ngx_http_oidc_logout_endpoint_init(ngx_conf_t *cf,
                                   ngx_http_oidc_logout_loc_conf_t *olcf,
                                   ngx_http_oidc_logout_srv_conf_t *oscf)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ol_endpoint_conf conf;
    ngx_pool_cleanup_t *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&conf, sizeof(conf));
    conf.mode = (ol_mode)olcf->mode;
    conf.clients = oscf->clients;
    conf.tenant_urls = oscf->tenant_urls;
    conf.keys = oscf->keys;
    conf.issuer = (const char *)oscf->issuer.data;
    conf.issuer_len = oscf->issuer.len;
    conf.federated = oscf->federated_url != NULL;
    conf.sessions = olcf->session != NULL;
    conf.pages[0] = olcf->pages[0];
    conf.pages[1] = olcf->pages[1];
    conf.pages[2] = olcf->pages[2];
    conf.frontchannel_timeout_ms = (unsigned)olcf->frontchannel_timeout;
    conf.backchannel_retries = (unsigned)olcf->bc_retries;
    conf.backchannel_timeout_ms = olcf->bc_timeout;
    conf.provider = olcf->provider;

    if (ol_endpoint_new(&conf, &olcf->endpoint, err, sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: %s", err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_endpoint_cleanup;
    cln->data = olcf->endpoint;

    return NGX_CONF_OK;
}

/* ---- the request -------------------------------------------------------- */

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
    ngx_int_t rc;
    ngx_str_t params;

    rc = ngx_http_oidc_logout_form_body(r, &params);
    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(
            r, ngx_http_oidc_logout_refuse(
                   r, "request body larger than client_body_buffer_size"));
        return;
    }

    ngx_http_finalize_request(r, rc == NGX_OK
                                     ? ngx_http_oidc_logout_respond(r, &params)
                                     : NGX_HTTP_INTERNAL_SERVER_ERROR);
}

/* oidc_logout_federated_url, with $oidc_logout_return_to set to back. */
static ol_status
ngx_http_oidc_logout_federated_url(void *data, const char *back, size_t len,
                                   const char **url, size_t *url_len)
{
    ngx_str_t value;
    ngx_http_request_t *r = data;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    ctx = ngx_http_oidc_logout_get_ctx(r, olcf->session);
    if (ctx == NULL) {
        return OL_NOMEM;
    }

    /* the core calls this once the session has ended: $oidc_logout_sid and
     * $oidc_logout_sub are empty, even if an earlier phase looked it up */
    ngx_http_oidc_logout_session_forget(ctx);

    if (ngx_http_oidc_logout_copy(r, &ctx->return_to, back, len) != NGX_OK ||
        ngx_http_complex_value(r, oscf->federated_url, &value) != NGX_OK) {
        return OL_NOMEM;
    }

    *url = (const char *)value.data;
    *url_len = value.len;
    return OL_OK;
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

/* The deliveries are over, or the wait is: the held response goes out. */
static void
ngx_http_oidc_logout_release(void *data)
{
    ngx_connection_t *c;
    ngx_http_oidc_logout_held_t *held = data;
    ngx_http_request_t *r = held->r;
    ol_response *resp = held->resp;

    held->resp = NULL;
    held->batch = NULL;

    /* the handler's NGX_DONE already took back the reference it held; an
     * error may leave the request posted, to be finalized now */
    c = r->connection;
    ngx_http_finalize_request(r, ngx_http_oidc_logout_output(r, resp));
    ngx_http_run_posted_requests(c);
}

/* nginx frees the waiting request first (a timeout, a shutdown): the
 * deliveries go on without it. */
static void
ngx_http_oidc_logout_waiting_cleanup(void *data)
{
    ngx_http_oidc_logout_held_t *held = data;

    if (held->batch != NULL) {
        ngx_http_oidc_logout_bc_forget(held->batch);
    }
    ol_response_free(held->resp);
    held->resp = NULL;
}

/* Starts the deliveries d of resp: NGX_DONE when resp waits for them
 * (oidc_logout_backchannel_wait), and then belongs to them. */
static ngx_int_t
ngx_http_oidc_logout_notify(ngx_http_request_t *r, ol_response *resp,
                            ol_deliveries *d)
{
    ngx_http_cleanup_t *cln;
    ngx_http_oidc_logout_held_t *held;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    cln = NULL;
    if (olcf->bc_wait && resp != NULL) {
        cln = ngx_http_cleanup_add(r, sizeof(ngx_http_oidc_logout_held_t));
    }

    if (cln == NULL) {
        /* no wait, or none possible: the response goes out now */
        return ngx_http_oidc_logout_bc_start(r, d, 0, NULL, NULL) ? NGX_OK
                                                                  : NGX_ERROR;
    }

    held = cln->data;
    held->r = r;
    held->resp = NULL;
    held->batch = ngx_http_oidc_logout_bc_start(
        r, d, olcf->bc_wait, ngx_http_oidc_logout_release, held);
    if (held->batch == NULL) {
        return NGX_ERROR;
    }
    held->resp = resp;
    cln->handler = ngx_http_oidc_logout_waiting_cleanup;
    r->main->count++;

    return NGX_DONE;
}

/* The request's Cookie lines joined with "; ": measured first (data NULL),
 * then copied. */
static ngx_int_t
ngx_http_oidc_logout_join_cookie(ngx_http_request_t *r, ngx_table_elt_t *h,
                                 void *data)
{
    ngx_str_t *joined = data;

    if (joined->data == NULL) {
        joined->len += h->value.len + 2;
        return NGX_OK;
    }
    if (joined->len) {
        joined->data[joined->len++] = ';';
        joined->data[joined->len++] = ' ';
    }
    ngx_memcpy(joined->data + joined->len, h->value.data, h->value.len);
    joined->len += h->value.len;
    return NGX_OK;
}

static ngx_int_t
ngx_http_oidc_logout_respond(ngx_http_request_t *r, ngx_str_t *params)
{
    ngx_int_t rc, nrc;
    ngx_str_t action, cookie;
    ol_response *resp;
    ol_deliveries *d;
    ol_logout_request req;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    ctx = ngx_http_oidc_logout_get_ctx(r, olcf->session);
    if (ctx == NULL || ngx_http_oidc_logout_own_path(r, &action) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&req, sizeof(req));
    req.params = (const char *)params->data;
    req.params_len = params->len;
    req.post = (r->method & NGX_HTTP_POST) ? 1 : 0;
    req.action = (const char *)action.data;
    req.action_len = action.len;
    if (olcf->session != NULL) {
        zone = olcf->session->shm_zone->data;
        req.store = zone->store;
        req.arena = &zone->arena;
        req.handle = (const char *)ctx->handle.data;
        req.handle_len = ctx->handle.len;
        req.unverified = zone->redis != NULL && !ctx->cluster_asked;
    }
    if (olcf->provider != NULL) {
        /* its session cookies end with the logout */
        ngx_str_null(&cookie);
        (void)ngx_http_oidc_logout_header_lines(
            r, &r->headers_in.headers, "Cookie",
            ngx_http_oidc_logout_join_cookie, &cookie);
        if (cookie.len) {
            cookie.data = ngx_pnalloc(r->pool, cookie.len);
            if (cookie.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            cookie.len = 0;
            (void)ngx_http_oidc_logout_header_lines(
                r, &r->headers_in.headers, "Cookie",
                ngx_http_oidc_logout_join_cookie, &cookie);
        }
        req.cookie = (const char *)cookie.data;
        req.cookie_len = cookie.len;
    }
    req.now = ngx_time();
    req.keys = ngx_http_oidc_logout_keys_current(r);
    if (oscf->federated_url != NULL) {
        req.federated_url = ngx_http_oidc_logout_federated_url;
        req.data = r;
    }

    if (ol_logout_decide(olcf->endpoint, &req, &resp, err, sizeof(err)) !=
        OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "oidc_logout: could not decide the logout response: %s",
                      err);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ol_response_unknown_kid(resp)) {
        /* the provider may have rotated its keys */
        ngx_http_oidc_logout_keys_unknown_kid(r);
    }

    /* the order of DESIGN §6, as decided: the session has ended, its
     * cookie goes, its clients are notified, then the browser moves on */
    rc = NGX_OK;
    if (ol_response_clears_cookie(resp)) {
        rc = ngx_http_oidc_logout_session_clear(r);
    }

    d = ol_response_take_deliveries(resp);
    if (olcf->session != NULL) {
        /* cluster mode: the node whose end Redis took first tells them */
        zone = olcf->session->shm_zone->data;
        ctx->decided = resp;
        ctx->deliveries = d;
        ctx->decided_rc = rc;
        nrc = ngx_http_oidc_logout_cluster_verdict(
            r, zone, d != NULL ? ol_deliveries_sid(d) : NULL,
            ngx_http_oidc_logout_verdict);
        if (nrc == NGX_DONE) {
            return NGX_DONE;
        }
    }

    return ngx_http_oidc_logout_deliver(r, resp, d, rc);
}

/* Redis said which node tells the clients: this one (won), or another. */
static void
ngx_http_oidc_logout_verdict(ngx_http_request_t *r, ngx_uint_t won)
{
    ol_deliveries *d;
    ngx_http_oidc_logout_ctx_t *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_oidc_logout_module);
    d = ctx->deliveries;
    ctx->deliveries = NULL;
    if (!won) {
        ol_deliveries_free(d);
        d = NULL;
    }
    ngx_http_finalize_request(
        r, ngx_http_oidc_logout_deliver(r, ctx->decided, d, ctx->decided_rc));
}

/* The deliveries d start, and resp goes out (or waits for them). */
static ngx_int_t
ngx_http_oidc_logout_deliver(ngx_http_request_t *r, ol_response *resp,
                             ol_deliveries *d, ngx_int_t rc)
{
    ngx_int_t nrc;

    if (d != NULL) {
        /* its clients hear of it whatever happens to the response */
        nrc = ngx_http_oidc_logout_notify(
            r, rc == NGX_OK && ol_response_status(resp) < 500 ? resp : NULL, d);
        if (nrc == NGX_DONE) {
            return NGX_DONE;
        }
        if (rc == NGX_OK) {
            rc = nrc;
        }
    }

    if (rc != NGX_OK) {
        ol_response_free(resp);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_output(r, resp);
}

static ngx_int_t
ngx_http_oidc_logout_refuse(ngx_http_request_t *r, const char *reason)
{
    ol_response *resp;

    if (ol_logout_refuse(reason, ngx_strlen(reason), &resp) != OL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_output(r, resp);
}
