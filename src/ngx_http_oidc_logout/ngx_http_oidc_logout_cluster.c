/*
 * ngx_http_oidc_logout_module: sessions shared by nodes through Redis
 * (oidc_logout_zone ... redis=).
 *
 * The zone is each node's cache; Redis (src/core/redis_model.cpp) holds the
 * sessions.  In every worker: a session cookie the zone does not know is
 * read from Redis before the module's handlers run (preaccess); changed
 * sessions are written at once; ends made here are published, and Redis's
 * answer says which node tells the clients.  In worker 0 only, every
 * second: the touches are written (they push the deadlines), the sessions
 * due are ended by Redis for this node to notify, and a second connection
 * reads the stream of ends, which every node's cache applies.  Without
 * Redis the nodes go on with their caches; one line says so, one line
 * says when it is back.
 */

#include "ngx_http_oidc_logout_cluster.h"

#include <openssl/rand.h>

ngx_uint_t ngx_http_oidc_logout_cluster_closing;

/* ---- commands ------------------------------------------------------------ */

/* An EVAL of script with args (C strings, or lens given). */
ngx_int_t
ngx_http_oidc_logout_cluster_eval(ngx_http_oidc_logout_redis_t *redis,
                                  ol_cluster_script script,
                                  ngx_http_oidc_logout_redis_reply_pt on_reply,
                                  void *data, int nargs, const char **args,
                                  const size_t *lens)
{
    int i;
    const char *argv[NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS + 3];
    size_t argvlen[NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS + 3];

    if (nargs > NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argv[1] = ol_cluster_script_text(script);
    argv[2] = "0";
    for (i = 0; i < 3; i++) {
        argvlen[i] = ngx_strlen(argv[i]);
    }
    for (i = 0; i < nargs; i++) {
        argv[3 + i] = args[i];
        argvlen[3 + i] = lens != NULL && lens[i] != (size_t)-1
                             ? lens[i]
                             : ngx_strlen(args[i]);
    }

    return ngx_http_oidc_logout_redis_command(redis, 0, on_reply, data,
                                              3 + nargs, argv, argvlen);
}

/* The prefix, and "prefix" again as a C string into buf. */
const char *
ngx_http_oidc_logout_cluster_prefix(ngx_http_oidc_logout_cluster_t *cl,
                                    u_char *buf)
{
    *ngx_cpymem(buf, cl->zone->redis_prefix.data, cl->zone->redis_prefix.len) =
        '\0';
    return (const char *)buf;
}

/* prefix, then what, then value (len bytes) into buf (KEY bytes). */
size_t
ngx_http_oidc_logout_cluster_key(ngx_http_oidc_logout_cluster_t *cl,
                                 u_char *buf, const char *what,
                                 const u_char *value, size_t len)
{
    u_char *p;
    size_t what_len = ngx_strlen(what);

    if (cl->zone->redis_prefix.len + what_len + len >
        NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY) {
        return 0;
    }
    p = ngx_cpymem(buf, cl->zone->redis_prefix.data,
                   cl->zone->redis_prefix.len);
    p = ngx_cpymem(p, what, what_len);
    p = ngx_cpymem(p, value, len);
    return p - buf;
}

ngx_uint_t
ngx_http_oidc_logout_cluster_string(redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_STRING;
}

/* ---- the connection ------------------------------------------------------ */

static void
ngx_http_oidc_logout_cluster_secret(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_t *cl = data;

    if (ngx_http_oidc_logout_cluster_closing ||
        !ngx_http_oidc_logout_cluster_string(reply)) {
        return;
    }
    /* anti-CSRF tokens made by one node are taken by the others */
    ol_cluster_set_secret(cl->zone->store, &cl->zone->arena,
                          (const uint8_t *)reply->str, reply->len);
}

/* A fresh secret offered: Redis keeps the first one a node offered, and
 * answers the one it keeps. */
static void
ngx_http_oidc_logout_cluster_offer_secret(ngx_http_oidc_logout_cluster_t *cl)
{
    const char *args[2];
    size_t lens[2];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1], secret[32];

    if (RAND_bytes(secret, sizeof(secret)) == 1) {
        args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
        lens[0] = (size_t)-1;
        args[1] = (const char *)secret;
        lens[1] = sizeof(secret);
        (void)ngx_http_oidc_logout_cluster_eval(
            cl->redis, OL_SCRIPT_SECRET, ngx_http_oidc_logout_cluster_secret,
            cl, 2, args, lens);
    }
}

