/*
 * ngx_http_oidc_logout_module: one connection to Redis on the event loop.
 *
 * hiredis's asynchronous context, its socket watched by the worker's event
 * loop: hiredis reads, writes and parses; nginx says when.  The socket is
 * watched level-triggered, since hiredis reads at most 16 KB a turn.  One
 * timer bounds the connection's attempt (connect and AUTH) and then the
 * commands that wait for their replies; another paces the reconnections.
 *
 * hiredis frees its context itself when the connection fails or is lost,
 * from inside its own calls: it tells through the cleanup hook, the one
 * place that learns of it.  This file frees a context (a timeout, a failed
 * AUTH, close) only from a timer's handler or from close, never from
 * inside a call of hiredis.
 */

#include "ngx_http_oidc_logout.h"

#include <hiredis/async.h>

#define NGX_HTTP_OIDC_LOGOUT_REDIS_BACKOFF_MIN 100  /* ms */
#define NGX_HTTP_OIDC_LOGOUT_REDIS_BACKOFF_MAX 2000 /* ms */
#define NGX_HTTP_OIDC_LOGOUT_REDIS_REASON 128

/* A command that waits for its reply. */
typedef struct {
    ngx_queue_t queue; /* in pending, or in spare */
    ngx_http_oidc_logout_redis_t *rc;
    ngx_http_oidc_logout_redis_reply_pt on_reply;
    void *data;
    ngx_msec_t deadline; /* its reply is due by then (ngx_current_msec) */
} ngx_http_oidc_logout_redis_cmd_t;

struct ngx_http_oidc_logout_redis_s {
    /* the conf's strings, copied and NUL-terminated */
    char *host;
    int port;
    char *unix_path; /* NULL: TCP */
    ngx_str_t password;
    ngx_str_t name;
    ngx_msec_t timeout;
    ngx_http_oidc_logout_redis_state_pt on_state;
    void *data;
    ngx_log_t *log;

    redisAsyncContext *ac; /* NULL: none, or being freed by this file */
    ngx_connection_t *c;   /* ac's socket in the event loop */
    ngx_queue_t pending;   /* commands sent, oldest first */
    ngx_queue_t spare;     /* records to reuse */
    ngx_event_t deadline;  /* the attempt's, then the commands' */
    ngx_event_t retry;     /* the next attempt */
    ngx_msec_t backoff;
    /* the connection is to be dropped by the deadline's handler, for
     * this reason: it cannot be freed where this was decided */
    const char *drop;
    ngx_uint_t up;
    /* open is under way: a failure is told from the retry timer, once
     * open has returned */
    unsigned starting : 1;
    unsigned tell : 1;
    u_char reason[NGX_HTTP_OIDC_LOGOUT_REDIS_REASON];
};

static void
ngx_http_oidc_logout_redis_connect(ngx_http_oidc_logout_redis_t *rc);

/* Exactly ms from now, where ngx_add_timer would keep an older time that
 * is less than NGX_TIMER_LAZY_DELAY away. */
static void
ngx_http_oidc_logout_redis_arm(ngx_event_t *ev, ngx_msec_t ms)
{
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
    ngx_add_timer(ev, ms);
}

static const char *
ngx_http_oidc_logout_redis_reason(ngx_http_oidc_logout_redis_t *rc,
                                  const char *prefix, const char *text,
                                  size_t len)
{
    u_char *p, *last = rc->reason + sizeof(rc->reason) - 1;

    p = ngx_cpystrn(rc->reason, (u_char *)prefix, sizeof(rc->reason));
    p = ngx_cpymem(p, text, ngx_min(len, (size_t)(last - p)));
    *p = '\0';
    return (const char *)rc->reason;
}

/* An attempt failed or the connection is gone (no context any more):
 * the next attempt after the backoff, then the caller is told. */
static void
ngx_http_oidc_logout_redis_failed(ngx_http_oidc_logout_redis_t *rc,
                                  const char *reason)
{
    rc->up = 0;
    rc->drop = NULL;
    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (rc->starting) {
        /* open has not returned: told by the retry timer, at once */
        if (reason != (const char *)rc->reason) {
            ngx_http_oidc_logout_redis_reason(rc, "", reason,
                                              ngx_strlen(reason));
        }
        rc->tell = 1;
        ngx_http_oidc_logout_redis_arm(&rc->retry, 0);
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "oidc_logout: redis %V: %s; again in %M ms", &rc->name,
                   reason, rc->backoff);
    ngx_http_oidc_logout_redis_arm(&rc->retry, rc->backoff);
    rc->backoff =
        ngx_min(rc->backoff * 2, NGX_HTTP_OIDC_LOGOUT_REDIS_BACKOFF_MAX);

    /* last: the caller may do anything but close from here */
    rc->on_state(rc->data, 0, reason);
}

