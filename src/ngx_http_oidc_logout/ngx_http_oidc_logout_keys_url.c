/*
 * ngx_http_oidc_logout_module: the provider's keys (oidc_logout_keys_url).
 *
 * The workers fetch the provider's JWKS through their event loop (never at
 * nginx -t, never in the master): when a worker starts and the zone holds
 * none yet, every refresh= period, and when a hint names a kid none of the
 * keys has (at most once every 10 s).  One worker fetches at a time (a
 * lease in the zone, which a worker killed mid-fetch lets expire); a
 * failure is logged and tried again after 1 s, 2 s, 4 s ... up to 5 min.
 *
 * The document lives in a zone of its own, kept across reloads: two
 * copies and one index word.  The fetcher writes the copy not in use, then
 * moves the index, under the zone's lock; a worker killed at any
 * instruction leaves the copy in use whole.  Each worker parses a new
 * version once, into its own memory, and merges it with each server's
 * oidc_logout_keys.
 */

#include "ngx_http_oidc_logout.h"

/* Longest JWKS fetched, in bytes. */
#define NGX_HTTP_OIDC_LOGOUT_JWKS_MAX (64 * 1024)
/* How long one fetch may take, in ms. */
#define NGX_HTTP_OIDC_LOGOUT_KEYS_TIMEOUT 10000
/* An unknown kid asks a fetch at most this often, in seconds. */
#define NGX_HTTP_OIDC_LOGOUT_KEYS_KID_INTERVAL 10
/* The longest wait before a failed fetch is tried again, in seconds. */
#define NGX_HTTP_OIDC_LOGOUT_KEYS_BACKOFF_MAX 300

typedef struct {
    size_t len;
    u_char data[NGX_HTTP_OIDC_LOGOUT_JWKS_MAX];
} ngx_http_oidc_logout_jwks_copy_t;

/* In the zone. */
typedef struct {
    /* the version of the document in use, in copy[version & 1]; 0: none
     * yet.  Moved last, under the lock. */
    ngx_atomic_t version;
    ngx_pid_t fetcher;    /* the worker fetching, 0: none */
    time_t fetcher_until; /* its lease */
    time_t next_fetch;    /* the next refresh, or retry */
    time_t kid_fetch;     /* the last fetch an unknown kid asked */
    ngx_uint_t failures;  /* fetches failed in a row */
    ngx_http_oidc_logout_jwks_copy_t copy[2];
} ngx_http_oidc_logout_keys_sh_t;

/* A server's oidc_logout_keys merged with the fetched keys, in a worker. */
typedef struct {
    const ol_keys *own;
    ol_keys *keys;
    ngx_atomic_uint_t version; /* of the fetched keys merged */
} ngx_http_oidc_logout_keys_merged_t;

struct ngx_http_oidc_logout_keys_url_s {
    ngx_str_t url; /* NUL-terminated */
    ol_target *target;
    time_t refresh;
    ngx_http_oidc_logout_srv_conf_t *oscf; /* whose TLS settings fetch */
    char *missing;                         /* said while no keys are fetched */
    ngx_slab_pool_t *shpool;
    ngx_http_oidc_logout_keys_sh_t *sh;
    /* this worker's */
    ngx_atomic_uint_t version; /* of keys */
    ol_keys *keys;
    ngx_array_t merged; /* of ngx_http_oidc_logout_keys_merged_t */
    ngx_event_t timer;
    ngx_pool_t *pool;                 /* of the fetch under way, or NULL */
    ngx_http_oidc_logout_post_t *get; /* the fetch, in pool */
};

/* The zones of oidc_logout_keys_url carry this tag. */
static ngx_uint_t ngx_http_oidc_logout_keys_tag;

static void ngx_http_oidc_logout_keys_arm(ngx_http_oidc_logout_keys_url_t *ku);

/* ---- configuration ------------------------------------------------------ */

static void
ngx_http_oidc_logout_keys_target_cleanup(void *data)
{
    ol_target_free(data);
}