static void
ngx_http_oidc_logout_cluster_state(void *data, ngx_uint_t up,
                                   const char *reason)
{
    ngx_http_oidc_logout_cluster_t *cl = data;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (ngx_http_oidc_logout_cluster_closing) {
        return;
    }

    cl->up = up ? 1 : 0;

    /* one line a node (the zone's flag), not one a worker */
    if (!up) {
        if (ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_DOWN, 1)) {
            ngx_log_error(NGX_LOG_ERR, cl->log, 0,
                          "oidc_logout: zone \"%V\": redis %V unreachable: "
                          "%s; going on with this node's sessions",
                          &zone->name, &zone->redis->name, reason);
        }
        return;
    }

    if (ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_DOWN, 0)) {
        ngx_log_error(NGX_LOG_ERR, cl->log, 0,
                      "oidc_logout: zone \"%V\": redis %V reachable again",
                      &zone->name, &zone->redis->name);
    }

    ngx_http_oidc_logout_cluster_offer_secret(cl);

    /* what changed or ended meanwhile */
    ngx_http_oidc_logout_cluster_changed(zone);
}

/* ---- ends told to Redis -------------------------------------------------- */

/* Redis's answer for one sid of an OL_SCRIPT_END: whether this node won,
 * and the record it knew. */
ngx_uint_t
ngx_http_oidc_logout_cluster_won(ngx_http_oidc_logout_zone_t *zone,
                                 const char *sid, redisReply *e)
{
    ngx_uint_t won;
    redisReply *rec;

    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
        e->element[0]->type != REDIS_REPLY_INTEGER) {
        return 1; /* unknown: this node tells them */
    }
    won = e->element[0]->integer != 0;
    rec = e->elements > 1 ? e->element[1] : NULL;
    if (ol_cluster_published(
            zone->store, &zone->arena, sid, (int)won,
            ngx_http_oidc_logout_cluster_string(rec) ? rec->str : NULL,
            ngx_http_oidc_logout_cluster_string(rec) ? rec->len : 0,
            (uint64_t)ngx_time())) {
        /* once, whichever worker's answer came first */
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "oidc_logout: zone \"%V\": session %s ended: %s tells "
                      "its clients",
                      &zone->name, sid, won ? "this node" : "another node");
    }
    return won;
}

/* An error Redis answered (a wrong type in a key, no memory, a replica):
 * one line a minute per worker. */
void
ngx_http_oidc_logout_cluster_failed(ngx_http_oidc_logout_cluster_t *cl,
                                    const char *what, redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR ||
        ngx_time() - cl->failed_logged < 60) {
        return;
    }
    cl->failed_logged = ngx_time();
    ngx_log_error(NGX_LOG_ERR, cl->log, 0,
                  "oidc_logout: zone \"%V\": redis %V refused %s: %*s",
                  &cl->zone->name, &cl->zone->redis->name, what,
                  (size_t)(reply->len > 200 ? 200 : reply->len), reply->str);
}

static void
ngx_http_oidc_logout_cluster_published(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_write_t *p = data;
    ngx_http_oidc_logout_cluster_t *cl = p->cl;

    if (!ngx_http_oidc_logout_cluster_closing && reply != NULL &&
        reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
        (void)ngx_http_oidc_logout_cluster_won(cl->zone, p->sid,
                                               reply->element[0]);
        cl->published++;
    } else {
        /* published again at the next tick */
        ngx_http_oidc_logout_cluster_failed(cl, "an end", reply);
    }
    ngx_free(p);
    if (--cl->publishing == 0 && cl->published &&
        !ngx_http_oidc_logout_cluster_closing) {
        /* the deliveries of the ends this node won start now */
        ngx_http_oidc_logout_sweep_now(cl->zone);
    }
}

/* A logout of a session this node did not know, made while Redis was
 * unreachable: Redis ended it (this node notifies), or had nothing to
 * end. */
