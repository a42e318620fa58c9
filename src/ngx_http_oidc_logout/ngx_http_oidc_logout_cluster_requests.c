/*
 * ngx_http_oidc_logout_module: cluster mode in requests: a session cookie
 * the zone does not know is read from Redis first (preaccess); a logout
 * waits for Redis to say which node tells the clients; the admin API reads
 * the sessions it names first.
 */

#include "ngx_http_oidc_logout_cluster.h"

/* ---- requests ------------------------------------------------------------ */

static void ngx_http_oidc_logout_cluster_fetched(void *data, redisReply *reply);

/* GET the record of the waiting request's cookie. */
static ngx_int_t
ngx_http_oidc_logout_cluster_get(ngx_http_oidc_logout_waiting_t *wait)
{
    u_char key[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY];
    const char *argv[2];
    size_t argvlen[2];

    argv[0] = "GET";
    argvlen[0] = 3;
    argv[1] = (const char *)key;
    argvlen[1] = ngx_http_oidc_logout_cluster_key(
        wait->cl, key, "h:", wait->handle.data, wait->handle.len);
    if (argvlen[1] == 0) {
        return NGX_ERROR;
    }
    return ngx_http_oidc_logout_redis_command(
        wait->cl->redis, 0, ngx_http_oidc_logout_cluster_fetched, wait, 2, argv,
        argvlen);
}

/* The request goes on through its phases. */
static void
ngx_http_oidc_logout_cluster_resume(ngx_http_request_t *r)
{
    ngx_connection_t *c = r->connection;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}

static void
ngx_http_oidc_logout_cluster_ask_again(ngx_event_t *ev)
{
    ngx_http_oidc_logout_waiting_t *wait = ev->data;

    if (ngx_http_oidc_logout_cluster_get(wait) != NGX_OK) {
        /* Redis went away meanwhile: on without it */
        ngx_http_oidc_logout_cluster_resume(wait->r);
    }
}

static void
ngx_http_oidc_logout_cluster_forget_retry(void *data)
{
    ngx_http_oidc_logout_waiting_t *wait = data;

    if (wait->retry.timer_set) {
        ngx_del_timer(&wait->retry);
    }
}

static void
ngx_http_oidc_logout_cluster_fetched(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_waiting_t *wait = data;
    ngx_http_request_t *r = wait->r;
    ngx_http_oidc_logout_zone_t *zone = wait->cl->zone;

    if (ngx_http_oidc_logout_cluster_closing) {
        return;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_NIL && wait->count < 2 &&
        wait->cl->up &&
        !ol_cluster_knows(zone->store, &zone->arena,
                          (const char *)wait->handle.data, wait->handle.len,
                          (uint64_t)ngx_time())) {
        /* never heard of (an ended session's cookie reads as an empty
         * record): a login answered on another node an instant ago, its
         * write taken by Redis in the same turn as this read; asked
         * again 5 ms, then 50 ms later */
        ngx_add_timer(&wait->retry, wait->count++ ? 50 : 5);
        return;
    }
    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        ctx = ngx_http_get_module_ctx(r->main, ngx_http_oidc_logout_module);
        if (ctx != NULL) {
            ctx->cluster_asked = 1;
        }
    }
    if (ngx_http_oidc_logout_cluster_string(reply) && reply->len > 0 &&
        ol_cluster_import(zone->store, &zone->arena, reply->str, reply->len,
                          (uint64_t)ngx_time()) == OL_INVALID) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "oidc_logout: zone \"%V\": redis %V holds a session "
                      "record this module cannot read",
                      &zone->name, &zone->redis->name);
    }
    ngx_http_oidc_logout_cluster_resume(r);
}

/* Preaccess: a cookie whose session the zone does not know (or a request
 * that may change or end it) is read from Redis first. */