static void
ngx_http_oidc_logout_redis_retry(ngx_event_t *ev)
{
    ngx_http_oidc_logout_redis_t *rc = ev->data;

    if (rc->tell) {
        rc->tell = 0;
        ngx_http_oidc_logout_redis_failed(rc, (const char *)rc->reason);
        return;
    }
    ngx_http_oidc_logout_redis_connect(rc);
}

/* Frees the context now; never from inside a call of hiredis.  Every
 * pending command's callback gets NULL. */
static void
ngx_http_oidc_logout_redis_free(ngx_http_oidc_logout_redis_t *rc)
{
    redisAsyncContext *ac = rc->ac;

    rc->ac = NULL; /* the cleanup hook: not a loss to tell */
    rc->up = 0;
    if (ac != NULL) {
        redisAsyncFree(ac);
    }
}

/* The connection is to be dropped, from a place that cannot free it (a
 * hook or a callback of hiredis): the deadline's handler does, at once. */
static void
ngx_http_oidc_logout_redis_drop_soon(ngx_http_oidc_logout_redis_t *rc,
                                     const char *reason)
{
    if (rc->drop == NULL) {
        rc->drop = reason;
    }
    rc->up = 0;
    ngx_http_oidc_logout_redis_arm(&rc->deadline, 0);
}

static void
ngx_http_oidc_logout_redis_deadline(ngx_event_t *ev)
{
    ngx_msec_int_t left, soonest;
    ngx_queue_t *q;
    ngx_http_oidc_logout_redis_cmd_t *cmd;
    ngx_http_oidc_logout_redis_t *rc = ev->data;
    const char *reason = rc->drop != NULL ? rc->drop : "timed out";

    if (rc->drop == NULL && rc->up) {
        /* the commands' timer: the one due soonest decides */
        soonest = NGX_MAX_INT_T_VALUE;
        for (q = ngx_queue_head(&rc->pending);
             q != ngx_queue_sentinel(&rc->pending); q = ngx_queue_next(q)) {
            cmd = ngx_queue_data(q, ngx_http_oidc_logout_redis_cmd_t, queue);
            left = (ngx_msec_int_t)(cmd->deadline - ngx_current_msec);
            soonest = ngx_min(soonest, left);
        }
        if (soonest == NGX_MAX_INT_T_VALUE) {
            return;
        }
        if (soonest > 0) {
            ngx_add_timer(ev, (ngx_msec_t)soonest);
            return;
        }
    }

    ngx_http_oidc_logout_redis_free(rc);
    ngx_http_oidc_logout_redis_failed(rc, reason);
}

/* The event hooks of hiredis: privdata is the ngx_connection_t. */
static void
ngx_http_oidc_logout_redis_watch(ngx_connection_t *c, ngx_event_t *ev,
                                 ngx_int_t event, ngx_uint_t on)
{
    ngx_int_t rc;

    if (ev->active == on) {
        return;
    }
    /* level-triggered: hiredis reads a bounded amount a turn */
    rc = on ? ngx_add_event(ev, event, NGX_LEVEL_EVENT)
            : ngx_del_event(ev, event, 0);
    if (rc != NGX_OK) {
        ngx_http_oidc_logout_redis_drop_soon(c->data,
                                             "could not watch the socket");
    }
}

static void
ngx_http_oidc_logout_redis_add_read(void *privdata)
{
    ngx_connection_t *c = privdata;

    ngx_http_oidc_logout_redis_watch(c, c->read, NGX_READ_EVENT, 1);
}

static void
ngx_http_oidc_logout_redis_del_read(void *privdata)
{
    ngx_connection_t *c = privdata;

    ngx_http_oidc_logout_redis_watch(c, c->read, NGX_READ_EVENT, 0);
}

static void
ngx_http_oidc_logout_redis_add_write(void *privdata)
{
    ngx_connection_t *c = privdata;

    ngx_http_oidc_logout_redis_watch(c, c->write, NGX_WRITE_EVENT, 1);
}

static void
ngx_http_oidc_logout_redis_del_write(void *privdata)
{
    ngx_connection_t *c = privdata;

    ngx_http_oidc_logout_redis_watch(c, c->write, NGX_WRITE_EVENT, 0);
}