static void
ngx_http_oidc_logout_cluster_handle_ended(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_write_t *p = data;
    ngx_http_oidc_logout_cluster_t *cl = p->cl;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;
    redisReply *rec;

    if (!ngx_http_oidc_logout_cluster_closing && reply != NULL &&
        reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1) {
        rec = reply->elements >= 2 ? reply->element[1] : NULL;
        if (ngx_http_oidc_logout_cluster_string(rec) &&
            ol_cluster_enqueue(zone->store, &zone->arena, rec->str, rec->len,
                               OL_END_LOGOUT, (uint64_t)ngx_time()) == OL_OK) {
            cl->published++;
        }
        ol_cluster_handle_published(zone->store, &zone->arena, p->sid);
    } else {
        ngx_http_oidc_logout_cluster_failed(cl, "a logout", reply);
    }
    ngx_free(p);
    if (--cl->publishing == 0 && cl->published &&
        !ngx_http_oidc_logout_cluster_closing) {
        ngx_http_oidc_logout_sweep_now(zone);
    }
}

/* One end to publish (a sid, or a cookie value): its script sent; whether
 * the next one may go. */
static ngx_uint_t
ngx_http_oidc_logout_cluster_publish_one(
    ngx_http_oidc_logout_cluster_t *cl, ol_cluster_script script,
    ngx_http_oidc_logout_redis_reply_pt on_reply, const char **args,
    const char *id, const char *cause)
{
    ngx_http_oidc_logout_write_t *p;

    p = ngx_alloc(sizeof(ngx_http_oidc_logout_write_t), cl->log);
    if (p == NULL) {
        return 0;
    }
    p->cl = cl;
    ngx_memcpy(p->sid, id, sizeof(p->sid));
    args[3] = p->sid;
    args[4] = cause;
    if (ngx_http_oidc_logout_cluster_eval(cl->redis, script, on_reply, p, 5,
                                          args, NULL) != NGX_OK) {
        ngx_free(p);
        return 0;
    }
    cl->publishing++;
    return 1;
}

/* The ends made here that Redis has not heard of: one script each, so
 * that one that fails does not hold up the others. */
static void
ngx_http_oidc_logout_cluster_publish(ngx_http_oidc_logout_cluster_t *cl)
{
    size_t i, n;
    const char *args[5];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    char sids[NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH][OL_ID_TEXT_LEN + 1];
    ol_end_cause causes[NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH];
    static const char *cause_text[] = {"0", "1", "2", "3", "4", "5", "6"};

    if (cl->publishing) {
        return;
    }
    n = ol_cluster_unpublished(cl->zone->store, &cl->zone->arena, sids, causes,
                               NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH);
    cl->published = 0;
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    args[1] = cl->node;
    args[2] = cl->mark_ttl;
    for (i = 0; i < n; i++) {
        if (!ngx_http_oidc_logout_cluster_publish_one(
                cl, OL_SCRIPT_END, ngx_http_oidc_logout_cluster_published, args,
                sids[i],
                causes[i] < OL_END_CAUSES ? cause_text[causes[i]] : "0")) {
            return;
        }
    }

    /* cookies logged out here while Redis was away */
    n = ol_cluster_unpublished_handles(cl->zone->store, &cl->zone->arena, sids,
                                       NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH);
    for (i = 0; i < n; i++) {
        if (!ngx_http_oidc_logout_cluster_publish_one(
                cl, OL_SCRIPT_END_HANDLE,
                ngx_http_oidc_logout_cluster_handle_ended, args, sids[i],
                cause_text[OL_END_LOGOUT])) {
            return;
        }
    }
}

/* ---- changes written to Redis -------------------------------------------- */

/* One write fewer in flight: the changes that waited for them go now. */
static void
ngx_http_oidc_logout_cluster_wrote(ngx_http_oidc_logout_cluster_t *cl)
{
    if (--cl->writes == 0 && cl->write_again) {
        cl->write_again = 0;
        ngx_http_oidc_logout_cluster_changed(cl->zone);
    }
}

static void
ngx_http_oidc_logout_cluster_written(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_write_t *w = data;
    ngx_http_oidc_logout_cluster_t *cl = w->cl;

    ngx_http_oidc_logout_cluster_failed(cl, "a session", reply);
    if (!ngx_http_oidc_logout_cluster_closing && reply != NULL &&
        (reply->type == REDIS_REPLY_INTEGER ||
         reply->type == REDIS_REPLY_STRING)) {
        /* 0: it ended meanwhile (the stream says so): written all the
         * same */
        ol_cluster_written(cl->zone->store, &cl->zone->arena, w->sid,
                           w->changed, (uint64_t)ngx_time());
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
            /* it had ended, and this write added nobody to tell */
            (void)ol_cluster_forget(cl->zone->store, &cl->zone->arena, w->sid,
                                    ngx_strlen(w->sid), (uint64_t)ngx_time());
        }
        if (reply->type == REDIS_REPLY_STRING &&
            ol_cluster_enqueue(cl->zone->store, &cl->zone->arena, reply->str,
                               reply->len, OL_END_LOGOUT,
                               (uint64_t)ngx_time()) == OL_OK) {
            /* its cookie was logged out on a node that could not reach
             * Redis: it ended now, this node tells its clients */
            ngx_http_oidc_logout_sweep_now(cl->zone);
        }
    }
    ngx_free(w);
    ngx_http_oidc_logout_cluster_wrote(cl);
}

