/*
 * ngx_http_oidc_logout_module: what the files of cluster mode share (a
 * node's link to Redis, its stream of ends, its requests).
 */

#ifndef NGX_HTTP_OIDC_LOGOUT_CLUSTER_H
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_H

#include "ngx_http_oidc_logout.h"

#include <hiredis/hiredis.h>

#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_TIMEOUT 1000 /* ms, a reply */
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_BLOCK "1000" /* ms, a stream read */
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_BATCH 64
/* touches written at most a second */
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_TOUCHES 4096
/* other nodes' touches reach Redis within a second or two */
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_GRACE 2
/* (and a deadline moves in Redis by idle/16 at least: sessions end that
 * much later rather than earlier) */
/* what a posted write looks back at: changes made since */
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_RECENT 10
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_KEY 512
#define NGX_HTTP_OIDC_LOGOUT_CLUSTER_ARGS (16 + 2 * 64)

struct ngx_http_oidc_logout_cluster_s {
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_redis_t *redis;  /* commands */
    ngx_http_oidc_logout_redis_t *reader; /* worker 0: the stream of ends */
    ngx_log_t *log;
    ngx_event_t flush; /* posted: publish the ends, write the changes */
    char node[17];
    char mark_ttl[NGX_INT_T_LEN + 1]; /* seconds an end's mark stays */
    time_t touched;                   /* worker 0: touches written up to */
    uint64_t cursor;                  /* the check of the cache */
    ngx_uint_t checked, gone;
    ngx_uint_t writes;     /* writes waiting for their reply */
    ngx_uint_t publishing; /* ends being published */
    ngx_uint_t published;  /* ... and won or lost so far */
    time_t failed_logged;  /* when an error of Redis was last logged */
    ngx_msec_t ticked;     /* worker 0's work last done, each second */
    unsigned leader : 1;
    unsigned up : 1;
    unsigned expiring : 1;
    unsigned reading : 1;
    unsigned checking : 1;
    unsigned positioned : 1;
    unsigned write_again : 1; /* changes waited for the writes in flight */
    /* worker 0: remembered values being published, and up to where */
    ngx_uint_t memos;
    ngx_uint_t memos_failed;
    uint64_t memos_upto;
};

/* A changed session being written. */
typedef struct {
    ngx_http_oidc_logout_cluster_t *cl;
    uint32_t changed;
    char sid[OL_ID_TEXT_LEN + 1];
} ngx_http_oidc_logout_write_t;

/* A request waiting for Redis. */
typedef struct {
    ngx_http_request_t *r;
    ngx_http_oidc_logout_cluster_t *cl;
    ngx_http_oidc_logout_verdict_pt done;
    ngx_http_handler_pt again;
    ngx_uint_t count; /* the check of the cache: sids that follow; a
                       * cookie's lookup: the times asked again */
    ngx_str_t handle; /* the cookie looked up */
    ngx_event_t retry;
    char sid[OL_ID_TEXT_LEN + 1];
} ngx_http_oidc_logout_waiting_t;

/* The worker is exiting: replies of closed connections are not acted on. */
extern ngx_uint_t ngx_http_oidc_logout_cluster_closing;

/* An EVAL of script with args (C strings, or lens given). */
ngx_int_t ngx_http_oidc_logout_cluster_eval(
    ngx_http_oidc_logout_redis_t *redis, ol_cluster_script script,
    ngx_http_oidc_logout_redis_reply_pt on_reply, void *data, int nargs,
    const char **args, const size_t *lens);
/* The prefix as a C string into buf (KEY + 1 bytes). */
const char *
ngx_http_oidc_logout_cluster_prefix(ngx_http_oidc_logout_cluster_t *cl,
                                    u_char *buf);
/* prefix, then what, then value (len bytes) into buf (KEY bytes); 0 when
 * it does not fit. */
size_t ngx_http_oidc_logout_cluster_key(ngx_http_oidc_logout_cluster_t *cl,
                                        u_char *buf, const char *what,
                                        const u_char *value, size_t len);
ngx_uint_t ngx_http_oidc_logout_cluster_string(redisReply *reply);
/* Redis's answer for one sid of an OL_SCRIPT_END: whether this node
 * won. */
ngx_uint_t ngx_http_oidc_logout_cluster_won(ngx_http_oidc_logout_zone_t *zone,
                                            const char *sid, redisReply *e);
/* Records Redis ended for this node to notify (cause -1: each names its
 * own). */
void ngx_http_oidc_logout_cluster_enqueue(ngx_http_oidc_logout_cluster_t *cl,
                                          redisReply *reply, ngx_int_t cause);
/* An error reply of Redis to what: one line a minute per worker. */
void ngx_http_oidc_logout_cluster_failed(ngx_http_oidc_logout_cluster_t *cl,
                                         const char *what, redisReply *reply);
/* Ends may have been missed (why, after "redis NAME "): one line a node,
 * and the check of the cached sessions starts over. */
void ngx_http_oidc_logout_cluster_stale(ngx_http_oidc_logout_cluster_t *cl,
                                        const char *why);
/* Worker 0: the next read of the stream of ends, and a step of the check
 * of the cache after missed ones (ngx_http_oidc_logout_cluster_stream.c). */
void ngx_http_oidc_logout_cluster_read(ngx_http_oidc_logout_cluster_t *cl);
void ngx_http_oidc_logout_cluster_check(ngx_http_oidc_logout_cluster_t *cl);
void ngx_http_oidc_logout_cluster_reader_state(void *data, ngx_uint_t up,
                                               const char *reason);

#endif /* NGX_HTTP_OIDC_LOGOUT_CLUSTER_H */