/* hiredis is freeing the context (it closes the socket right after):
 * the connection leaves the event loop.  A context this file did not
 * give up is a failed attempt or a lost connection, told here. */
static void
ngx_http_oidc_logout_redis_cleanup(void *privdata)
{
    const char *reason;
    redisAsyncContext *ac;
    ngx_connection_t *c = privdata;
    ngx_http_oidc_logout_redis_t *rc = c->data;

    /* a failure here changes nothing: the socket is closed next */
    if (c->read->active) {
        (void)ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
    if (c->write->active) {
        (void)ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }
    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }
    /* the event loop's stale-event check */
    c->fd = (ngx_socket_t)-1;
    ngx_free_connection(c);
    if (rc->c == c) {
        rc->c = NULL;
    }

    ac = rc->ac;
    if (ac == NULL || ac->ev.data != c) {
        return;
    }
    rc->ac = NULL;
    reason = ac->c.errstr[0] != '\0' ? ac->c.errstr : "connection closed";
    reason =
        ngx_http_oidc_logout_redis_reason(rc, "", reason, ngx_strlen(reason));
    ngx_http_oidc_logout_redis_failed(rc, reason);
}

static void
ngx_http_oidc_logout_redis_read(ngx_event_t *rev)
{
    ngx_connection_t *c = rev->data;
    ngx_http_oidc_logout_redis_t *rc = c->data;

    if (rc->c == c && rc->ac != NULL) {
        /* may free the context, the connection with it */
        redisAsyncHandleRead(rc->ac);
    }
}

static void
ngx_http_oidc_logout_redis_write(ngx_event_t *wev)
{
    ngx_connection_t *c = wev->data;
    ngx_http_oidc_logout_redis_t *rc = c->data;

    if (rc->c == c && rc->ac != NULL) {
        redisAsyncHandleWrite(rc->ac);
    }
}

/* Connected (and authenticated). */
static void
ngx_http_oidc_logout_redis_ready(ngx_http_oidc_logout_redis_t *rc)
{
    rc->up = 1;
    rc->backoff = NGX_HTTP_OIDC_LOGOUT_REDIS_BACKOFF_MIN;
    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }
    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "oidc_logout: redis %V: connected", &rc->name);
    rc->on_state(rc->data, 1, "");
}

static void
ngx_http_oidc_logout_redis_authenticated(redisAsyncContext *ac, void *r,
                                         void *privdata)
{
    redisReply *reply = r;
    ngx_http_oidc_logout_redis_t *rc = privdata;

    if (reply == NULL || rc->ac != ac || rc->drop != NULL) {
        /* the context is being freed: told by its cleanup or the deadline */
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_oidc_logout_redis_drop_soon(
            rc, ngx_http_oidc_logout_redis_reason(rc, "AUTH: ", reply->str,
                                                  reply->len));
        return;
    }
    ngx_http_oidc_logout_redis_ready(rc);
}

static void
ngx_http_oidc_logout_redis_connected(const redisAsyncContext *cac, int status)
{
    const char *argv[2];
    size_t argvlen[2];
    ngx_http_oidc_logout_redis_t *rc = cac->data;

    if (status != REDIS_OK || rc->ac != cac || rc->drop != NULL) {
        /* a failure: the cleanup hook, called next, tells */
        return;
    }

    if (rc->password.len == 0) {
        ngx_http_oidc_logout_redis_ready(rc);
        return;
    }

    /* the attempt's deadline goes on until AUTH is answered */
    argv[0] = "AUTH";
    argvlen[0] = sizeof("AUTH") - 1;
    argv[1] = (const char *)rc->password.data;
    argvlen[1] = rc->password.len;
    if (redisAsyncCommandArgv(rc->ac, ngx_http_oidc_logout_redis_authenticated,
                              rc, 2, argv, argvlen) != REDIS_OK) {
        ngx_http_oidc_logout_redis_drop_soon(rc, "AUTH: no memory");
    }
}