static void
ngx_http_oidc_logout_cluster_touched(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_wrote(data);
}

/* One changed session written whole (OL_SCRIPT_PUT). */
static ngx_int_t
ngx_http_oidc_logout_cluster_put(ngx_http_oidc_logout_cluster_t *cl,
                                 ol_cluster_session *s)
{
    size_t j;
    int nargs;
    ngx_http_oidc_logout_write_t *w;
    const char *args[NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS];
    size_t lens[NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    char deadline[NGX_INT_T_LEN + 1], lifetime[NGX_INT_T_LEN + 1];

    if (s->provider_sid_count > NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS - 9) {
        return NGX_OK; /* cannot be: a session's data is 1024 bytes */
    }
    w = ngx_alloc(sizeof(ngx_http_oidc_logout_write_t), cl->log);
    if (w == NULL) {
        return NGX_ERROR;
    }
    w->cl = cl;
    w->changed = s->changed;
    ngx_cpystrn((u_char *)w->sid, (u_char *)s->sid, sizeof(w->sid));
    ngx_sprintf((u_char *)deadline, "%uD%Z", s->deadline);
    ngx_sprintf((u_char *)lifetime, "%uD%Z", s->lifetime_end);
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    lens[0] = (size_t)-1;
    args[1] = s->sid;
    lens[1] = (size_t)-1;
    args[2] = s->handle;
    lens[2] = (size_t)-1;
    args[3] = s->sub;
    lens[3] = s->sub_len;
    args[4] = s->record;
    lens[4] = s->record_len;
    args[5] = deadline;
    lens[5] = (size_t)-1;
    args[6] = lifetime;
    lens[6] = (size_t)-1;
    nargs = 7;
    for (j = 0; j < s->provider_sid_count; j++) {
        args[nargs] = s->provider_sids[j];
        lens[nargs++] = (size_t)-1;
    }
    args[nargs] = cl->node;
    lens[nargs++] = (size_t)-1;
    args[nargs] = cl->mark_ttl;
    lens[nargs++] = (size_t)-1;
    if (ngx_http_oidc_logout_cluster_eval(cl->redis, OL_SCRIPT_PUT,
                                          ngx_http_oidc_logout_cluster_written,
                                          w, nargs, args, lens) != NGX_OK) {
        ngx_free(w);
        return NGX_ERROR;
    }
    cl->writes++;
    return NGX_OK;
}

/* The moved deadlines of the unchanged sessions of list: one ZADD XX GT
 * (a session ended meanwhile is not added back, a later deadline written
 * by another node is kept). */
static void
ngx_http_oidc_logout_cluster_touch(ngx_http_oidc_logout_cluster_t *cl,
                                   ol_cluster_sessions *list)
{
    size_t i, n, t;
    u_char *scores, *p;
    const char **argv;
    size_t *argvlen;
    ol_cluster_session s;
    u_char key[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY];

    n = ol_cluster_sessions_count(list);
    argv = ngx_alloc((4 + 2 * n) * (sizeof(char *) + sizeof(size_t)) +
                         n * NGX_INT_T_LEN,
                     cl->log);
    if (argv == NULL) {
        return;
    }
    argvlen = (size_t *)(argv + 4 + 2 * n);
    scores = (u_char *)(argvlen + 4 + 2 * n);

    argv[0] = "ZADD";
    argv[1] = (const char *)key;
    argvlen[1] = ngx_http_oidc_logout_cluster_key(cl, key, "x", NULL, 0);
    argv[2] = "XX";
    argv[3] = "GT";
    argvlen[0] = 4;
    argvlen[2] = argvlen[3] = 2;
    t = 4;
    p = scores;
    for (i = 0; i < n; i++) {
        ol_cluster_session_get(list, i, &s);
        if (s.changed || s.deadline == 0) {
            continue;
        }
        argv[t] = (const char *)p;
        p = ngx_sprintf(p, "%uD", s.deadline);
        argvlen[t] = p - (u_char *)argv[t];
        argv[t + 1] = s.sid;
        argvlen[t + 1] = ngx_strlen(s.sid);
        t += 2;
    }
    if (t > 4 && ngx_http_oidc_logout_redis_command(
                     cl->redis, 0, ngx_http_oidc_logout_cluster_touched, cl,
                     (int)t, argv, argvlen) == NGX_OK) {
        cl->writes++;
    }
    ngx_free(argv);
}

/* The sessions used since since are written: the changed ones whole, and
 * (with touches) the deadlines that moved; whether all of them were sent
 * (none left for the next time). */
static ngx_uint_t
ngx_http_oidc_logout_cluster_write(ngx_http_oidc_logout_cluster_t *cl,
                                   time_t since, ngx_uint_t touches)
{
    size_t i, n, max;
    ol_cluster_session s;
    ol_cluster_sessions *list;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (cl->writes) {
        cl->write_again = 1; /* after the last batch */
        return 0;
    }

    max = touches ? NGX_HTTP_OIDC_LOGOUT_CLUSTER_TOUCHES
                  : NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH;
    list = ol_cluster_changes(zone->store, &zone->arena, (uint64_t)since,
                              !touches, max);
    if (list == NULL) {
        return 0;
    }
    n = ol_cluster_sessions_count(list);
    for (i = 0; i < n; i++) {
        ol_cluster_session_get(list, i, &s);
        if (s.changed && ngx_http_oidc_logout_cluster_put(cl, &s) != NGX_OK) {
            break;
        }
    }
    if (touches) {
        ngx_http_oidc_logout_cluster_touch(cl, list);
    }
    ol_cluster_sessions_free(list);
    return i == n && n < max;
}

static void
ngx_http_oidc_logout_cluster_flush(ngx_event_t *ev)
{
    ngx_http_oidc_logout_cluster_t *cl = ev->data;

    if (ngx_http_oidc_logout_cluster_closing || !cl->up) {
        return;
    }
    ngx_http_oidc_logout_cluster_publish(cl);
    ngx_http_oidc_logout_cluster_write(
        cl, ngx_time() - NGX_HTTP_OIDC_LOGOUT_CLUSTER_RECENT, 0);
}

void
ngx_http_oidc_logout_cluster_changed(ngx_http_oidc_logout_zone_t *zone)
{
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    if (cl != NULL && cl->up && !cl->flush.posted) {
        ngx_post_event(&cl->flush, &ngx_posted_events);
    }
}

void
ngx_http_oidc_logout_cluster_write_now(ngx_http_oidc_logout_zone_t *zone,
                                       ngx_str_t *handle)
{
    ol_cluster_session s;
    ol_cluster_sessions *list;
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    if (cl == NULL || !cl->up || ngx_http_oidc_logout_cluster_closing) {
        return; /* written once Redis is back */
    }
    list = ol_cluster_change_of(zone->store, &zone->arena,
                                (const char *)handle->data, handle->len,
                                (uint64_t)ngx_time());
    if (list != NULL && ol_cluster_sessions_count(list) == 1) {
        ol_cluster_session_get(list, 0, &s);
        (void)ngx_http_oidc_logout_cluster_put(cl, &s);
    }
    ol_cluster_sessions_free(list);
    /* and whatever else changed */
    ngx_http_oidc_logout_cluster_changed(zone);
}

/* ---- what Redis ends: expiry --------------------------------------------- */

/* Records Redis ended for this node to notify: {sid, cause, record} or
 * {sid, record} (cause given) each. */
void
ngx_http_oidc_logout_cluster_enqueue(ngx_http_oidc_logout_cluster_t *cl,
                                     redisReply *reply, ngx_int_t cause)
{
    size_t i;
    ngx_int_t c;
    ngx_uint_t queued;
    redisReply *e, *rec;

    queued = 0;
    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) {
            continue;
        }
        c = cause;
        rec = e->element[1];
        if (cause < 0 && e->elements >= 3) {
            c = ngx_http_oidc_logout_cluster_string(e->element[1])
                    ? ngx_atoi((u_char *)e->element[1]->str, e->element[1]->len)
                    : NGX_ERROR;
            rec = e->element[2];
        }
        if (c >= 0 && c < OL_END_CAUSES &&
            ngx_http_oidc_logout_cluster_string(rec)) {
            queued += ol_cluster_enqueue(cl->zone->store, &cl->zone->arena,
                                         rec->str, rec->len, (ol_end_cause)c,
                                         (uint64_t)ngx_time()) == OL_OK;
        }
    }
    if (queued) {
        /* their deliveries start now */
        ngx_http_oidc_logout_sweep_now(cl->zone);
    }
}

