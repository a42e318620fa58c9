/*
 * ngx_http_oidc_logout_module: the back-channel deliveries of one logout.
 *
 * When a logout ends a session, each of its clients with a
 * backchannel_logout_uri gets a signed logout token, POSTed through the
 * worker's own event loop: all clients at once, each attempt bounded by
 * oidc_logout_backchannel_timeout, and tried again or given up as the
 * core's delivery policy says.  The tokens are signed in nginx's thread
 * pool, so that RSA signatures never hold up the other requests of the
 * worker.  A batch lives in its own pool, apart from the request that
 * started it; that request's response may wait for it (its done handler).
 */

#include "ngx_http_oidc_logout.h"

/* How often the signing timer looks again while a thread signs, in ms. */
#define NGX_HTTP_OIDC_LOGOUT_BC_SIGNING 1000

/* One client's delivery. */
typedef struct {
    ngx_http_oidc_logout_batch_t *batch;
    size_t index; /* in the deliveries */
    ngx_http_oidc_logout_post_t post;
    ngx_event_t retry; /* the delay before the next attempt */
} ngx_http_oidc_logout_delivery_t;

struct ngx_http_oidc_logout_batch_s {
    ngx_pool_t *pool;
    ngx_log_t log;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_msec_t timeout;
    ol_deliveries *tokens;
    char sign_error[NGX_HTTP_OIDC_LOGOUT_ERRLEN]; /* why they are not signed */
    ngx_uint_t signed_ok;
    ngx_event_t signed_ev; /* the deliveries start from the event loop */
    ngx_event_t signing;   /* armed while a thread signs: a worker that is
                              shutting down waits for the tokens */
    ngx_uint_t pending;
    ngx_http_oidc_logout_delivery_t *deliveries;
    ngx_uint_t ndeliveries;
    /* who waits for the batch, at most until the wait event */
    ngx_http_oidc_logout_bc_done_pt done;
    void *data;
    ngx_event_t wait;
};