/* One attempt: a non-blocking connect, watched by the event loop. */
static void
ngx_http_oidc_logout_redis_connect(ngx_http_oidc_logout_redis_t *rc)
{
    redisAsyncContext *ac;
    ngx_connection_t *c;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "oidc_logout: redis %V: connecting", &rc->name);

    ac = rc->unix_path != NULL ? redisAsyncConnectUnix(rc->unix_path)
                               : redisAsyncConnect(rc->host, rc->port);
    if (ac == NULL) {
        ngx_http_oidc_logout_redis_failed(rc, "no memory");
        return;
    }
    if (ac->err) {
        ngx_http_oidc_logout_redis_reason(rc, "", ac->errstr,
                                          ngx_strlen(ac->errstr));
        redisAsyncFree(ac);
        ngx_http_oidc_logout_redis_failed(rc, (const char *)rc->reason);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_oidc_logout_redis_failed(rc, "no free connection");
        return;
    }
    c->data = rc;
    c->log = rc->log;
    c->read->log = rc->log;
    c->write->log = rc->log;
    c->read->handler = ngx_http_oidc_logout_redis_read;
    c->write->handler = ngx_http_oidc_logout_redis_write;

    ac->data = rc;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_oidc_logout_redis_add_read;
    ac->ev.delRead = ngx_http_oidc_logout_redis_del_read;
    ac->ev.addWrite = ngx_http_oidc_logout_redis_add_write;
    ac->ev.delWrite = ngx_http_oidc_logout_redis_del_write;
    ac->ev.cleanup = ngx_http_oidc_logout_redis_cleanup;
    rc->ac = ac;
    rc->c = c;
    rc->drop = NULL;

    ngx_http_oidc_logout_redis_arm(&rc->deadline, rc->timeout);
    /* watches for writability: the connection is up */
    redisAsyncSetConnectCallback(ac, ngx_http_oidc_logout_redis_connected);
}