static ngx_int_t
ngx_http_oidc_logout_keys_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t len;
    ngx_http_oidc_logout_keys_url_t *ku = shm_zone->data;
    ngx_http_oidc_logout_keys_url_t *old = data;

    ku->shpool = (ngx_slab_pool_t *)shm_zone->shm.addr;

    if (old != NULL) {
        /* a reload: the keys fetched so far stay */
        ku->sh = old->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        ku->sh = ku->shpool->data;
        return NGX_OK;
    }

    len = sizeof(" in oidc_logout_keys_url \"\"") + ku->url.len;
    ku->shpool->log_ctx = ngx_slab_alloc(ku->shpool, len);
    ku->sh =
        ngx_slab_calloc(ku->shpool, sizeof(ngx_http_oidc_logout_keys_sh_t));
    if (ku->shpool->log_ctx == NULL || ku->sh == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(ku->shpool->log_ctx, " in oidc_logout_keys_url \"%V\"%Z",
                &ku->url);
    ku->shpool->data = ku->sh;

    return NGX_OK;
}

char *
ngx_http_oidc_logout_keys_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    time_t refresh;
    ngx_str_t *value, s, name;
    ngx_uint_t i;
    const char *why;
    ol_target *target;
    ngx_shm_zone_t *shm_zone;
    ngx_pool_cleanup_t *cln;
    ngx_http_oidc_logout_keys_url_t *ku;

    if (oscf->keys_url != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    refresh = 600;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "refresh=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;
            refresh = ngx_parse_time(&s, 1);
            if (refresh != (time_t)NGX_ERROR && refresh >= 1 &&
                refresh <= 7 * 24 * 3600) {
                continue;
            }
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: invalid \"%V\" in "
                               "\"oidc_logout_keys_url\": between 1s and 7d",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        return ngx_http_oidc_logout_invalid_parameter(cf, cmd, &value[i]);
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ol_target_parse((const char *)value[1].data, value[1].len, &target, err,
                        sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_keys_url \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_oidc_logout_keys_target_cleanup;
    cln->data = target;

#if !(NGX_HTTP_SSL)
    if (target->https) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_keys_url \"%V\" needs "
                           "nginx built with SSL",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
#endif

    why = ngx_http_oidc_logout_bc_resolve(cf, target);
    if (why != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_keys_url \"%V\": %s",
                           &value[1], why);
        return NGX_CONF_ERROR;
    }

    /* one zone for each URL: servers that name the same one share it */
    name.len = sizeof("oidc_logout_keys_url ") - 1 + value[1].len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }
    ngx_sprintf(name.data, "oidc_logout_keys_url %V", &value[1]);

    shm_zone = ngx_shared_memory_add(
        cf, &name,
        ngx_align(sizeof(ngx_http_oidc_logout_keys_sh_t), ngx_pagesize) +
            8 * ngx_pagesize,
        &ngx_http_oidc_logout_keys_tag);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data != NULL) {
        ku = shm_zone->data;
        if (ku->refresh != refresh) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: oidc_logout_keys_url \"%V\" is "
                               "already given with another refresh=",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
        oscf->keys_url = ku;
        return NGX_CONF_OK;
    }

    ku = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_keys_url_t));
    if (ku == NULL) {
        return NGX_CONF_ERROR;
    }

    ku->url = value[1];
    ku->target = target;
    ku->refresh = refresh;
    ku->missing = ngx_pnalloc(cf->pool, value[1].len + 64);
    if (ku->missing == NULL ||
        ngx_array_init(&ku->merged, cf->pool, 2,
                       sizeof(ngx_http_oidc_logout_keys_merged_t)) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    ngx_sprintf((u_char *)ku->missing,
                "the keys of oidc_logout_keys_url \"%V\" are not fetched "
                "yet%Z",
                &value[1]);

    shm_zone->init = ngx_http_oidc_logout_keys_init_zone;
    shm_zone->data = ku;
    oscf->keys_url = ku;

    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_keys_url_merge(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_srv_conf_t *oscf)
{
    ngx_http_oidc_logout_keys_url_t *ku = oscf->keys_url;

    if (ku == NULL || ku->oscf != NULL) {
        return NGX_CONF_OK;
    }

    ku->oscf = oscf;

#if (NGX_HTTP_SSL)
    if (ku->target->https && oscf->bc_ssl == NULL) {
        return ngx_http_oidc_logout_bc_ssl(cf, oscf);
    }
#endif

    return NGX_CONF_OK;
}

/* ---- the document in the zone ------------------------------------------- */

/* This worker's keys are those of the version in the zone. */
static void
ngx_http_oidc_logout_keys_update(ngx_http_oidc_logout_keys_url_t *ku,
                                 ngx_log_t *log)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    u_char *doc;
    size_t len, skipped;
    ol_keys *keys;
    ngx_atomic_uint_t version;
    ngx_http_oidc_logout_jwks_copy_t *copy;

    if (ku->sh->version == ku->version) {
        return;
    }

    doc = ngx_alloc(NGX_HTTP_OIDC_LOGOUT_JWKS_MAX, log);
    if (doc == NULL) {
        return;
    }

    ngx_shmtx_lock(&ku->shpool->mutex);
    version = ku->sh->version;
    copy = &ku->sh->copy[version & 1];
    len = ngx_min(copy->len, NGX_HTTP_OIDC_LOGOUT_JWKS_MAX);
    ngx_memcpy(doc, copy->data, len);
    ngx_shmtx_unlock(&ku->shpool->mutex);

    /* the fetcher parsed it before it published it */
    if (ol_keys_parse_published((const char *)doc, len,
                                (const char *)ku->url.data, &keys, &skipped,
                                err, sizeof(err)) != OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "oidc_logout: oidc_logout_keys_url \"%V\": the keys "
                      "in the zone are unusable: %s",
                      &ku->url, err);
        keys = NULL;
    }
    ngx_free(doc);

    if (keys != NULL) {
        ol_keys_free(ku->keys);
        ku->keys = keys;
    }
    ku->version = version;
}