static ngx_int_t
ngx_http_oidc_logout_cluster_handler(ngx_http_request_t *r)
{
    ngx_uint_t fresh;
    ngx_http_cleanup_t *cln;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_cluster_t *cl;
    ngx_http_oidc_logout_waiting_t *wait;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    if (lcf->session == NULL) {
        return NGX_DECLINED;
    }
    zone = lcf->session->shm_zone->data;
    cl = zone->cluster;
    if (cl == NULL || !cl->up) {
        return NGX_DECLINED; /* Redis down: this node's sessions */
    }

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ctx->cluster_read || ctx->handle.len != OL_ID_TEXT_LEN) {
        return NGX_DECLINED; /* no cookie, or none this module makes */
    }
    ctx->cluster_read = 1;

    /* a logout, a login, a join, the provider's answers: Redis's copy,
     * which other nodes may have changed */
    fresh = lcf->mode || lcf->login || lcf->join ||
            lcf->authorization_endpoint || lcf->token_endpoint ||
            ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_STALE, -1);
    if (!fresh && lcf->require_session == 1) {
        /* the lookup require_session makes, made once */
        if (ol_session_find(zone->store, &zone->arena,
                            (const char *)ctx->handle.data, ctx->handle.len,
                            ngx_time(), 1, NULL) == OL_OK) {
            ctx->session_live = 1;
            return NGX_DECLINED;
        }
    } else if (!fresh &&
               ol_cluster_knows(zone->store, &zone->arena,
                                (const char *)ctx->handle.data, ctx->handle.len,
                                (uint64_t)ngx_time())) {
        return NGX_DECLINED;
    }
    if (ol_cluster_handle_ended(zone->store, &zone->arena,
                                (const char *)ctx->handle.data, ctx->handle.len,
                                (uint64_t)ngx_time())) {
        ctx->cluster_asked = 1; /* known: nothing to end once Redis is back */
        return NGX_DECLINED;
    }

    wait = ngx_pcalloc(r->pool, sizeof(ngx_http_oidc_logout_waiting_t));
    if (wait == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    wait->r = r;
    wait->cl = cl;

    wait->handle = ctx->handle;
    wait->retry.handler = ngx_http_oidc_logout_cluster_ask_again;
    wait->retry.data = wait;
    wait->retry.log = r->connection->log;
    wait->retry.cancelable = 1;
    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_oidc_logout_cluster_forget_retry;
    cln->data = wait;
    if (ngx_http_oidc_logout_cluster_get(wait) != NGX_OK) {
        return NGX_DECLINED;
    }

    r->main->count++;
    return NGX_DONE;
}

static void
ngx_http_oidc_logout_cluster_decided(void *data, redisReply *reply)
{
    ngx_uint_t won;
    ngx_connection_t *c;
    ngx_http_oidc_logout_waiting_t *wait = data;
    ngx_http_request_t *r = wait->r;

    if (ngx_http_oidc_logout_cluster_closing) {
        return;
    }
    won = 1;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements == 1) {
        won = ngx_http_oidc_logout_cluster_won(wait->cl->zone, wait->sid,
                                               reply->element[0]);
    }
    c = r->connection;
    wait->done(r, won);
    ngx_http_run_posted_requests(c);
}

ngx_int_t
ngx_http_oidc_logout_cluster_verdict(ngx_http_request_t *r,
                                     ngx_http_oidc_logout_zone_t *zone,
                                     const char *sid,
                                     ngx_http_oidc_logout_verdict_pt done)
{
    char cause[4];
    const char *args[5];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    ngx_http_oidc_logout_waiting_t *wait;
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    if (cl == NULL) {
        return NGX_DECLINED;
    }
    ngx_http_oidc_logout_cluster_changed(zone);
    if (!cl->up || sid == NULL) {
        return NGX_DECLINED; /* Redis down: this node tells them */
    }

    wait = ngx_pcalloc(r->pool, sizeof(ngx_http_oidc_logout_waiting_t));
    if (wait == NULL) {
        return NGX_DECLINED;
    }
    wait->r = r;
    wait->cl = cl;
    wait->done = done;
    ngx_cpystrn((u_char *)wait->sid, (u_char *)sid, sizeof(wait->sid));

    ngx_sprintf((u_char *)cause, "%d%Z", OL_END_LOGOUT);
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    args[1] = cl->node;
    args[2] = cl->mark_ttl;
    args[3] = wait->sid;
    args[4] = cause;
    if (ngx_http_oidc_logout_cluster_eval(cl->redis, OL_SCRIPT_END,
                                          ngx_http_oidc_logout_cluster_decided,
                                          wait, 5, args, NULL) != NGX_OK) {
        return NGX_DECLINED;
    }

    /* a content handler's NGX_DONE gives this reference back */
    r->main->count++;
    return NGX_DONE;
}