static void
ngx_http_oidc_logout_cluster_expired(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_t *cl = data;

    cl->expiring = 0;
    if (ngx_http_oidc_logout_cluster_closing || reply == NULL ||
        reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_oidc_logout_cluster_failed(cl, "the expiry", reply);
        return;
    }
    ngx_http_oidc_logout_cluster_enqueue(cl, reply, -1);
}

static void
ngx_http_oidc_logout_cluster_expire(ngx_http_oidc_logout_cluster_t *cl)
{
    const char *args[7];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    char now[NGX_INT_T_LEN + 1], idle[4], lifetime[4], max[8];

    if (cl->expiring) {
        return;
    }
    ngx_sprintf((u_char *)now, "%T%Z",
                ngx_time() - NGX_HTTP_OIDC_LOGOUT_CLUSTER_GRACE -
                    cl->zone->idle / 16);
    ngx_sprintf((u_char *)idle, "%d%Z", OL_END_IDLE);
    ngx_sprintf((u_char *)lifetime, "%d%Z", OL_END_LIFETIME);
    ngx_sprintf((u_char *)max, "%d%Z", NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH);
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    args[1] = cl->node;
    args[2] = cl->mark_ttl;
    args[3] = now;
    args[4] = max;
    args[5] = idle;
    args[6] = lifetime;
    if (ngx_http_oidc_logout_cluster_eval(cl->redis, OL_SCRIPT_EXPIRE,
                                          ngx_http_oidc_logout_cluster_expired,
                                          cl, 7, args, NULL) == NGX_OK) {
        cl->expiring = 1;
    }
}