static void ngx_http_oidc_logout_bc_signed(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_attempted(ngx_http_oidc_logout_post_t *p,
                                              const char *failure,
                                              ol_attempt attempt_end,
                                              ngx_uint_t status);
static void ngx_http_oidc_logout_bc_retry(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_wait_over(ngx_event_t *ev);
static void ngx_http_oidc_logout_bc_release(ngx_http_oidc_logout_batch_t *b);

/* ---- signing ------------------------------------------------------------ */

static void
ngx_http_oidc_logout_bc_sign(ngx_http_oidc_logout_batch_t *b)
{
    b->signed_ok = ol_deliveries_sign(b->tokens, b->sign_error,
                                      sizeof(b->sign_error)) == OL_OK;
}

#if (NGX_THREADS)

/* The thread is still at it: the timer stays, so that nginx does not take
 * the worker for idle (a worker shutting down exits when no timer is left,
 * and the thread's result would never be seen). */
static void
ngx_http_oidc_logout_bc_signing(ngx_event_t *ev)
{
    ngx_http_oidc_logout_batch_t *b = ev->data;

    ngx_add_timer(&b->signing, NGX_HTTP_OIDC_LOGOUT_BC_SIGNING);
}

/* In a thread of the pool: reads only the configuration and the batch. */
static void
ngx_http_oidc_logout_bc_sign_task(void *data, ngx_log_t *log)
{
    ngx_http_oidc_logout_batch_t **b = data;

    ngx_http_oidc_logout_bc_sign(*b);
}

#endif

/* The deliveries d of a server, in a batch of their own (they outlive
 * the request that started them, if any); log lives as long as the
 * configuration.  NULL on failure: the zone then hands them out again
 * after their round's time. */
static ngx_http_oidc_logout_batch_t *
ngx_http_oidc_logout_bc_launch(ngx_http_oidc_logout_srv_conf_t *oscf,
                               ngx_msec_t timeout, ngx_log_t *log,
                               ol_deliveries *d, ngx_msec_t wait,
                               ngx_http_oidc_logout_bc_done_pt done, void *data)
{
    ngx_pool_t *pool;
    ngx_http_oidc_logout_batch_t *b;
#if (NGX_THREADS)
    ngx_thread_task_t *task;
#endif

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        ol_deliveries_free(d);
        return NULL;
    }

    b = ngx_pcalloc(pool, sizeof(ngx_http_oidc_logout_batch_t));
    if (b == NULL) {
        ngx_destroy_pool(pool);
        ol_deliveries_free(d);
        return NULL;
    }

    b->pool = pool;
    b->log = *log;
    b->log.connection = 0;
    b->log.handler = NULL;
    b->log.data = NULL;
    pool->log = &b->log;
    b->oscf = oscf;
    b->timeout = timeout;
    b->tokens = d;

    b->signed_ev.handler = ngx_http_oidc_logout_bc_signed;
    b->signed_ev.data = b;
    b->signed_ev.log = &b->log;

    if (done != NULL) {
        b->done = done;
        b->data = data;
        b->wait.handler = ngx_http_oidc_logout_bc_wait_over;
        b->wait.data = b;
        b->wait.log = &b->log;
        ngx_add_timer(&b->wait, wait);
    }

#if (NGX_THREADS)
    task = ngx_thread_task_alloc(pool, sizeof(ngx_http_oidc_logout_batch_t *));
    if (task != NULL) {
        *(ngx_http_oidc_logout_batch_t **)task->ctx = b;
        task->handler = ngx_http_oidc_logout_bc_sign_task;
        task->event.handler = ngx_http_oidc_logout_bc_signed;
        task->event.data = b;

        if (ngx_thread_task_post(b->oscf->bc_thread_pool, task) == NGX_OK) {
            b->signing.handler = ngx_http_oidc_logout_bc_signing;
            b->signing.data = b;
            b->signing.log = &b->log;
            ngx_add_timer(&b->signing, NGX_HTTP_OIDC_LOGOUT_BC_SIGNING);
            return b;
        }
    }

    ngx_log_error(NGX_LOG_WARN, &b->log, 0,
                  "oidc_logout: backchannel: the thread pool is busy, "
                  "signing in the event loop");
#endif

    ngx_http_oidc_logout_bc_sign(b);

    /* the deliveries start once the caller has returned */
    ngx_post_event(&b->signed_ev, &ngx_posted_events);

    return b;
}

ngx_http_oidc_logout_batch_t *
ngx_http_oidc_logout_bc_start(ngx_http_request_t *r, ol_deliveries *d,
                              ngx_msec_t wait,
                              ngx_http_oidc_logout_bc_done_pt done, void *data)
{
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    /* the location's error log lives as long as the configuration */
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    return ngx_http_oidc_logout_bc_launch(
        ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module),
        olcf->bc_timeout, clcf->error_log, d, wait, done, data);
}

ngx_int_t
ngx_http_oidc_logout_bc_deliver(ngx_http_oidc_logout_srv_conf_t *oscf,
                                ngx_msec_t timeout, ngx_log_t *log,
                                ol_deliveries *d)
{
    return ngx_http_oidc_logout_bc_launch(oscf, timeout, log, d, 0, NULL,
                                          NULL) != NULL
               ? NGX_OK
               : NGX_ERROR;
}

void
ngx_http_oidc_logout_bc_forget(ngx_http_oidc_logout_batch_t *b)
{
    if (b->wait.timer_set) {
        ngx_del_timer(&b->wait);
    }
    b->done = NULL;
}

/* ---- dispatch ----------------------------------------------------------- */

/* The tokens are signed (or could not be): the deliveries start. */
static void
ngx_http_oidc_logout_bc_signed(ngx_event_t *ev)
{
    size_t i, n, body_len;
    const char *body;
    const ol_target *target;
    ngx_http_oidc_logout_batch_t *b = ev->data;
    ngx_http_oidc_logout_delivery_t *d;

    if (b->signing.timer_set) {
        ngx_del_timer(&b->signing);
    }

    if (!b->signed_ok) {
        ngx_log_error(NGX_LOG_ALERT, &b->log, 0,
                      "oidc_logout: backchannel: could not sign the logout "
                      "tokens of session %s: %s",
                      ol_deliveries_sid(b->tokens), b->sign_error);
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
        ol_delivery_get(b->tokens, i, &target, &body, &body_len);

        d = &b->deliveries[i];
        d->batch = b;
        d->index = i;
        d->post.target = target;
        d->post.oscf = b->oscf;
        d->post.timeout = b->timeout;
        d->post.log = &b->log;
        d->post.pool = b->pool;
        d->post.done = ngx_http_oidc_logout_bc_attempted;
        d->post.data = d;
        d->retry.handler = ngx_http_oidc_logout_bc_retry;
        d->retry.data = d;
        d->retry.log = &b->log;

        if (ngx_http_oidc_logout_post_prepare(&d->post, body, body_len) !=
            NGX_OK) {
            ngx_http_oidc_logout_bc_release(b);
            return;
        }

        b->ndeliveries++;
    }

    b->pending = b->ndeliveries;
    if (b->pending == 0) {
        ngx_http_oidc_logout_bc_release(b);
        return;
    }

    /* all clients at once */
    for (i = 0; i < n; i++) {
        ngx_http_oidc_logout_post(&b->deliveries[i].post);
    }
}

