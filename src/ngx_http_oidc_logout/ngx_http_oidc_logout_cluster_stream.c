/*
 * ngx_http_oidc_logout_module: cluster mode in worker 0: the stream of ends
 * that every node applies to its cache, read on a connection of its own,
 * and the check of the cache against Redis after ends were missed.
 */

#include "ngx_http_oidc_logout_cluster.h"

/* ---- the stream of ends (worker 0) ----------------------------------------
 */

/* "ms-seq" */
static ngx_uint_t
ngx_http_oidc_logout_cluster_id(redisReply *id, uint64_t *ms, uint64_t *seq)
{
    u_char *dash;

    if (!ngx_http_oidc_logout_cluster_string(id)) {
        return 0;
    }
    dash = ngx_strlchr((u_char *)id->str, (u_char *)id->str + id->len, '-');
    if (dash == NULL) {
        return 0;
    }
    *ms = (uint64_t)ngx_atoof((u_char *)id->str, dash - (u_char *)id->str);
    *seq =
        (uint64_t)ngx_atoof(dash + 1, (u_char *)id->str + id->len - dash - 1);
    return 1;
}

/* One entry of the stream: an end (s: its sid), or a value another node
 * remembered (m: its table, k, i, h, x; n: that node). */
static void
ngx_http_oidc_logout_cluster_apply(ngx_http_oidc_logout_cluster_t *cl,
                                   redisReply *fields)
{
    size_t k;
    ngx_int_t n;
    redisReply *name, *value, *sid, *memo[6];
    ol_cluster_memo m;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;
    static const char names[] = "mkihxn";

    sid = NULL;
    ngx_memzero(memo, sizeof(memo));
    for (k = 0; k + 1 < fields->elements; k += 2) {
        name = fields->element[k];
        value = fields->element[k + 1];
        if (!ngx_http_oidc_logout_cluster_string(name) || name->len != 1 ||
            !ngx_http_oidc_logout_cluster_string(value)) {
            continue;
        }
        if (name->str[0] == 's') {
            sid = value;
        } else if (ngx_strlchr((u_char *)names, (u_char *)names + 6,
                               name->str[0]) != NULL) {
            memo[ngx_strlchr((u_char *)names, (u_char *)names + 6,
                             name->str[0]) -
                 (u_char *)names] = value;
        }
    }

    if (sid != NULL) {
        (void)ol_cluster_forget(zone->store, &zone->arena, sid->str, sid->len,
                                (uint64_t)ngx_time());
        return;
    }
    for (k = 0; k < 6; k++) {
        if (memo[k] == NULL) {
            return;
        }
    }
    if (memo[1]->len != sizeof(m.key) || memo[2]->len != sizeof(m.sid) ||
        (memo[5]->len == ngx_strlen(cl->node) &&
         ngx_strncmp(memo[5]->str, cl->node, memo[5]->len) == 0)) {
        return; /* not one of ours, or this node's own */
    }
    ngx_memzero(&m, sizeof(m));
    n = ngx_atoi((u_char *)memo[0]->str, memo[0]->len);
    m.table = n == NGX_ERROR ? UINT32_MAX : (uint32_t)n;
    ngx_memcpy(m.key, memo[1]->str, sizeof(m.key));
    ngx_memcpy(m.sid, memo[2]->str, sizeof(m.sid));
    n = ngx_atoi((u_char *)memo[3]->str, memo[3]->len);
    m.client_hash = n == NGX_ERROR ? 0 : (uint32_t)n;
    n = ngx_atoi((u_char *)memo[4]->str, memo[4]->len);
    if (n == NGX_ERROR) {
        return;
    }
    m.expires = (uint32_t)n;
    ol_cluster_memo_apply(zone->store, &zone->arena, &m, (uint64_t)ngx_time());
}

