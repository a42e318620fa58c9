/*
 * ngx_http_oidc_logout_module: back-channel logout deliveries.
 *
 * When a logout ends a session, each of its clients with a
 * backchannel_logout_uri gets a signed logout token, POSTed through the
 * worker's own event loop: all clients at once, each attempt bounded by
 * oidc_logout_backchannel_timeout, connection errors, timeouts and 5xx
 * retried with growing delays.  The tokens are signed in nginx's thread
 * pool, so that RSA signatures never hold up the other requests of the
 * worker.  A delivery lives in its own pool, apart from the request that
 * started it: the user's redirect does not wait for it, unless
 * oidc_logout_backchannel_wait says so.
 */

#include "ngx_http_oidc_logout.h"

/* Longest status line read from a client, in bytes. */
#define NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE 1024

typedef struct ngx_http_oidc_logout_batch_s ngx_http_oidc_logout_batch_t;

/* One client's delivery. */
typedef struct {
    ngx_http_oidc_logout_batch_t *batch;
    ngx_http_oidc_logout_bc_target_t *target;
    ngx_str_t request; /* the whole HTTP request */
    ngx_uint_t attempt;
    size_t sent;
    ngx_peer_connection_t peer;
    ngx_event_t deadline; /* the attempt's timeout */
    ngx_event_t retry;    /* the delay before the next attempt */
    u_char *in;           /* the response so far */
    size_t in_len;
    unsigned connected : 1;
    unsigned done : 1;
} ngx_http_oidc_logout_delivery_t;

/* The deliveries of one ended session. */
struct ngx_http_oidc_logout_batch_s {
    ngx_pool_t *pool;
    ngx_log_t log;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_zone_t *zone; /* counts the outcomes */
    ngx_msec_t timeout;
    ngx_uint_t retries;
    ol_session_info ended;
    time_t ended_at;
    ol_deliveries *tokens; /* signed in a thread */
    char sign_error[256];  /* why they could not be */
    ngx_event_t signed_ev; /* posted when signed in the event loop */
    ngx_uint_t pending;
    ngx_http_oidc_logout_delivery_t *deliveries;
    ngx_uint_t ndeliveries;
    /* the request whose response waits (oidc_logout_backchannel_wait),
     * and its cleanup, which forgets it if nginx frees it first */
    ngx_http_request_t *waiting;
    ol_response *response;
    ngx_event_t wait;
    ngx_http_cleanup_t *waiting_cleanup;
};

