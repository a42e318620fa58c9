/*
 * ngx_http_oidc_logout_module: a one-request HTTP client.
 *
 * POSTs a form body to a back-channel target, or GETs a bounded document
 * (oidc_logout_keys_url), through the worker's event loop: connect, TLS
 * (the server's context; the certificate is checked after the handshake
 * and the refusal logged with the target), send, and read the status line
 * (a POST) or the whole answer (a GET).  Each attempt is bounded by its
 * timeout and ends with one call of its done handler, the connection
 * already closed.
 */

#include "ngx_http_oidc_logout.h"

/* Longest status line read from a client, in bytes; and what a GET's
 * headers may take besides its body. */
#define NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE 1024
#define NGX_HTTP_OIDC_LOGOUT_GET_HEADERS 8192

/* Log lines name the target: "backchannel client=ID" unless told. */
#define ngx_http_oidc_logout_post_label(p)                                     \
    ((p)->label ? (p)->label : "backchannel client=")

static void ngx_http_oidc_logout_post_write(ngx_event_t *wev);
static void ngx_http_oidc_logout_post_read(ngx_event_t *rev);
static void ngx_http_oidc_logout_post_end(ngx_http_oidc_logout_post_t *p,
                                          const char *failure,
                                          ol_attempt attempt_end,
                                          ngx_uint_t status);
static void ngx_http_oidc_logout_get_answered(ngx_http_oidc_logout_post_t *p);

/* POST target HTTP/1.1 with body as a form. */
ngx_int_t
ngx_http_oidc_logout_post_prepare(ngx_http_oidc_logout_post_t *p,
                                  const char *body, size_t body_len)
{
    u_char *q;
    size_t len;
    const ol_target *t = p->target;

    len = sizeof("POST  HTTP/1.1\r\nHost: \r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: 18446744073709551615\r\n"
                 "Connection: close\r\n"
                 "User-Agent: ngx_oidc_logout\r\n\r\n") +
          t->target_len + t->authority_len + body_len;

    p->request.data = ngx_pnalloc(p->pool, len);
    if (p->request.data == NULL) {
        return NGX_ERROR;
    }

    q = ngx_sprintf(p->request.data,
                    "POST %*s HTTP/1.1\r\nHost: %*s\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: %uz\r\n"
                    "Connection: close\r\n"
                    "User-Agent: ngx_oidc_logout\r\n\r\n",
                    t->target_len, t->target, t->authority_len, t->authority,
                    body_len);
    q = ngx_cpymem(q, body, body_len);
    p->request.len = q - p->request.data;

    return NGX_OK;
}

/* GET target HTTP/1.0: the answer is not chunked, and ends with the
 * connection. */
ngx_int_t
ngx_http_oidc_logout_get_prepare(ngx_http_oidc_logout_post_t *p)
{
    const ol_target *t = p->target;

    p->request.data =
        ngx_pnalloc(p->pool, sizeof("GET  HTTP/1.0\r\nHost: \r\n"
                                    "Accept: application/json\r\n"
                                    "User-Agent: ngx_oidc_logout\r\n\r\n") +
                                 t->target_len + t->authority_len);
    if (p->request.data == NULL) {
        return NGX_ERROR;
    }

    p->request.len =
        ngx_sprintf(p->request.data,
                    "GET %*s HTTP/1.0\r\nHost: %*s\r\n"
                    "Accept: application/json\r\n"
                    "User-Agent: ngx_oidc_logout\r\n\r\n",
                    t->target_len, t->target, t->authority_len, t->authority) -
        p->request.data;

    return NGX_OK;
}