static void
ngx_http_oidc_logout_cluster_ended_by(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_t *cl = data;

    if (ngx_http_oidc_logout_cluster_closing || reply == NULL ||
        reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_oidc_logout_cluster_failed(cl, "an upstream logout", reply);
        return;
    }
    ngx_http_oidc_logout_cluster_enqueue(cl, reply, OL_END_UPSTREAM);
}

void
ngx_http_oidc_logout_cluster_end_by(ngx_http_oidc_logout_zone_t *zone,
                                    ol_response *resp)
{
    int kind;
    char kind_text[2], cause[4];
    const char *value, *psid, *args[7];
    size_t value_len, psid_len, lens[7];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    kind = ol_response_cluster_end(resp, &value, &value_len, &psid, &psid_len);
    if (cl == NULL || kind == 0) {
        return;
    }
    /* the ends this node made itself */
    ngx_http_oidc_logout_cluster_changed(zone);
    if (!cl->up) {
        return;
    }
    kind_text[0] = (char)kind;
    kind_text[1] = '\0';
    ngx_sprintf((u_char *)cause, "%d%Z", OL_END_UPSTREAM);
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    lens[0] = (size_t)-1;
    args[1] = cl->node;
    lens[1] = (size_t)-1;
    args[2] = cl->mark_ttl;
    lens[2] = (size_t)-1;
    args[3] = cause;
    lens[3] = (size_t)-1;
    args[4] = kind_text;
    lens[4] = 1;
    args[5] = value;
    lens[5] = value_len;
    args[6] = psid;
    lens[6] = psid_len;
    (void)ngx_http_oidc_logout_cluster_eval(
        cl->redis, OL_SCRIPT_END_BY, ngx_http_oidc_logout_cluster_ended_by, cl,
        7, args, lens);
}

/* ---- remembered values (worker 0) ---------------------------------------- */

static void
ngx_http_oidc_logout_cluster_memo_added(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_t *cl = data;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        cl->memos_failed++;
    }
    if (--cl->memos == 0 && !cl->memos_failed &&
        !ngx_http_oidc_logout_cluster_closing) {
        ol_cluster_memos_published(cl->zone->store, &cl->zone->arena,
                                   cl->memos_upto);
    }
}

/* What this node remembered (codes, revoked cookies, jtis) goes on the
 * stream, for the others to remember too. */