static void
ngx_http_oidc_logout_cluster_entries(void *data, redisReply *reply)
{
    size_t i, j;
    uint64_t ms, seq;
    redisReply *stream, *entries, *entry, *fields;
    ngx_http_oidc_logout_cluster_t *cl = data;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    cl->reading = 0;
    if (ngx_http_oidc_logout_cluster_closing || reply == NULL) {
        return; /* read again once connected */
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* (the stream's key of another type): again at the next tick */
        ngx_http_oidc_logout_cluster_failed(cl, "the stream of ends", reply);
        return;
    }

    /* [[stream, [[id, [field, value...]]...]]], or nil: none came */
    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        stream = reply->element[i];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) {
            continue;
        }
        entries = stream->element[1];
        for (j = 0; entries->type == REDIS_REPLY_ARRAY && j < entries->elements;
             j++) {
            entry = entries->element[j];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
                !ngx_http_oidc_logout_cluster_id(entry->element[0], &ms,
                                                 &seq)) {
                continue;
            }
            fields = entry->element[1];
            if (fields->type == REDIS_REPLY_ARRAY) {
                ngx_http_oidc_logout_cluster_apply(cl, fields);
            }
            ol_cluster_set_stream_position(zone->store, &zone->arena, ms, seq);
        }
    }

    ngx_http_oidc_logout_cluster_read(cl);
}

/* Where the stream starts (XRANGE - + COUNT 1) or ends (XREVRANGE):
 * where this node starts reading, and whether it missed ends. */
static void
ngx_http_oidc_logout_cluster_positioned(void *data, redisReply *reply)
{
    uint64_t ms, seq, first_ms, first_seq;
    ngx_uint_t found;
    ngx_http_oidc_logout_cluster_t *cl = data;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    cl->reading = 0;
    if (ngx_http_oidc_logout_cluster_closing || reply == NULL ||
        reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    found = reply->elements > 0 &&
            reply->element[0]->type == REDIS_REPLY_ARRAY &&
            reply->element[0]->elements > 0 &&
            ngx_http_oidc_logout_cluster_id(reply->element[0]->element[0],
                                            &first_ms, &first_seq);

    ol_cluster_stream_position(zone->store, &zone->arena, &ms, &seq);
    if (ms == 0 && seq == 0) {
        /* a new zone: it knows nothing to forget, and reads from the
         * stream's last entry (0-1 when there is none yet: from the
         * first) */
        ol_cluster_set_stream_position(zone->store, &zone->arena,
                                       found ? first_ms : 0,
                                       found ? first_seq : 1);
    } else if (!(ms == 0 && seq == 1) &&
               (!found || first_ms > ms ||
                (first_ms == ms && first_seq > seq))) {
        /* entries were trimmed, or Redis lost the stream: every cached
         * session is checked */
        ngx_http_oidc_logout_cluster_stale(
            cl, "no longer holds every end since this node last read");
    }

    cl->positioned = 1;
    ngx_http_oidc_logout_cluster_read(cl);
}

void
ngx_http_oidc_logout_cluster_read(ngx_http_oidc_logout_cluster_t *cl)
{
    int argc;
    uint64_t ms, seq;
    const char *argv[8];
    size_t argvlen[8];
    u_char key[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY], id[2 * NGX_INT64_LEN + 2];
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (cl->reading || ngx_http_oidc_logout_cluster_closing || ngx_exiting ||
        ngx_terminate || ngx_quit ||
        !ngx_http_oidc_logout_redis_up(cl->reader)) {
        return;
    }

    argv[0] = "XRANGE";
    argvlen[1] = ngx_http_oidc_logout_cluster_key(cl, key, "e", NULL, 0);
    argv[1] = (const char *)key;

    if (!cl->positioned) {
        ol_cluster_stream_position(zone->store, &zone->arena, &ms, &seq);
        /* a new zone starts at the last entry, a known one checks that
         * the first is not past its position */
        if (ms == 0 && seq == 0) {
            argv[0] = "XREVRANGE";
            argv[2] = "+";
            argv[3] = "-";
        } else {
            argv[2] = "-";
            argv[3] = "+";
        }
        argv[4] = "COUNT";
        argv[5] = "1";
        argc = 6;
        argvlen[0] = ngx_strlen(argv[0]);
        argvlen[2] = argvlen[3] = 1;
        argvlen[4] = 5;
        argvlen[5] = 1;
        if (ngx_http_oidc_logout_redis_command(
                cl->reader, 0, ngx_http_oidc_logout_cluster_positioned, cl,
                argc, argv, argvlen) == NGX_OK) {
            cl->reading = 1;
        }
        return;
    }

    ol_cluster_stream_position(zone->store, &zone->arena, &ms, &seq);
    argv[0] = "XREAD";
    argv[1] = "BLOCK";
    argv[2] = NGX_HTTP_OIDC_LOGOUT_CLUSTER_BLOCK;
    argv[3] = "COUNT";
    argv[4] = "512";
    argv[5] = "STREAMS";
    argv[6] = (const char *)key;
    argvlen[6] = ngx_http_oidc_logout_cluster_key(cl, key, "e", NULL, 0);
    argv[7] = (const char *)id;
    argvlen[7] = ngx_sprintf(id, "%uL-%uL", ms, seq) - id;
    for (argc = 0; argc < 6; argc++) {
        argvlen[argc] = ngx_strlen(argv[argc]);
    }
    if (ngx_http_oidc_logout_redis_command(
            cl->reader,
            ngx_atoi((u_char *)NGX_HTTP_OIDC_LOGOUT_CLUSTER_BLOCK,
                     sizeof(NGX_HTTP_OIDC_LOGOUT_CLUSTER_BLOCK) - 1) +
                NGX_HTTP_OIDC_LOGOUT_CLUSTER_TIMEOUT,
            ngx_http_oidc_logout_cluster_entries, cl, 8, argv,
            argvlen) == NGX_OK) {
        cl->reading = 1;
    }
}

void
ngx_http_oidc_logout_cluster_reader_state(void *data, ngx_uint_t up,
                                          const char *reason)
{
    ngx_http_oidc_logout_cluster_t *cl = data;

    if (ngx_http_oidc_logout_cluster_closing) {
        return;
    }
    if (up) {
        /* after a loss: where it stopped, and whether ends were missed */
        cl->positioned = 0;
        cl->reading = 0;
        ngx_http_oidc_logout_cluster_read(cl);
    }
}

/* ---- checking the cache after missed ends (worker 0) --------------------- */

static void
ngx_http_oidc_logout_cluster_checked(void *data, redisReply *reply)
{
    size_t i;
    ngx_http_oidc_logout_waiting_t *batch = data;
    ngx_http_oidc_logout_cluster_t *cl = batch->cl;
    ngx_http_oidc_logout_zone_t *zone = cl->zone;
    char(*sids)[OL_ID_TEXT_LEN + 1] = (void *)(batch + 1);

    cl->checking = 0;
    if (ngx_http_oidc_logout_cluster_closing || reply == NULL ||
        reply->type != REDIS_REPLY_ARRAY) {
        ngx_free(batch);
        return;
    }
    for (i = 0; i < reply->elements && i < batch->count; i++) {
        cl->checked++;
        if (reply->element[i]->type == REDIS_REPLY_INTEGER &&
            reply->element[i]->integer == 0 &&
            ol_cluster_forget(zone->store, &zone->arena, sids[i],
                              ngx_strlen(sids[i]), (uint64_t)ngx_time())) {
            cl->gone++;
        }
    }
    ngx_free(batch);

    if (cl->cursor == (uint64_t)-1) {
        cl->cursor = 0;
        ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_STALE, 0);
        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "oidc_logout: zone \"%V\": checked %ui cached "
                      "session(s) against redis %V: %ui had ended",
                      &zone->name, cl->checked, &zone->redis->name, cl->gone);
    }
}