const ol_keys *
ngx_http_oidc_logout_keys_current(ngx_http_request_t *r)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ol_keys *keys;
    ngx_uint_t i;
    ngx_http_oidc_logout_keys_url_t *ku;
    ngx_http_oidc_logout_keys_merged_t *m;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    ku = oscf->keys_url;
    if (ku == NULL || ku->sh == NULL) {
        return oscf->keys;
    }

    ngx_http_oidc_logout_keys_update(ku, r->connection->log);

    m = ku->merged.elts;
    for (i = 0; i < ku->merged.nelts; i++) {
        if (m[i].own == oscf->keys) {
            break;
        }
    }
    if (i == ku->merged.nelts) {
        m = ngx_array_push(&ku->merged);
        if (m == NULL) {
            return oscf->keys;
        }
        m->own = oscf->keys;
        m->keys = NULL;
        m->version = 0;
    } else {
        m = &m[i];
    }

    if (m->keys != NULL && m->version == ku->version) {
        return m->keys;
    }

    if (ol_keys_merge(oscf->keys, ku->keys, ku->keys ? NULL : ku->missing,
                      &keys, err, sizeof(err)) != OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "oidc_logout: could not merge the keys: %s", err);
        return m->keys ? m->keys : oscf->keys;
    }

    ol_keys_free(m->keys);
    m->keys = keys;
    m->version = ku->version;
    return keys;
}

const ol_keys *
ngx_http_oidc_logout_keys_upstream(ngx_http_request_t *r)
{
    ngx_http_oidc_logout_srv_conf_t *oscf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    if (oscf->keys_url == NULL || oscf->keys_url->sh == NULL) {
        return NULL;
    }
    ngx_http_oidc_logout_keys_update(oscf->keys_url, r->connection->log);
    return oscf->keys_url->keys;
}

/* ---- fetching ----------------------------------------------------------- */

/* How long to wait after failures failed fetches in a row, in seconds. */
static time_t
ngx_http_oidc_logout_keys_backoff(ngx_http_oidc_logout_keys_url_t *ku,
                                  ngx_uint_t failures)
{
    time_t delay;

    delay = (time_t)1 << ngx_min(failures - 1, 9);
    delay = ngx_min(delay, NGX_HTTP_OIDC_LOGOUT_KEYS_BACKOFF_MAX);
    return ngx_min(delay, ku->refresh);
}

/* The fetch is over: the document is published when it parses and is
 * new, the lease given back, the next fetch planned, one line logged. */