/* A command's reply, or NULL: the context is being freed. */
static void
ngx_http_oidc_logout_redis_replied(redisAsyncContext *ac, void *reply,
                                   void *privdata)
{
    void *data;
    ngx_http_oidc_logout_redis_reply_pt on_reply;
    ngx_http_oidc_logout_redis_cmd_t *cmd = privdata;
    ngx_http_oidc_logout_redis_t *rc = cmd->rc;

    on_reply = cmd->on_reply;
    data = cmd->data;
    ngx_queue_remove(&cmd->queue);
    ngx_queue_insert_head(&rc->spare, &cmd->queue);

    if (reply == NULL) {
        /* no command is sent from the NULL callbacks */
        rc->up = 0;
    } else if (ngx_queue_empty(&rc->pending) && rc->drop == NULL &&
               rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    on_reply(data, reply);
}

/* Copies src to p (an empty src may have no data), dst the copy when not
 * NULL; returns the end of the copy. */
static u_char *
ngx_http_oidc_logout_redis_copy(u_char *p, ngx_str_t *src, ngx_str_t *dst)
{
    if (dst != NULL) {
        dst->data = p;
        dst->len = src->len;
    }
    return src->len != 0 ? ngx_cpymem(p, src->data, src->len) : p;
}

ngx_http_oidc_logout_redis_t *
ngx_http_oidc_logout_redis_open(ngx_http_oidc_logout_redis_conf_t *conf,
                                ngx_msec_t timeout,
                                ngx_http_oidc_logout_redis_state_pt on_state,
                                void *data, ngx_log_t *log)
{
    u_char *p;
    ngx_str_t path = conf->unix_path;
    ngx_http_oidc_logout_redis_t *rc;

    if (path.len > sizeof("unix:") - 1 &&
        ngx_strncmp(path.data, "unix:", sizeof("unix:") - 1) == 0) {
        path.data += sizeof("unix:") - 1;
        path.len -= sizeof("unix:") - 1;
    }

    rc = ngx_alloc(sizeof(ngx_http_oidc_logout_redis_t) + conf->host.len + 1 +
                       path.len + 1 + conf->password.len + conf->name.len,
                   log);
    if (rc == NULL) {
        return NULL;
    }
    ngx_memzero(rc, sizeof(ngx_http_oidc_logout_redis_t));

    p = (u_char *)(rc + 1);
    rc->host = (char *)p;
    p = ngx_http_oidc_logout_redis_copy(p, &conf->host, NULL);
    *p++ = '\0';
    if (path.len != 0) {
        rc->unix_path = (char *)p;
        p = ngx_http_oidc_logout_redis_copy(p, &path, NULL);
        *p++ = '\0';
    }
    p = ngx_http_oidc_logout_redis_copy(p, &conf->password, &rc->password);
    (void)ngx_http_oidc_logout_redis_copy(p, &conf->name, &rc->name);

    rc->port = conf->port;
    rc->timeout = timeout;
    rc->on_state = on_state;
    rc->data = data;
    rc->log = log;
    rc->backoff = NGX_HTTP_OIDC_LOGOUT_REDIS_BACKOFF_MIN;
    ngx_queue_init(&rc->pending);
    ngx_queue_init(&rc->spare);

    rc->deadline.handler = ngx_http_oidc_logout_redis_deadline;
    rc->deadline.data = rc;
    rc->deadline.log = log;
    rc->deadline.cancelable = 1;
    rc->retry.handler = ngx_http_oidc_logout_redis_retry;
    rc->retry.data = rc;
    rc->retry.log = log;
    rc->retry.cancelable = 1;

    /* a worker starts with its master's time, older by the time the
     * configuration took to read: the attempt's deadline counts from now */
    ngx_time_update();
    rc->starting = 1;
    ngx_http_oidc_logout_redis_connect(rc);
    rc->starting = 0;

    return rc;
}

/* Commands that change how replies come (pub/sub, MONITOR): a reply no
 * longer answers one command. */
static ngx_uint_t
ngx_http_oidc_logout_redis_carries(const char *name, size_t len)
{
    static const char *modal[] = {
        "subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
        "punsubscribe", "sunsubscribe", "monitor",    NULL};
    const char **m;

    for (m = modal; *m != NULL; m++) {
        if (len == ngx_strlen(*m) &&
            ngx_strncasecmp((u_char *)name, (u_char *)*m, len) == 0) {
            return 0;
        }
    }
    return 1;
}

ngx_int_t
ngx_http_oidc_logout_redis_command(ngx_http_oidc_logout_redis_t *rc,
                                   ngx_msec_t timeout,
                                   ngx_http_oidc_logout_redis_reply_pt on_reply,
                                   void *data, int argc, const char **argv,
                                   const size_t *argvlen)
{
    ngx_queue_t *q;
    ngx_http_oidc_logout_redis_cmd_t *cmd;

    if (!rc->up || rc->ac == NULL || rc->drop != NULL) {
        return NGX_DECLINED;
    }
    if (argc < 1 || !ngx_http_oidc_logout_redis_carries(argv[0], argvlen[0])) {
        ngx_log_error(NGX_LOG_ALERT, rc->log, 0,
                      "oidc_logout: redis %V: a command this connection "
                      "cannot carry",
                      &rc->name);
        return NGX_ERROR;
    }

    if (!ngx_queue_empty(&rc->spare)) {
        q = ngx_queue_head(&rc->spare);
        ngx_queue_remove(q);
        cmd = ngx_queue_data(q, ngx_http_oidc_logout_redis_cmd_t, queue);
    } else {
        cmd = ngx_alloc(sizeof(ngx_http_oidc_logout_redis_cmd_t), rc->log);
        if (cmd == NULL) {
            return NGX_ERROR;
        }
    }
    cmd->rc = rc;
    cmd->on_reply = on_reply;
    cmd->data = data;
    if (timeout == 0) {
        timeout = rc->timeout;
    }
    cmd->deadline = ngx_current_msec + timeout;

    if (redisAsyncCommandArgv(rc->ac, ngx_http_oidc_logout_redis_replied, cmd,
                              argc, argv, argvlen) != REDIS_OK) {
        ngx_queue_insert_head(&rc->spare, &cmd->queue);
        /* hiredis refuses commands to a connection it is closing */
        return (rc->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))
                   ? NGX_DECLINED
                   : NGX_ERROR;
    }
    ngx_queue_insert_tail(&rc->pending, &cmd->queue);

    if (!rc->deadline.timer_set ||
        (ngx_msec_int_t)(cmd->deadline - rc->deadline.timer.key) < 0) {
        ngx_http_oidc_logout_redis_arm(&rc->deadline, timeout);
    }
    return NGX_OK;
}

ngx_uint_t
ngx_http_oidc_logout_redis_up(ngx_http_oidc_logout_redis_t *rc)
{
    return rc->up;
}

void
ngx_http_oidc_logout_redis_close(ngx_http_oidc_logout_redis_t *rc)
{
    ngx_queue_t *q;

    /* the pending commands' callbacks get NULL, the connection leaves the
     * event loop */
    ngx_http_oidc_logout_redis_free(rc);
    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }
    if (rc->retry.timer_set) {
        ngx_del_timer(&rc->retry);
    }

    while (!ngx_queue_empty(&rc->spare)) {
        q = ngx_queue_head(&rc->spare);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_oidc_logout_redis_cmd_t, queue));
    }
    ngx_free(rc);
}