static void
ngx_http_oidc_logout_cluster_remembered(ngx_http_oidc_logout_cluster_t *cl)
{
    int n;
    size_t i, count;
    u_char key[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY];
    u_char nums[3][NGX_INT_T_LEN];
    const char *argv[18];
    size_t argvlen[18];
    ol_cluster_memo memos[NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH];

    if (cl->memos) {
        return;
    }
    count =
        ol_cluster_memos(cl->zone->store, &cl->zone->arena, memos,
                         NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH, &cl->memos_upto);
    cl->memos_failed = 0;
    for (i = 0; i < count; i++) {
        /* XADD e MAXLEN ~ 100000 * m table k key i sid h hash x expires
         * n node */
        argv[0] = "XADD";
        argv[1] = (const char *)key;
        argvlen[1] = ngx_http_oidc_logout_cluster_key(cl, key, "e", NULL, 0);
        argv[2] = "MAXLEN";
        argv[3] = "~";
        argv[4] = "100000";
        argv[5] = "*";
        argv[6] = "m";
        argv[7] = (const char *)nums[0];
        argvlen[7] = ngx_sprintf(nums[0], "%uD", memos[i].table) - nums[0];
        argv[8] = "k";
        argv[9] = (const char *)memos[i].key;
        argvlen[9] = sizeof(memos[i].key);
        argv[10] = "i";
        argv[11] = (const char *)memos[i].sid;
        argvlen[11] = sizeof(memos[i].sid);
        argv[12] = "h";
        argv[13] = (const char *)nums[1];
        argvlen[13] =
            ngx_sprintf(nums[1], "%uD", memos[i].client_hash) - nums[1];
        argv[14] = "x";
        argv[15] = (const char *)nums[2];
        argvlen[15] = ngx_sprintf(nums[2], "%uD", memos[i].expires) - nums[2];
        argv[16] = "n";
        argv[17] = cl->node;
        for (n = 0; n < 18; n++) {
            if (n != 1 && n != 7 && n != 9 && n != 11 && n != 13 && n != 15) {
                argvlen[n] = ngx_strlen(argv[n]);
            }
        }
        if (ngx_http_oidc_logout_redis_command(
                cl->redis, 0, ngx_http_oidc_logout_cluster_memo_added, cl, 18,
                argv, argvlen) != NGX_OK) {
            cl->memos_failed++;
            break;
        }
        cl->memos++;
    }
}

void
ngx_http_oidc_logout_cluster_stale(ngx_http_oidc_logout_cluster_t *cl,
                                   const char *why)
{
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_STALE, 1)) {
        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "oidc_logout: zone \"%V\": redis %V %s; checking this "
                      "node's cached sessions",
                      &zone->name, &zone->redis->name, why);
        cl->cursor = 0;
        cl->checked = 0;
        cl->gone = 0;
    }
}

/* Whether Redis still holds this node's secret: a Redis that lost its
 * data (restarted without it, flushed) lost the ends this node was to hear
 * of too, so that every cached session is checked against it; another
 * node may have made the secret again first. */
static void
ngx_http_oidc_logout_cluster_held(void *data, redisReply *reply)
{
    ngx_http_oidc_logout_cluster_t *cl = data;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (ngx_http_oidc_logout_cluster_closing || reply == NULL ||
        (reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING) ||
        (reply->type == REDIS_REPLY_STRING &&
         ol_cluster_secret_is(zone->store, &zone->arena,
                              (const uint8_t *)reply->str, reply->len))) {
        return;
    }
    ngx_http_oidc_logout_cluster_stale(cl, "lost its data");
    if (reply->type == REDIS_REPLY_STRING) {
        ol_cluster_set_secret(zone->store, &zone->arena,
                              (const uint8_t *)reply->str, reply->len);
        return;
    }
    ngx_http_oidc_logout_cluster_offer_secret(cl);
}

static void
ngx_http_oidc_logout_cluster_alive(ngx_http_oidc_logout_cluster_t *cl)
{
    u_char key[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY];
    const char *argv[2] = {"GET", (const char *)key};
    size_t argvlen[2];

    argvlen[0] = 3;
    argvlen[1] = ngx_http_oidc_logout_cluster_key(cl, key, "k", NULL, 0);
    (void)ngx_http_oidc_logout_redis_command(
        cl->redis, 0, ngx_http_oidc_logout_cluster_held, cl, 2, argv, argvlen);
}

/* ---- each second --------------------------------------------------------- */