static void
ngx_http_oidc_logout_bc_retry(ngx_event_t *ev)
{
    ngx_http_oidc_logout_delivery_t *d = ev->data;

    ngx_http_oidc_logout_post(&d->post);
}

/* An attempt is over: one log line; the core's delivery policy says
 * whether it delivered, is tried again after a delay, or is given up. */
static void
ngx_http_oidc_logout_bc_attempted(ngx_http_oidc_logout_post_t *p,
                                  const char *failure, ol_attempt attempt_end,
                                  ngx_uint_t status)
{
    unsigned attempt;
    uint64_t delay;
    u_char text[NGX_INT_T_LEN + 1];
    ol_delivery_outcome outcome;
    ngx_http_oidc_logout_delivery_t *d = p->data;
    ngx_http_oidc_logout_batch_t *b = d->batch;

    if (failure == NULL) {
        ngx_sprintf(text, "%03ui%Z", status);
        failure = (const char *)text;
    }

    /* an exiting worker tries nothing again */
    outcome = ol_delivery_attempted(
        b->tokens, d->index, attempt_end, (unsigned)status,
        ngx_exiting || ngx_terminate, &attempt, &delay);

    switch (outcome) {
    case OL_DELIVERY_DELIVERED:
        ngx_log_error(NGX_LOG_INFO, &b->log, 0,
                      "oidc_logout: backchannel client=%s status=%s "
                      "attempt=%ud",
                      p->target->client_id, failure, attempt);
        break;

    case OL_DELIVERY_RETRIED:
        ngx_log_error(NGX_LOG_WARN, &b->log, 0,
                      "oidc_logout: backchannel client=%s status=%s "
                      "attempt=%ud, retry in %Mms",
                      p->target->client_id, failure, attempt,
                      (ngx_msec_t)delay);
        ngx_add_timer(&d->retry, (ngx_msec_t)delay);
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, &b->log, 0,
                      "oidc_logout: backchannel client=%s status=%s "
                      "attempt=%ud, given up",
                      p->target->client_id, failure, attempt);
    }

    if (--b->pending == 0) {
        ngx_http_oidc_logout_bc_release(b);
    }
}

/* ---- the end ------------------------------------------------------------ */

/* Tells who waits, once. */
static void
ngx_http_oidc_logout_bc_done(ngx_http_oidc_logout_batch_t *b)
{
    ngx_http_oidc_logout_bc_done_pt done = b->done;

    ngx_http_oidc_logout_bc_forget(b);
    if (done != NULL) {
        done(b->data);
    }
}

static void
ngx_http_oidc_logout_bc_wait_over(ngx_event_t *ev)
{
    ngx_http_oidc_logout_batch_t *b = ev->data;

    ngx_log_error(NGX_LOG_INFO, &b->log, 0,
                  "oidc_logout: backchannel: the response goes out before "
                  "the deliveries are over (oidc_logout_backchannel_wait)");
    ngx_http_oidc_logout_bc_done(b);
}

/* Every delivery is over (or none could start). */
static void
ngx_http_oidc_logout_bc_release(ngx_http_oidc_logout_batch_t *b)
{
    ngx_uint_t i;

    for (i = 0; i < b->ndeliveries; i++) {
        ngx_http_oidc_logout_post_cancel(&b->deliveries[i].post);
        if (b->deliveries[i].retry.timer_set) {
            ngx_del_timer(&b->deliveries[i].retry);
        }
    }

    /* the clients not through wait in the zone for another round */
    ol_deliveries_settle(b->tokens, (uint64_t)ngx_time());
    ol_deliveries_free(b->tokens);
    ngx_http_oidc_logout_bc_done(b);
    ngx_destroy_pool(b->pool);
}