static void ngx_http_oidc_logout_bc_signed(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_attempt(ngx_http_oidc_logout_delivery_t *d);
static void ngx_http_oidc_logout_bc_write(ngx_event_t *wev);
static void ngx_http_oidc_logout_bc_read(ngx_event_t *rev);
static void ngx_http_oidc_logout_bc_timeout(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_retry(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_wait_over(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_outcome(ngx_http_oidc_logout_delivery_t *d,
                                            const char *failure,
                                            ol_attempt attempt_end,
                                            ngx_uint_t status);
static void ngx_http_oidc_logout_bc_release(ngx_http_oidc_logout_batch_t *b);
static void ngx_http_oidc_logout_bc_forget(void *data);
static void ngx_http_oidc_logout_bc_idle(ngx_event_t *ev);

/* ---- configuration ------------------------------------------------------ */

/*
 * Resolves the backchannel_logout_uri of every client of the registry now,
 * as proxy_pass does with a literal host: a host that does not resolve
 * fails nginx -t.
 */
char *
ngx_http_oidc_logout_bc_targets(ngx_conf_t *cf,
                                ngx_http_oidc_logout_srv_conf_t *oscf)
{
    size_t i, skip;
    u_char *p;
    const char *id, *uri;
    ngx_url_t *u;
    ngx_http_oidc_logout_bc_target_t *t;

    /* a client's position in the registry gives its target */
    oscf->bc_nclients = ol_clients_count(oscf->clients);
    oscf->bc_slots =
        ngx_pcalloc(cf->pool, (oscf->bc_nclients + 1) * sizeof(ngx_uint_t));
    if (oscf->bc_slots == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; ol_clients_at(oscf->clients, i, &id, &uri); i++) {
        if (uri[0] == '\0') {
            continue;
        }

        if (oscf->bc_targets == NULL) {
            oscf->bc_targets = ngx_array_create(
                cf->pool, 4, sizeof(ngx_http_oidc_logout_bc_target_t));
            if (oscf->bc_targets == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        t = ngx_array_push(oscf->bc_targets);
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }
        ngx_memzero(t, sizeof(*t));
        oscf->bc_slots[i] = oscf->bc_targets->nelts;

        t->client_id.len = ngx_strlen(id);
        t->client_id.data = (u_char *)id;
        /* the registry checked the URI; its scheme may be in capitals */
        t->https = ngx_strncasecmp((u_char *)uri, (u_char *)"https://", 8) == 0;
        skip = t->https ? 8 : 7;

        u = &t->url;
        u->url.data = (u_char *)uri + skip;
        u->url.len = ngx_strlen(uri) - skip;
        u->default_port = t->https ? 443 : 80;
        u->uri_part = 1;

        if (ngx_parse_url(cf->pool, u) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: client \"%s\": "
                               "backchannel_logout_uri \"%s\": %s",
                               id, uri, u->err ? u->err : "invalid URL");
            return NGX_CONF_ERROR;
        }

        if (u->uri.len == 0) {
            ngx_str_set(&u->uri, "/");

        } else if (u->uri.data[0] == '?') {
            /* "http://host?query": the request line needs a path */
            p = ngx_pnalloc(cf->pool, u->uri.len + 1);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }
            p[0] = '/';
            ngx_memcpy(p + 1, u->uri.data, u->uri.len);
            u->uri.data = p;
            u->uri.len++;
        }

#if !(NGX_HTTP_SSL)
        if (t->https) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: client \"%s\": "
                               "backchannel_logout_uri \"%s\" needs nginx "
                               "built with SSL",
                               id, uri);
            return NGX_CONF_ERROR;
        }
#endif
        t->literal = u->host.len &&
                     (u->host.data[0] == '[' ||
                      ngx_inet_addr(u->host.data, u->host.len) != INADDR_NONE);
        oscf->bc_https |= t->https;
    }

    return NGX_CONF_OK;
}

#if (NGX_HTTP_SSL)

static int
ngx_http_oidc_logout_bc_verify_later(int ok, X509_STORE_CTX *store)
{
    /* the result is read after the handshake, and logged with the client */
    return 1;
}

/* The TLS client context of a server's deliveries. */
char *
ngx_http_oidc_logout_bc_ssl(ngx_conf_t *cf,
                            ngx_http_oidc_logout_srv_conf_t *oscf)
{
    ngx_pool_cleanup_t *cln;

    oscf->bc_ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (oscf->bc_ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    oscf->bc_ssl->log = cf->log;

    if (ngx_ssl_create(oscf->bc_ssl, NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3, NULL) !=
        NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(oscf->bc_ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = oscf->bc_ssl;

    if (!oscf->bc_verify) {
        return NGX_CONF_OK;
    }

    if (oscf->bc_trusted.len) {
        if (ngx_ssl_trusted_certificate(cf, oscf->bc_ssl, &oscf->bc_trusted,
                                        4) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

    } else if (SSL_CTX_set_default_verify_paths(oscf->bc_ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "oidc_logout: SSL_CTX_set_default_verify_paths() "
                      "failed");
        return NGX_CONF_ERROR;
    }

    SSL_CTX_set_verify(oscf->bc_ssl->ctx, SSL_VERIFY_PEER,
                       ngx_http_oidc_logout_bc_verify_later);

    return NGX_CONF_OK;
}

#endif

/* ---- starting a batch --------------------------------------------------- */

static void
ngx_http_oidc_logout_bc_sign(ngx_http_oidc_logout_batch_t *b)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = b->oscf;

    if (ol_backchannel_deliveries(
            oscf->keys, oscf->clients, (const char *)oscf->issuer.data,
            oscf->issuer.len, &b->ended, (int64_t)b->ended_at, &b->tokens,
            b->sign_error, sizeof(b->sign_error)) != OL_OK) {
        b->tokens = NULL;
    }
}

#if (NGX_THREADS)

/* In a thread of the pool: reads only the configuration and the batch. */
static void
ngx_http_oidc_logout_bc_sign_task(void *data, ngx_log_t *log)
{
    ngx_http_oidc_logout_batch_t **b = data;

    ngx_http_oidc_logout_bc_sign(*b);
}

#endif

ngx_int_t
ngx_http_oidc_logout_backchannel(ngx_http_request_t *r,
                                 const ol_session_info *ended,
                                 ol_response *resp)
{
    ngx_pool_t *pool;
    ngx_http_oidc_logout_batch_t *b;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;
#if (NGX_THREADS)
    ngx_thread_task_t *task;
#endif

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);

    if (oscf->bc_targets == NULL || ended->client_count == 0) {
        return NGX_DECLINED;
    }

    /* the batch outlives the request: its own pool, and the location's
     * error log, which lives as long as the configuration */
    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    b = ngx_pcalloc(pool, sizeof(ngx_http_oidc_logout_batch_t));
    if (b == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    b->pool = pool;
    b->log = *clcf->error_log;
    b->log.connection = 0;
    b->log.handler = NULL;
    b->log.data = NULL;
    pool->log = &b->log;
    b->oscf = oscf;
    b->zone = olcf->session->shm_zone->data;
    b->timeout = olcf->bc_timeout;
    b->retries = olcf->bc_retries;
    b->ended = *ended;
    b->ended_at = ngx_time();

    if (olcf->bc_wait && resp != NULL) {
        /* the response goes out once the deliveries are over, or after
         * oidc_logout_backchannel_wait */
        b->waiting_cleanup = ngx_http_cleanup_add(r, 0);
        if (b->waiting_cleanup == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }
        b->waiting_cleanup->handler = ngx_http_oidc_logout_bc_forget;
        b->waiting_cleanup->data = b;
        b->waiting = r;
        b->response = resp;
        b->wait.handler = ngx_http_oidc_logout_bc_wait_over;
        b->wait.data = b;
        b->wait.log = &b->log;
        ngx_add_timer(&b->wait, olcf->bc_wait);
        r->main->count++;
    }

#if (NGX_THREADS)
    task = ngx_thread_task_alloc(pool, sizeof(ngx_http_oidc_logout_batch_t *));
    if (task != NULL) {
        *(ngx_http_oidc_logout_batch_t **)task->ctx = b;
        task->handler = ngx_http_oidc_logout_bc_sign_task;
        task->event.handler = ngx_http_oidc_logout_bc_signed;
        task->event.data = b;

        if (ngx_thread_task_post(oscf->bc_thread_pool, task) == NGX_OK) {
            return b->waiting ? NGX_DONE : NGX_OK;
        }
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "oidc_logout: backchannel: the thread pool is busy, "
                  "signing in the event loop");
#endif

    ngx_http_oidc_logout_bc_sign(b);

    /* the deliveries start once this request's handler has returned */
    b->signed_ev.handler = ngx_http_oidc_logout_bc_signed;
    b->signed_ev.data = b;
    b->signed_ev.log = &b->log;
    ngx_post_event(&b->signed_ev, &ngx_posted_events);

    return b->waiting ? NGX_DONE : NGX_OK;
}

/* ---- the deliveries ----------------------------------------------------- */

/* POST uri HTTP/1.1 with the token in a form body. */
static ngx_int_t
ngx_http_oidc_logout_bc_request(ngx_http_oidc_logout_delivery_t *d,
                                const char *body, size_t body_len)
{
    u_char *p;
    size_t len;
    ngx_http_oidc_logout_bc_target_t *t = d->target;

    len = sizeof("POST  HTTP/1.1\r\nHost: :65535\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: 18446744073709551615\r\n"
                 "Connection: close\r\n"
                 "User-Agent: ngx_oidc_logout\r\n\r\n") +
          t->url.uri.len + t->url.host.len + body_len;

    d->request.data = ngx_pnalloc(d->batch->pool, len);
    if (d->request.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(d->request.data, "POST %V HTTP/1.1\r\nHost: %V",
                    &t->url.uri, &t->url.host);
    if (t->url.port != t->url.default_port) {
        p = ngx_sprintf(p, ":%d", (int)t->url.port);
    }
    p = ngx_sprintf(p,
                    "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: %uz\r\n"
                    "Connection: close\r\n"
                    "User-Agent: ngx_oidc_logout\r\n\r\n",
                    body_len);
    p = ngx_cpymem(p, body, body_len);
    d->request.len = p - d->request.data;

    return NGX_OK;
}

/* The tokens are signed (or could not be): the deliveries start. */
static void
ngx_http_oidc_logout_bc_signed(ngx_event_t *ev)
{
    size_t i, n, body_len, index;
    ngx_uint_t slot;
    const char *id, *body;
    ngx_http_oidc_logout_batch_t *b = ev->data;
    ngx_http_oidc_logout_delivery_t *d;
    ngx_http_oidc_logout_bc_target_t *targets = b->oscf->bc_targets->elts;

    if (b->tokens == NULL) {
        ngx_log_error(NGX_LOG_ALERT, &b->log, 0,
                      "oidc_logout: backchannel: could not sign the logout "
                      "tokens of session %s: %s",
                      b->ended.sid, b->sign_error);
        ngx_http_oidc_logout_bc_release(b);
        return;
    }

    n = ol_deliveries_count(b->tokens);
    b->deliveries = ngx_pcalloc(
        b->pool, (n ? n : 1) * sizeof(ngx_http_oidc_logout_delivery_t));
    if (b->deliveries == NULL) {
        ngx_http_oidc_logout_bc_release(b);
        return;
    }

    for (i = 0; i < n; i++) {
        ol_delivery_get(b->tokens, i, &id, &index, &body, &body_len);

        /* the registry and its targets come from the same file */
        slot = index < b->oscf->bc_nclients ? b->oscf->bc_slots[index] : 0;
        if (slot == 0) {
            continue;
        }

        d = &b->deliveries[b->ndeliveries];
        d->batch = b;
        d->target = &targets[slot - 1];

        if (ngx_http_oidc_logout_bc_request(d, body, body_len) != NGX_OK) {
            ngx_http_oidc_logout_bc_release(b);
            return;
        }

        d->deadline.handler = ngx_http_oidc_logout_bc_timeout;
        d->deadline.data = d;
        d->deadline.log = &b->log;
        d->retry.handler = ngx_http_oidc_logout_bc_retry;
        d->retry.data = d;
        d->retry.log = &b->log;

        b->ndeliveries++;
        b->pending++;
    }

    ol_deliveries_free(b->tokens);
    b->tokens = NULL;

    if (b->pending == 0) {
        ngx_http_oidc_logout_bc_release(b);
        return;
    }

    /* all clients at once */
    n = b->ndeliveries;
    for (i = 0; i < n; i++) {
        ngx_http_oidc_logout_bc_attempt(&b->deliveries[i]);
    }
}

static void
ngx_http_oidc_logout_bc_close(ngx_http_oidc_logout_delivery_t *d)
{
    ngx_pool_t *pool;
    ngx_connection_t *c = d->peer.connection;

    if (d->deadline.timer_set) {
        ngx_del_timer(&d->deadline);
    }

    if (c == NULL) {
        return;
    }

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void)ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;
    ngx_close_connection(c);
    d->peer.connection = NULL;

    if (pool) {
        ngx_destroy_pool(pool);
    }
}

static void
ngx_http_oidc_logout_bc_attempt(ngx_http_oidc_logout_delivery_t *d)
{
    ngx_int_t rc;
    ngx_addr_t *addr;
    ngx_connection_t *c;
    ngx_http_oidc_logout_bc_target_t *t = d->target;

    d->attempt++;
    d->sent = 0;
    d->in_len = 0;
    d->connected = 0;

    /* a retry goes to the host's next address, if it has several */
    addr = &t->url.addrs[(d->attempt - 1) % t->url.naddrs];

    ngx_memzero(&d->peer, sizeof(ngx_peer_connection_t));
    d->peer.sockaddr = addr->sockaddr;
    d->peer.socklen = addr->socklen;
    d->peer.name = &addr->name;
    d->peer.get = ngx_event_get_peer;
    d->peer.log = &d->batch->log;
    /* the outcome line says what happened; nginx's own lines stay quiet */
    d->peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&d->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_oidc_logout_bc_outcome(d, "connect-failed", OL_ATTEMPT_FAILED,
                                        0);
        return;
    }

    c = d->peer.connection;
    c->data = d;
    c->read->handler = ngx_http_oidc_logout_bc_read;
    c->write->handler = ngx_http_oidc_logout_bc_write;

    c->pool = ngx_create_pool(1024, &d->batch->log);
    if (c->pool == NULL) {
        ngx_http_oidc_logout_bc_outcome(d, "no-memory", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    ngx_add_timer(&d->deadline, d->batch->timeout);

    if (rc == NGX_OK) {
        ngx_http_oidc_logout_bc_write(c->write);
    }
    /* NGX_AGAIN: the write event says when the connection is up */
}

#if (NGX_HTTP_SSL)

/* The certificate names the URI's host: a DNS name, or an IP address for
 * a literal host (which X509_check_host never matches). */
static ngx_int_t
ngx_http_oidc_logout_bc_check_name(ngx_http_oidc_logout_delivery_t *d)
{
    int ok;
    X509 *cert;
    ngx_str_t *host = &d->target->url.host;
    u_char ip[NGX_SOCKADDR_STRLEN + 1];

    if (!d->target->literal) {
        return ngx_ssl_check_host(d->peer.connection, host);
    }

    if (host->len >= sizeof(ip)) {
        return NGX_ERROR;
    }
    /* "[::1]" is checked as "::1" */
    if (host->data[0] == '[') {
        ngx_cpystrn(ip, host->data + 1, host->len - 1);
    } else {
        ngx_cpystrn(ip, host->data, host->len + 1);
    }

    cert = SSL_get_peer_certificate(d->peer.connection->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }
    ok = X509_check_ip_asc(cert, (const char *)ip, 0);
    X509_free(cert);

    return ok == 1 ? NGX_OK : NGX_ERROR;
}

static void
ngx_http_oidc_logout_bc_handshaked(ngx_connection_t *c)
{
    long rc;
    ngx_http_oidc_logout_delivery_t *d = c->data;
    ngx_http_oidc_logout_srv_conf_t *oscf = d->batch->oscf;

    if (!c->ssl->handshaked) {
        ngx_http_oidc_logout_bc_outcome(d, "tls-failed", OL_ATTEMPT_FAILED, 0);
        return;
    }

    if (oscf->bc_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);
        if (rc != X509_V_OK) {
            ngx_log_error(NGX_LOG_ERR, &d->batch->log, 0,
                          "oidc_logout: backchannel client=%V: certificate "
                          "of \"%V\": (%l:%s)",
                          &d->target->client_id, &d->target->url.host, rc,
                          X509_verify_cert_error_string(rc));
            ngx_http_oidc_logout_bc_outcome(d, "certificate-refused",
                                            OL_ATTEMPT_ABORTED, 0);
            return;
        }

        if (ngx_http_oidc_logout_bc_check_name(d) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, &d->batch->log, 0,
                          "oidc_logout: backchannel client=%V: the "
                          "certificate does not name \"%V\"",
                          &d->target->client_id, &d->target->url.host);
            ngx_http_oidc_logout_bc_outcome(d, "certificate-refused",
                                            OL_ATTEMPT_ABORTED, 0);
            return;
        }
    }

    c->read->handler = ngx_http_oidc_logout_bc_read;
    c->write->handler = ngx_http_oidc_logout_bc_write;

    ngx_http_oidc_logout_bc_write(c->write);
}

static ngx_int_t
ngx_http_oidc_logout_bc_tls(ngx_http_oidc_logout_delivery_t *d)
{
    ngx_int_t rc;
    ngx_connection_t *c = d->peer.connection;
    ngx_http_oidc_logout_srv_conf_t *oscf = d->batch->oscf;
    ngx_str_t *host = &d->target->url.host;
    u_char *name;

    if (ngx_ssl_create_connection(oscf->bc_ssl, c,
                                  NGX_SSL_BUFFER | NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    /* SNI names hosts, not addresses */
    if (oscf->bc_server_name && !d->target->literal) {
        name = ngx_pnalloc(c->pool, host->len + 1);
        if (name == NULL) {
            return NGX_ERROR;
        }
        ngx_cpystrn(name, host->data, host->len + 1);
        if (SSL_set_tlsext_host_name(c->ssl->connection, (char *)name) != 1) {
            return NGX_ERROR;
        }
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_oidc_logout_bc_handshaked;
        return NGX_AGAIN;
    }

    ngx_http_oidc_logout_bc_handshaked(c);
    return NGX_AGAIN;
}

#endif

/* Whether the connection came up (on its first event, read or write). */
static ngx_int_t
ngx_http_oidc_logout_bc_connected(ngx_http_oidc_logout_delivery_t *d)
{
    int err;
    socklen_t len;
    ngx_connection_t *c = d->peer.connection;

    err = 0;
    len = sizeof(int);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *)&err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_INFO, &d->batch->log, err,
                      "oidc_logout: backchannel client=%V: connect() to %V "
                      "failed",
                      &d->target->client_id, d->peer.name);
        ngx_http_oidc_logout_bc_outcome(d, "connect-failed", OL_ATTEMPT_FAILED,
                                        0);
        return NGX_ERROR;
    }

    d->connected = 1;
    return NGX_OK;
}

static void
ngx_http_oidc_logout_bc_idle(ngx_event_t *ev)
{
    /* the request is sent: nothing more to write */
}

static void
ngx_http_oidc_logout_bc_write(ngx_event_t *wev)
{
    ssize_t n;
    ngx_connection_t *c = wev->data;
    ngx_http_oidc_logout_delivery_t *d = c->data;

    if (c->close) {
        /* worker_shutdown_timeout */
        ngx_http_oidc_logout_bc_outcome(d, "shutdown", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    if (!d->connected) {
        if (ngx_http_oidc_logout_bc_connected(d) != NGX_OK) {
            return;
        }

#if (NGX_HTTP_SSL)
        if (d->target->https && c->ssl == NULL) {
            if (ngx_http_oidc_logout_bc_tls(d) == NGX_ERROR) {
                ngx_http_oidc_logout_bc_outcome(d, "tls-failed",
                                                OL_ATTEMPT_FAILED, 0);
            }
            return;
        }
#endif
    }

    while (d->sent < d->request.len) {
        n = c->send(c, d->request.data + d->sent, d->request.len - d->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_oidc_logout_bc_outcome(d, "send-failed",
                                                OL_ATTEMPT_FAILED, 0);
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_oidc_logout_bc_outcome(d, "send-failed", OL_ATTEMPT_FAILED,
                                            0);
            return;
        }

        d->sent += n;
    }

    c->write->handler = ngx_http_oidc_logout_bc_idle;

    if (c->read->ready) {
        ngx_http_oidc_logout_bc_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_oidc_logout_bc_outcome(d, "read-failed", OL_ATTEMPT_FAILED, 0);
    }
}

/* The status of "HTTP/1.x NNN ...", or -1 while the line is incomplete,
 * or 0 when it is not a status line. */
static ngx_int_t
ngx_http_oidc_logout_bc_status(u_char *p, size_t len)
{
    if (ngx_strlchr(p, p + len, '\n') == NULL) {
        return len < NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE ? -1 : 0;
    }

    if (len < 13 || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
        p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
        p[11] > '9' || (p[12] != ' ' && p[12] != '\r' && p[12] != '\n')) {
        return 0;
    }

    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

static void
ngx_http_oidc_logout_bc_read(ngx_event_t *rev)
{
    ssize_t n;
    ngx_int_t status;
    ngx_connection_t *c = rev->data;
    ngx_http_oidc_logout_delivery_t *d = c->data;

    if (c->close) {
        ngx_http_oidc_logout_bc_outcome(d, "shutdown", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    if (!d->connected) {
        /* a failed connect() may show on the read event first */
        if (ngx_http_oidc_logout_bc_connected(d) == NGX_OK) {
            ngx_http_oidc_logout_bc_write(c->write);
        }
        return;
    }

    if (d->in == NULL) {
        d->in = ngx_pnalloc(d->batch->pool, NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE);
        if (d->in == NULL) {
            ngx_http_oidc_logout_bc_outcome(d, "no-memory", OL_ATTEMPT_ABORTED,
                                            0);
            return;
        }
    }

    for (;;) {
        n = c->recv(c, d->in + d->in_len,
                    NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE - d->in_len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_oidc_logout_bc_outcome(d, "read-failed",
                                                OL_ATTEMPT_FAILED, 0);
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_oidc_logout_bc_outcome(d, "no-response", OL_ATTEMPT_FAILED,
                                            0);
            return;
        }

        d->in_len += n;
        status = ngx_http_oidc_logout_bc_status(d->in, d->in_len);
        if (status != -1) {
            break;
        }
    }

    if (status == 0) {
        ngx_http_oidc_logout_bc_outcome(d, "bad-response", OL_ATTEMPT_FAILED,
                                        0);
        return;
    }

    ngx_http_oidc_logout_bc_outcome(d, NULL, OL_ATTEMPT_ANSWERED,
                                    (ngx_uint_t)status);
}

static void
ngx_http_oidc_logout_bc_timeout(ngx_event_t *ev)
{
    ngx_http_oidc_logout_delivery_t *d = ev->data;

    ngx_http_oidc_logout_bc_outcome(d, "timeout", OL_ATTEMPT_FAILED, 0);
}

static void
ngx_http_oidc_logout_bc_retry(ngx_event_t *ev)
{
    ngx_http_oidc_logout_bc_attempt(ev->data);
}

/*
 * Ends an attempt: closes its connection, then one log line; the core's
 * delivery policy says whether it delivered, is tried again after a delay,
 * or is given up.  failure names how an attempt without an answer ended.
 */
static void
ngx_http_oidc_logout_bc_outcome(ngx_http_oidc_logout_delivery_t *d,
                                const char *failure, ol_attempt attempt_end,
                                ngx_uint_t status)
{
    uint64_t delay;
    u_char text[NGX_INT_T_LEN + 1];
    ol_delivery_outcome outcome;
    ngx_http_oidc_logout_batch_t *b = d->batch;

    ngx_http_oidc_logout_bc_close(d);

    if (failure == NULL) {
        ngx_sprintf(text, "%03ui%Z", status);
        failure = (const char *)text;
    }

    /* an exiting worker tries nothing again */
    outcome = ol_delivery_judge(
        attempt_end, (unsigned)status, (unsigned)d->attempt,
        ngx_exiting || ngx_terminate ? 0 : (unsigned)b->retries, &delay);
    ol_store_count_delivery(b->zone->store, &b->zone->arena, outcome);

    switch (outcome) {
    case OL_DELIVERY_DELIVERED:
        ngx_log_error(NGX_LOG_INFO, &b->log, 0,
                      "oidc_logout: backchannel client=%V status=%s "
                      "attempt=%ui",
                      &d->target->client_id, failure, d->attempt);
        break;

    case OL_DELIVERY_RETRIED:
        ngx_log_error(NGX_LOG_WARN, &b->log, 0,
                      "oidc_logout: backchannel client=%V status=%s "
                      "attempt=%ui, retry in %Mms",
                      &d->target->client_id, failure, d->attempt,
                      (ngx_msec_t)delay);
        ngx_add_timer(&d->retry, (ngx_msec_t)delay);
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, &b->log, 0,
                      "oidc_logout: backchannel client=%V status=%s "
                      "attempt=%ui, given up",
                      &d->target->client_id, failure, d->attempt);
    }

    d->done = 1;

    if (--b->pending == 0) {
        ngx_http_oidc_logout_bc_release(b);
    }
}

/* ---- the waiting response ----------------------------------------------- */

static void
ngx_http_oidc_logout_bc_respond(ngx_http_oidc_logout_batch_t *b)
{
    ngx_connection_t *c;
    ngx_http_request_t *r = b->waiting;
    ol_response *resp = b->response;

    b->waiting = NULL;
    b->response = NULL;
    b->waiting_cleanup->handler = NULL;

    if (b->wait.timer_set) {
        ngx_del_timer(&b->wait);
    }

    /* the handler's NGX_DONE already took back the reference it held; an
     * error may leave the request posted, to be finalized now */
    c = r->connection;
    ngx_http_finalize_request(r, ngx_http_oidc_logout_output(r, resp));
    ngx_http_run_posted_requests(c);
}

/* nginx frees the waiting request first (a timeout, a shutdown): the
 * deliveries go on without it. */
static void
ngx_http_oidc_logout_bc_forget(void *data)
{
    ngx_http_oidc_logout_batch_t *b = data;

    if (b->wait.timer_set) {
        ngx_del_timer(&b->wait);
    }

    ol_response_free(b->response);
    b->response = NULL;
    b->waiting = NULL;
}

static void
ngx_http_oidc_logout_bc_wait_over(ngx_event_t *ev)
{
    ngx_http_oidc_logout_batch_t *b = ev->data;

    ngx_log_error(NGX_LOG_INFO, &b->log, 0,
                  "oidc_logout: backchannel: the response goes out before "
                  "the deliveries are over (oidc_logout_backchannel_wait)");
    ngx_http_oidc_logout_bc_respond(b);
}

/* Every delivery is over (or none could start). */
static void
ngx_http_oidc_logout_bc_release(ngx_http_oidc_logout_batch_t *b)
{
    ngx_uint_t i;

    for (i = 0; i < b->ndeliveries; i++) {
        ngx_http_oidc_logout_bc_close(&b->deliveries[i]);
        if (b->deliveries[i].retry.timer_set) {
            ngx_del_timer(&b->deliveries[i].retry);
        }
    }

    if (b->tokens) {
        ol_deliveries_free(b->tokens);
    }

    if (b->waiting) {
        ngx_http_oidc_logout_bc_respond(b);
    }

    ngx_destroy_pool(b->pool);
}