static void
ngx_http_oidc_logout_keys_fetched(ngx_http_oidc_logout_post_t *p,
                                  const char *failure, ol_attempt attempt_end,
                                  ngx_uint_t status)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    u_char *last;
    size_t skipped;
    time_t now, delay;
    ol_keys *keys;
    ngx_uint_t changed, failures;
    ngx_atomic_uint_t version;
    ngx_http_oidc_logout_keys_url_t *ku = p->data;
    ngx_http_oidc_logout_keys_sh_t *sh = ku->sh;
    ngx_http_oidc_logout_jwks_copy_t *copy;

    keys = NULL;
    skipped = 0;
    if (failure != NULL) {
        last = ngx_snprintf((u_char *)err, sizeof(err) - 2, "%s", failure);
        if (p->err) {
            last = ngx_snprintf(last, (u_char *)err + sizeof(err) - 2 - last,
                                " (%d: ", p->err);
            last = ngx_strerror(p->err, last,
                                (u_char *)err + sizeof(err) - 2 - last);
            *last++ = ')';
        }
        *last = '\0';
    } else if (status != NGX_HTTP_OK) {
        *ngx_snprintf((u_char *)err, sizeof(err) - 1, "status %03ui", status) =
            '\0';
    } else {
        (void)ol_keys_parse_published((const char *)p->body, p->body_len,
                                      (const char *)ku->url.data, &keys,
                                      &skipped, err, sizeof(err));
    }

    now = ngx_time();
    changed = 0;

    ngx_shmtx_lock(&ku->shpool->mutex);

    if (sh->fetcher == ngx_pid) {
        sh->fetcher = 0;
    }

    if (keys != NULL) {
        sh->failures = 0;
        sh->next_fetch = now + ku->refresh;
        copy = &sh->copy[sh->version & 1];
        if (sh->version == 0 || copy->len != p->body_len ||
            ngx_memcmp(copy->data, p->body, p->body_len) != 0) {
            /* the copy not in use, then the index */
            copy = &sh->copy[(sh->version + 1) & 1];
            ngx_memcpy(copy->data, p->body, p->body_len);
            copy->len = p->body_len;
            ngx_memory_barrier();
            sh->version = sh->version + 1;
            changed = 1;
        }
        version = sh->version;
        failures = 0;

    } else {
        failures = ++sh->failures;
        sh->next_fetch = now + ngx_http_oidc_logout_keys_backoff(ku, failures);
        version = sh->version;
    }

    ngx_shmtx_unlock(&ku->shpool->mutex);

    if (keys == NULL) {
        delay = ngx_http_oidc_logout_keys_backoff(ku, failures);
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "oidc_logout: oidc_logout_keys_url \"%V\": could not "
                      "fetch the provider's keys: %s; %s, next attempt in "
                      "%Ts",
                      &ku->url, err,
                      version ? "the keys fetched before stay in use"
                              : "no keys yet",
                      delay);

    } else if (changed) {
        ngx_log_error(NGX_LOG_NOTICE, p->log, 0,
                      "oidc_logout: oidc_logout_keys_url \"%V\": fetched %uz "
                      "key(s), %uz skipped (version %uA)",
                      &ku->url, ol_keys_count(keys), skipped, version);
    }

    if (keys != NULL && ku->version != version && changed) {
        /* what this worker fetched needs no parsing again */
        ol_keys_free(ku->keys);
        ku->keys = keys;
        ku->version = version;
    } else {
        ol_keys_free(keys);
    }

    ngx_destroy_pool(ku->pool);
    ku->pool = NULL;
    ku->get = NULL;

    ngx_http_oidc_logout_keys_arm(ku);
}

/* Starts a fetch, unless another is under way, or none is due: kid, an
 * unknown kid asks it (at most every 10 s); otherwise the refresh or
 * retry time says. */
static void
ngx_http_oidc_logout_keys_fetch(ngx_http_oidc_logout_keys_url_t *ku,
                                ngx_uint_t kid)
{
    time_t now;
    ngx_pool_t *pool;
    ngx_http_oidc_logout_post_t *p;
    ngx_http_oidc_logout_keys_sh_t *sh = ku->sh;

    if (ku->pool != NULL || ku->oscf == NULL || ngx_exiting || ngx_quit ||
        ngx_terminate) {
        return;
    }

    now = ngx_time();

    ngx_shmtx_lock(&ku->shpool->mutex);

    if ((sh->fetcher != 0 && sh->fetcher_until >= now) ||
        (kid && sh->kid_fetch != 0 &&
         now < sh->kid_fetch + NGX_HTTP_OIDC_LOGOUT_KEYS_KID_INTERVAL) ||
        (!kid && now < sh->next_fetch)) {
        ngx_shmtx_unlock(&ku->shpool->mutex);
        return;
    }

    if (kid) {
        sh->kid_fetch = now;
    }
    sh->fetcher = ngx_pid;
    sh->fetcher_until = now + NGX_HTTP_OIDC_LOGOUT_KEYS_TIMEOUT / 1000 + 1;

    ngx_shmtx_unlock(&ku->shpool->mutex);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    p = pool ? ngx_pcalloc(pool, sizeof(ngx_http_oidc_logout_post_t)) : NULL;
    if (p == NULL) {
        if (pool != NULL) {
            ngx_destroy_pool(pool);
        }
        ngx_shmtx_lock(&ku->shpool->mutex);
        sh->fetcher = 0;
        ngx_shmtx_unlock(&ku->shpool->mutex);
        return;
    }

    ku->pool = pool;
    ku->get = p;
    p->target = ku->target;
    p->oscf = ku->oscf;
    p->timeout = NGX_HTTP_OIDC_LOGOUT_KEYS_TIMEOUT;
    p->log = ngx_cycle->log;
    p->pool = pool;
    p->done = ngx_http_oidc_logout_keys_fetched;
    p->data = ku;
    p->label = "oidc_logout_keys_url ";
    p->max_body = NGX_HTTP_OIDC_LOGOUT_JWKS_MAX;

    if (ngx_http_oidc_logout_get_prepare(p) != NGX_OK) {
        ngx_http_oidc_logout_keys_fetched(p, "no-memory", OL_ATTEMPT_ABORTED,
                                          0);
        return;
    }

    ngx_http_oidc_logout_post(p);
}