void
ngx_http_oidc_logout_cluster_check(ngx_http_oidc_logout_cluster_t *cl)
{
    int over;
    size_t i, n;
    const char *args[1 + NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH];
    u_char prefix[NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY + 1];
    ngx_http_oidc_logout_waiting_t *batch;
    char(*sids)[OL_ID_TEXT_LEN + 1];
    ngx_http_oidc_logout_zone_t *zone = cl->zone;

    if (cl->checking ||
        !ol_cluster_flag(zone->store, &zone->arena, OL_CLUSTER_STALE, -1)) {
        return;
    }
    batch = ngx_alloc(sizeof(*batch) + NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH *
                                           (OL_ID_TEXT_LEN + 1),
                      cl->log);
    if (batch == NULL) {
        return;
    }
    batch->cl = cl;
    sids = (void *)(batch + 1);
    over = ol_cluster_cached(zone->store, &zone->arena, &cl->cursor, sids,
                             NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH, &n);
    batch->count = n;
    args[0] = ngx_http_oidc_logout_cluster_prefix(cl, prefix);
    for (i = 0; i < n; i++) {
        args[1 + i] = sids[i];
    }
    if (over) {
        cl->cursor = (uint64_t)-1; /* the last batch */
    }
    if (ngx_http_oidc_logout_cluster_eval(
            cl->redis, OL_SCRIPT_EXISTS, ngx_http_oidc_logout_cluster_checked,
            batch, (int)(1 + n), args, NULL) != NGX_OK) {
        ngx_free(batch);
        if (over) {
            cl->cursor = 0;
        }
        return;
    }
    cl->checking = 1;
}