void
ngx_http_oidc_logout_cluster_tick(ngx_http_oidc_logout_zone_t *zone)
{
    time_t now;
    ngx_http_oidc_logout_cluster_t *cl = zone->cluster;

    if (cl == NULL || !cl->up || ngx_http_oidc_logout_cluster_closing) {
        return;
    }

    ngx_http_oidc_logout_cluster_publish(cl);
    if (!cl->leader) {
        ngx_http_oidc_logout_cluster_write(
            cl, ngx_time() - NGX_HTTP_OIDC_LOGOUT_CLUSTER_RECENT, 0);
        return;
    }

    /* the rest once a second (the sweep's tick also runs when asked) */
    if (ngx_current_msec - cl->ticked < NGX_HTTP_OIDC_LOGOUT_CLUSTER_TIMEOUT) {
        return;
    }
    cl->ticked = ngx_current_msec;

    /* touches since the last ones written push the deadlines */
    now = ngx_time();
    ngx_http_oidc_logout_cluster_alive(cl);
    if (cl->writes == 0) {
        if (ngx_http_oidc_logout_cluster_write(cl, cl->touched - 1, 1)) {
            cl->touched = now; /* otherwise the rest next time */
        }
    }
    ngx_http_oidc_logout_cluster_expire(cl);
    ngx_http_oidc_logout_cluster_remembered(cl);
    ngx_http_oidc_logout_cluster_check(cl);
    ngx_http_oidc_logout_cluster_read(cl);
}

ngx_int_t
ngx_http_oidc_logout_cluster_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t i;
    ngx_shm_zone_t **zones;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_cluster_t *cl;
    ngx_http_oidc_logout_zone_t *zone;

    if (ngx_process != NGX_PROCESS_WORKER &&
        ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }
    omcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oidc_logout_module);
    if (omcf == NULL) {
        return NGX_OK;
    }

    ngx_http_oidc_logout_cluster_closing = 0;
    zones = omcf->zones.elts;
    for (i = 0; i < omcf->zones.nelts; i++) {
        zone = zones[i]->data;
        if (zone->redis == NULL || zone->store == NULL) {
            continue;
        }
        cl = ngx_pcalloc(cycle->pool, sizeof(ngx_http_oidc_logout_cluster_t));
        if (cl == NULL) {
            return NGX_ERROR;
        }
        cl->zone = zone;
        cl->log = cycle->log;
        cl->leader = ngx_process == NGX_PROCESS_SINGLE || ngx_worker == 0;
        cl->touched = ngx_time() - 60;
        ol_cluster_node(zone->store, &zone->arena, cl->node);
        /* an end's mark outlives any session that could come back */
        ngx_sprintf((u_char *)cl->mark_ttl, "%T%Z",
                    zone->lifetime ? zone->lifetime + 60 : 86400);
        cl->flush.handler = ngx_http_oidc_logout_cluster_flush;
        cl->flush.data = cl;
        cl->flush.log = cycle->log;
        zone->cluster = cl;

        cl->redis = ngx_http_oidc_logout_redis_open(
            zone->redis, NGX_HTTP_OIDC_LOGOUT_CLUSTER_TIMEOUT,
            ngx_http_oidc_logout_cluster_state, cl, cycle->log);
        if (cl->redis == NULL) {
            return NGX_ERROR;
        }
        if (cl->leader) {
            cl->reader = ngx_http_oidc_logout_redis_open(
                zone->redis, NGX_HTTP_OIDC_LOGOUT_CLUSTER_TIMEOUT,
                ngx_http_oidc_logout_cluster_reader_state, cl, cycle->log);
            if (cl->reader == NULL) {
                return NGX_ERROR;
            }
        }
    }
    return NGX_OK;
}

void
ngx_http_oidc_logout_cluster_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t i;
    ngx_shm_zone_t **zones;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_zone_t *zone;

    omcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oidc_logout_module);
    if (omcf == NULL) {
        return;
    }
    ngx_http_oidc_logout_cluster_closing = 1;
    zones = omcf->zones.elts;
    for (i = 0; i < omcf->zones.nelts; i++) {
        zone = zones[i]->data;
        if (zone->cluster == NULL) {
            continue;
        }
        if (zone->cluster->flush.posted) {
            ngx_delete_posted_event(&zone->cluster->flush);
        }
        if (zone->cluster->reader != NULL) {
            ngx_http_oidc_logout_redis_close(zone->cluster->reader);
        }
        ngx_http_oidc_logout_redis_close(zone->cluster->redis);
        zone->cluster = NULL;
    }
}