void
ngx_http_oidc_logout_post_cancel(ngx_http_oidc_logout_post_t *p)
{
    ngx_pool_t *pool;
    ngx_connection_t *c = p->peer.connection;

    if (p->deadline.timer_set) {
        ngx_del_timer(&p->deadline);
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
    p->peer.connection = NULL;

    if (pool) {
        ngx_destroy_pool(pool);
    }
}

static void
ngx_http_oidc_logout_post_timeout(ngx_event_t *ev)
{
    ngx_http_oidc_logout_post_end(ev->data, "timeout", OL_ATTEMPT_FAILED, 0);
}

void
ngx_http_oidc_logout_post(ngx_http_oidc_logout_post_t *p)
{
    ngx_int_t rc;
    ngx_addr_t *addr;
    ngx_connection_t *c;
    ngx_http_oidc_logout_bc_peer_t *peer = p->target->data;

    p->attempt++;
    p->sent = 0;
    p->in_len = 0;
    p->connected = 0;
    p->err = 0;
    p->body = NULL;
    p->body_len = 0;

    /* a retry goes to the host's next address, if it has several */
    addr = &peer->addrs[(p->attempt - 1) % peer->naddrs];

    ngx_memzero(&p->peer, sizeof(ngx_peer_connection_t));
    p->peer.sockaddr = addr->sockaddr;
    p->peer.socklen = addr->socklen;
    p->peer.name = &addr->name;
    p->peer.get = ngx_event_get_peer;
    p->peer.log = p->log;
    /* the outcome line says what happened; nginx's own lines stay quiet */
    p->peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&p->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        p->err = ngx_socket_errno;
        ngx_http_oidc_logout_post_end(p, "connect-failed", OL_ATTEMPT_FAILED,
                                      0);
        return;
    }

    c = p->peer.connection;
    c->data = p;
    c->read->handler = ngx_http_oidc_logout_post_read;
    c->write->handler = ngx_http_oidc_logout_post_write;

    c->pool = ngx_create_pool(1024, p->log);
    if (c->pool == NULL) {
        ngx_http_oidc_logout_post_end(p, "no-memory", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    p->deadline.handler = ngx_http_oidc_logout_post_timeout;
    p->deadline.data = p;
    p->deadline.log = p->log;
    ngx_add_timer(&p->deadline, p->timeout);

    if (rc == NGX_OK) {
        ngx_http_oidc_logout_post_write(c->write);
    }
    /* NGX_AGAIN: the write event says when the connection is up */
}

#if (NGX_HTTP_SSL)

/* The certificate names the URI's host: a DNS name, or an IP address for
 * a literal host (which X509_check_host never matches). */
static ngx_int_t
ngx_http_oidc_logout_post_check_name(ngx_http_oidc_logout_post_t *p)
{
    int ok;
    X509 *cert;
    ngx_http_oidc_logout_bc_peer_t *peer = p->target->data;
    ngx_str_t *host = &peer->host;
    u_char ip[NGX_SOCKADDR_STRLEN + 1];

    if (!p->target->host_is_literal) {
        return ngx_ssl_check_host(p->peer.connection, host);
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

    cert = SSL_get_peer_certificate(p->peer.connection->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }
    ok = X509_check_ip_asc(cert, (const char *)ip, 0);
    X509_free(cert);

    return ok == 1 ? NGX_OK : NGX_ERROR;
}

static void
ngx_http_oidc_logout_post_handshaked(ngx_connection_t *c)
{
    long rc;
    ngx_http_oidc_logout_post_t *p = c->data;
    ngx_http_oidc_logout_srv_conf_t *oscf = p->oscf;
    ngx_http_oidc_logout_bc_peer_t *peer = p->target->data;

    if (!c->ssl->handshaked) {
        ngx_http_oidc_logout_post_end(p, "tls-failed", OL_ATTEMPT_FAILED, 0);
        return;
    }

    if (oscf->bc_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);
        if (rc != X509_V_OK) {
            ngx_log_error(NGX_LOG_ERR, p->log, 0,
                          "oidc_logout: %s%s: certificate of \"%V\": (%l:%s)",
                          ngx_http_oidc_logout_post_label(p),
                          p->target->client_id, &peer->host, rc,
                          X509_verify_cert_error_string(rc));
            ngx_http_oidc_logout_post_end(p, "certificate-refused",
                                          OL_ATTEMPT_ABORTED, 0);
            return;
        }

        if (ngx_http_oidc_logout_post_check_name(p) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, p->log, 0,
                          "oidc_logout: %s%s: the certificate does not name "
                          "\"%V\"",
                          ngx_http_oidc_logout_post_label(p),
                          p->target->client_id, &peer->host);
            ngx_http_oidc_logout_post_end(p, "certificate-refused",
                                          OL_ATTEMPT_ABORTED, 0);
            return;
        }
    }

    c->read->handler = ngx_http_oidc_logout_post_read;
    c->write->handler = ngx_http_oidc_logout_post_write;

    ngx_http_oidc_logout_post_write(c->write);
}

static ngx_int_t
ngx_http_oidc_logout_post_tls(ngx_http_oidc_logout_post_t *p)
{
    ngx_int_t rc;
    ngx_connection_t *c = p->peer.connection;
    ngx_http_oidc_logout_srv_conf_t *oscf = p->oscf;
    ngx_http_oidc_logout_bc_peer_t *peer = p->target->data;
    ngx_str_t *host = &peer->host;
    u_char *name;

    if (ngx_ssl_create_connection(oscf->bc_ssl, c,
                                  NGX_SSL_BUFFER | NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    /* SNI names hosts, not addresses */
    if (oscf->bc_server_name && !p->target->host_is_literal) {
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
        c->ssl->handler = ngx_http_oidc_logout_post_handshaked;
        return NGX_AGAIN;
    }

    ngx_http_oidc_logout_post_handshaked(c);
    return NGX_AGAIN;
}

#endif

/* Whether the connection came up (on its first event, read or write). */
static ngx_int_t
ngx_http_oidc_logout_post_connected(ngx_http_oidc_logout_post_t *p)
{
    int err;
    socklen_t len;
    ngx_connection_t *c = p->peer.connection;

    err = 0;
    len = sizeof(int);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *)&err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        p->err = err;
        ngx_log_error(NGX_LOG_INFO, p->log, err,
                      "oidc_logout: %s%s: connect() to %V failed",
                      ngx_http_oidc_logout_post_label(p), p->target->client_id,
                      p->peer.name);
        ngx_http_oidc_logout_post_end(p, "connect-failed", OL_ATTEMPT_FAILED,
                                      0);
        return NGX_ERROR;
    }

    p->connected = 1;
    return NGX_OK;
}

static void
ngx_http_oidc_logout_post_idle(ngx_event_t *ev)
{
    /* the request is sent: nothing more to write */
}

static void
ngx_http_oidc_logout_post_write(ngx_event_t *wev)
{
    ssize_t n;
    ngx_connection_t *c = wev->data;
    ngx_http_oidc_logout_post_t *p = c->data;

    if (c->close) {
        /* worker_shutdown_timeout */
        ngx_http_oidc_logout_post_end(p, "shutdown", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    if (!p->connected) {
        if (ngx_http_oidc_logout_post_connected(p) != NGX_OK) {
            return;
        }

#if (NGX_HTTP_SSL)
        if (p->target->https && c->ssl == NULL) {
            if (ngx_http_oidc_logout_post_tls(p) == NGX_ERROR) {
                ngx_http_oidc_logout_post_end(p, "tls-failed",
                                              OL_ATTEMPT_FAILED, 0);
            }
            return;
        }
#endif
    }

    while (p->sent < p->request.len) {
        n = c->send(c, p->request.data + p->sent, p->request.len - p->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_oidc_logout_post_end(p, "send-failed",
                                              OL_ATTEMPT_FAILED, 0);
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_oidc_logout_post_end(p, "send-failed", OL_ATTEMPT_FAILED,
                                          0);
            return;
        }

        p->sent += n;
    }

    /* nothing more to write: with level-triggered events (poll, select)
     * the write event is taken off, or it would fire until the answer */
    c->write->handler = ngx_http_oidc_logout_post_idle;
    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_oidc_logout_post_end(p, "send-failed", OL_ATTEMPT_FAILED, 0);
        return;
    }

    if (c->read->ready) {
        ngx_http_oidc_logout_post_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_oidc_logout_post_end(p, "read-failed", OL_ATTEMPT_FAILED, 0);
    }
}

/* The status of "HTTP/1.x NNN ...", or -1 while the line is incomplete,
 * or 0 when it is not a status line. */
static ngx_int_t
ngx_http_oidc_logout_post_status(u_char *p, size_t len)
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

/* The value of header name (lower case, with its ":") in the headers
 * [start, end), or NULL. */
static u_char *
ngx_http_oidc_logout_get_header(u_char *start, u_char *end, const char *name,
                                u_char **value_end)
{
    u_char *line, *eol;
    size_t len = ngx_strlen(name);

    for (line = start; line < end; line = eol + 1) {
        eol = ngx_strlchr(line, end, '\n');
        if (eol == NULL) {
            return NULL;
        }
        if ((size_t)(eol - line) > len &&
            ngx_strncasecmp(line, (u_char *)name, len) == 0) {
            line += len;
            while (line < eol && (*line == ' ' || *line == '\t')) {
                line++;
            }
            *value_end = eol;
            while (*value_end > line &&
                   ((*value_end)[-1] == '\r' || (*value_end)[-1] == ' ')) {
                (*value_end)--;
            }
            return line;
        }
    }

    return NULL;
}

/* A GET's whole answer is in: its status, and its body when it came whole
 * (the Content-Length, if any, is met; no chunked encoding). */
static void
ngx_http_oidc_logout_get_answered(ngx_http_oidc_logout_post_t *p)
{
    ngx_int_t status;
    u_char *headers, *end, *value, *value_end;
    off_t length;

    status = ngx_http_oidc_logout_post_status(p->in, p->in_len);
    end = ngx_strlcasestrn(p->in, p->in + p->in_len, (u_char *)"\r\n\r\n", 3);
    if (status <= 0 || end == NULL) {
        ngx_http_oidc_logout_post_end(p, "bad-response", OL_ATTEMPT_FAILED, 0);
        return;
    }

    headers = ngx_strlchr(p->in, end, '\n') + 1;
    p->body = end + 4;
    p->body_len = p->in + p->in_len - p->body;

    if (ngx_http_oidc_logout_get_header(headers, end + 2,
                                        "transfer-encoding:", &value_end)) {
        ngx_http_oidc_logout_post_end(p, "bad-response", OL_ATTEMPT_FAILED, 0);
        return;
    }

    value = ngx_http_oidc_logout_get_header(headers, end + 2,
                                            "content-length:", &value_end);
    if (value != NULL) {
        length = ngx_atoof(value, value_end - value);
        if (length < 0 || (size_t)length != p->body_len) {
            ngx_http_oidc_logout_post_end(p, "truncated", OL_ATTEMPT_FAILED, 0);
            return;
        }
    }

    if (p->body_len > p->max_body) {
        ngx_http_oidc_logout_post_end(p, "too-large", OL_ATTEMPT_FAILED, 0);
        return;
    }

    ngx_http_oidc_logout_post_end(p, NULL, OL_ATTEMPT_ANSWERED,
                                  (ngx_uint_t)status);
}

static void
ngx_http_oidc_logout_post_read(ngx_event_t *rev)
{
    ssize_t n;
    ngx_int_t status;
    ngx_connection_t *c = rev->data;
    ngx_http_oidc_logout_post_t *p = c->data;

    if (c->close) {
        ngx_http_oidc_logout_post_end(p, "shutdown", OL_ATTEMPT_ABORTED, 0);
        return;
    }

    if (!p->connected) {
        /* a failed connect() may show on the read event first */
        if (ngx_http_oidc_logout_post_connected(p) == NGX_OK) {
            ngx_http_oidc_logout_post_write(c->write);
        }
        return;
    }

    if (p->in == NULL) {
        p->in_size = p->max_body
                         ? p->max_body + NGX_HTTP_OIDC_LOGOUT_GET_HEADERS
                         : NGX_HTTP_OIDC_LOGOUT_BC_RESPONSE;
        p->in = ngx_pnalloc(p->pool, p->in_size);
        if (p->in == NULL) {
            ngx_http_oidc_logout_post_end(p, "no-memory", OL_ATTEMPT_ABORTED,
                                          0);
            return;
        }
    }

    for (;;) {
        if (p->in_len == p->in_size) {
            /* a GET whose answer does not fit */
            ngx_http_oidc_logout_post_end(p, "too-large", OL_ATTEMPT_FAILED, 0);
            return;
        }

        n = c->recv(c, p->in + p->in_len, p->in_size - p->in_len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_oidc_logout_post_end(p, "read-failed",
                                              OL_ATTEMPT_FAILED, 0);
            }
            return;
        }

        if (n == 0 && p->max_body) {
            /* a GET's answer ends with the connection */
            ngx_http_oidc_logout_get_answered(p);
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_oidc_logout_post_end(p, "no-response", OL_ATTEMPT_FAILED,
                                          0);
            return;
        }

        p->in_len += n;
        if (p->max_body) {
            continue;
        }
        status = ngx_http_oidc_logout_post_status(p->in, p->in_len);
        if (status != -1) {
            break;
        }
    }

    if (status == 0) {
        ngx_http_oidc_logout_post_end(p, "bad-response", OL_ATTEMPT_FAILED, 0);
        return;
    }

    ngx_http_oidc_logout_post_end(p, NULL, OL_ATTEMPT_ANSWERED,
                                  (ngx_uint_t)status);
}

/* Ends the attempt: closes its connection, then tells the caller. */
static void
ngx_http_oidc_logout_post_end(ngx_http_oidc_logout_post_t *p,
                              const char *failure, ol_attempt attempt_end,
                              ngx_uint_t status)
{
    ngx_http_oidc_logout_post_cancel(p);
    p->done(p, failure, attempt_end, status);
}