static void
ngx_http_oidc_logout_cluster_loaded(void *data, redisReply *reply)
{
    size_t i;
    ngx_connection_t *c;
    ngx_http_oidc_logout_waiting_t *wait = data;
    ngx_http_request_t *r = wait->r;
    ngx_http_oidc_logout_zone_t *zone = wait->cl->zone;

    if (ngx_http_oidc_logout_cluster_closing) {
        return;
    }
    for (i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
                i < reply->elements;
         i++) {
        if (ngx_http_oidc_logout_cluster_string(reply->element[i])) {
            (void)ol_cluster_import(
                zone->store, &zone->arena, reply->element[i]->str,
                reply->element[i]->len, (uint64_t)ngx_time());
        }
    }
    c = r->connection;
    ngx_http_finalize_request(r, wait->again(r));
    ngx_http_run_posted_requests(c);
}

ngx_int_t
ngx_http_oidc_logout_cluster_load(ngx_http_request_t *r,
                                  ngx_http_oidc_logout_zone_t *zone, int kind,
                                  ngx_str_t *value, ngx_http_handler_pt again)
{
    char kind_text[2];
    const char *args[3];
    size_t lens[3];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    ngx_http_oidc_logout_waiting_t *wait;
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    if (cl == NULL || !cl->up || kind == 0) {
        return NGX_DECLINED;
    }
    wait = ngx_pcalloc(r->pool, sizeof(ngx_http_oidc_logout_waiting_t));
    if (wait == NULL) {
        return NGX_DECLINED;
    }
    wait->r = r;
    wait->cl = cl;
    wait->again = again;

    kind_text[0] = (char)kind;
    kind_text[1] = '\0';
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    lens[0] = (size_t)-1;
    args[1] = kind_text;
    lens[1] = 1;
    args[2] = (const char *)value->data;
    lens[2] = value->len;
    if (ngx_http_oidc_logout_cluster_eval(cl->redis, OL_SCRIPT_LOAD,
                                          ngx_http_oidc_logout_cluster_loaded,
                                          wait, 3, args, lens) != NGX_OK) {
        return NGX_DECLINED;
    }

    r->main->count++;
    return NGX_DONE;
}

/* ---- configuration and processes ----------------------------------------- */

ngx_int_t
ngx_http_oidc_logout_cluster_init(ngx_conf_t *cf)
{
    ngx_uint_t i, j, found;
    ngx_shm_zone_t **zones;
    ngx_http_handler_pt *h;
    ngx_http_oidc_logout_zone_t *other;
    ngx_http_core_main_conf_t *cmcf;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_zone_t *zone;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    zones = omcf->zones.elts;
    found = 0;
    for (i = 0; i < omcf->zones.nelts; i++) {
        zone = zones[i]->data;
        if (zone->redis == NULL) {
            continue;
        }
        found = 1;
        /* two zones under one prefix would mix their sessions */
        for (j = 0; j < i; j++) {
            other = zones[j]->data;
            if (other->redis != NULL &&
                other->redis->name.len == zone->redis->name.len &&
                ngx_strncmp(other->redis->name.data, zone->redis->name.data,
                            zone->redis->name.len) == 0 &&
                other->redis_prefix.len == zone->redis_prefix.len &&
                ngx_strncmp(other->redis_prefix.data, zone->redis_prefix.data,
                            zone->redis_prefix.len) == 0) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "oidc_logout: zones \"%V\" and \"%V\" use "
                              "the same redis %V and redis_prefix \"%V\": "
                              "their sessions would mix in %V:%ui",
                              &other->name, &zone->name, &zone->redis->name,
                              &zone->redis_prefix, &zone->file, zone->line);
                return NGX_ERROR;
            }
        }
    }
    if (!found) {
        return NGX_OK; /* no zone in Redis: nothing runs per request */
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_oidc_logout_cluster_handler;
    return NGX_OK;
}