void
ngx_http_oidc_logout_keys_unknown_kid(ngx_http_request_t *r)
{
    ngx_http_oidc_logout_srv_conf_t *oscf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    if (oscf->keys_url != NULL && oscf->keys_url->sh != NULL) {
        ngx_http_oidc_logout_keys_fetch(oscf->keys_url, 1);
    }
}

/* ---- the worker's timer ------------------------------------------------- */

/* The timer wakes this worker when the next fetch is due (a second from
 * now while another worker fetches). */
static void
ngx_http_oidc_logout_keys_arm(ngx_http_oidc_logout_keys_url_t *ku)
{
    time_t delay;

    if (ku->pool != NULL || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    delay = ku->sh->next_fetch - ngx_time();
    delay = ngx_max(delay, 1);
    delay = ngx_min(delay, ku->refresh);
    ngx_add_timer(&ku->timer, (ngx_msec_t)delay * 1000);
}

static void
ngx_http_oidc_logout_keys_timer(ngx_event_t *ev)
{
    ngx_http_oidc_logout_keys_url_t *ku = ev->data;

    ngx_http_oidc_logout_keys_fetch(ku, 0);
    ngx_http_oidc_logout_keys_arm(ku);
}

/* Calls handler with each oidc_logout_keys_url of cycle. */
static void
ngx_http_oidc_logout_keys_each(
    ngx_cycle_t *cycle, void (*handler)(ngx_http_oidc_logout_keys_url_t *))
{
    ngx_uint_t i;
    ngx_list_part_t *part;
    ngx_shm_zone_t *zone;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_oidc_logout_keys_tag &&
            zone[i].data != NULL) {
            handler(zone[i].data);
        }
    }
}

static void
ngx_http_oidc_logout_keys_start(ngx_http_oidc_logout_keys_url_t *ku)
{
    if (ku->oscf == NULL || ku->sh == NULL) {
        return; /* no server uses it */
    }

    ku->timer.handler = ngx_http_oidc_logout_keys_timer;
    ku->timer.data = ku;
    ku->timer.log = ngx_cycle->log;
    ku->timer.cancelable = 1;

    /* a fetch at once when none is due, and the zone holds no keys yet */
    if (ku->sh->version == 0) {
        ngx_http_oidc_logout_keys_fetch(ku, 0);
    }
    ngx_http_oidc_logout_keys_arm(ku);
}

static void
ngx_http_oidc_logout_keys_stop(ngx_http_oidc_logout_keys_url_t *ku)
{
    ngx_uint_t i;
    ngx_http_oidc_logout_keys_merged_t *m = ku->merged.elts;

    if (ku->pool != NULL) {
        ngx_http_oidc_logout_post_cancel(ku->get);
        ngx_destroy_pool(ku->pool);
        ku->pool = NULL;
    }

    for (i = 0; i < ku->merged.nelts; i++) {
        ol_keys_free(m[i].keys);
        m[i].keys = NULL;
    }
    ol_keys_free(ku->keys);
    ku->keys = NULL;
}

ngx_int_t
ngx_http_oidc_logout_keys_init_process(ngx_cycle_t *cycle)
{
    ngx_http_oidc_logout_keys_each(cycle, ngx_http_oidc_logout_keys_start);
    return NGX_OK;
}

void
ngx_http_oidc_logout_keys_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_oidc_logout_keys_each(cycle, ngx_http_oidc_logout_keys_stop);
}
