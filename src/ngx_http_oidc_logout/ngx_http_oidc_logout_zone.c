/*
 * ngx_http_oidc_logout_module: the session zone (oidc_logout_zone).
 *
 * The store lives in a slab pool shared by every worker and kept across
 * reloads; the core reaches it through an arena made of the pool's locked
 * allocator and its mutex.
 */

#include "ngx_http_oidc_logout.h"

static void *
ngx_http_oidc_logout_arena_alloc(void *data, size_t size)
{
    ngx_http_oidc_logout_zone_t *zone = data;

    return ngx_slab_alloc_locked(zone->shpool, size);
}

static void
ngx_http_oidc_logout_arena_free(void *data, void *p)
{
    ngx_http_oidc_logout_zone_t *zone = data;

    ngx_slab_free_locked(zone->shpool, p);
}

static void
ngx_http_oidc_logout_arena_lock(void *data)
{
    ngx_http_oidc_logout_zone_t *zone = data;

    ngx_shmtx_lock(&zone->shpool->mutex);
}

static void
ngx_http_oidc_logout_arena_unlock(void *data)
{
    ngx_http_oidc_logout_zone_t *zone = data;

    ngx_shmtx_unlock(&zone->shpool->mutex);
}

/* A worker died holding the zone's lock: the store undid its unfinished
 * change, or found the store damaged and emptied it. */
static void
ngx_http_oidc_logout_arena_report(void *data, int damaged, const char *what)
{
    ngx_uint_t level;
    ngx_http_oidc_logout_zone_t *zone = data;

    level = damaged ? NGX_LOG_ALERT : NGX_LOG_WARN;
    ngx_log_error(level, ngx_cycle->log, 0, "oidc_logout: zone \"%V\" %s",
                  &zone->name, what);
}

/*
 * A reload that gives a zone another size would start it empty: nginx
 * cannot move the sessions.  Finds the running zone of that name, if any.
 */
static ngx_shm_zone_t *
ngx_http_oidc_logout_running_zone(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t i;
    ngx_list_part_t *part;
    ngx_shm_zone_t *running;

    if (ngx_cycle == NULL || ngx_cycle->shared_memory.part.elts == NULL) {
        return NULL;
    }

    part = (ngx_list_part_t *)&ngx_cycle->shared_memory.part;
    running = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            running = part->elts;
            i = 0;
        }

        if (running[i].tag == shm_zone->tag &&
            running[i].shm.name.len == shm_zone->shm.name.len &&
            ngx_strncmp(running[i].shm.name.data, shm_zone->shm.name.data,
                        shm_zone->shm.name.len) == 0) {
            return &running[i];
        }
    }
}

static ngx_int_t
ngx_http_oidc_logout_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t len;
    const char *why;
    ngx_shm_zone_t *running;
    ngx_http_oidc_logout_zone_t *zone = shm_zone->data;

    zone->shpool = (ngx_slab_pool_t *)shm_zone->shm.addr;
    zone->arena.data = zone;
    zone->arena.alloc = ngx_http_oidc_logout_arena_alloc;
    zone->arena.free = ngx_http_oidc_logout_arena_free;
    zone->arena.lock = ngx_http_oidc_logout_arena_lock;
    zone->arena.unlock = ngx_http_oidc_logout_arena_unlock;
    zone->arena.report = ngx_http_oidc_logout_arena_report;

    if (data != NULL || shm_zone->shm.exists) {
        /* a reload (or Windows): the store is already in the zone */
        zone->store = zone->shpool->data;

        why = ol_store_incompatible(zone->store);
        if (why != NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "oidc_logout: zone \"%V\" cannot be reused: %s; "
                          "restart nginx to start it anew",
                          &shm_zone->shm.name, why);
            return NGX_ERROR;
        }

        ol_store_configure(zone->store, &zone->arena, (uint32_t)zone->idle,
                           (uint32_t)zone->lifetime, (int)zone->notify);
        if (zone->redis != NULL) {
            ol_cluster_enable(zone->store, &zone->arena);
        }
        return NGX_OK;
    }

    running = ngx_http_oidc_logout_running_zone(shm_zone);
    if (running != NULL && running->shm.size != shm_zone->shm.size) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "oidc_logout: zone \"%V\" changed size from %uzk to "
                      "%uzk: its sessions would be lost; restore the size, "
                      "or restart nginx to resize it",
                      &shm_zone->shm.name, running->shm.size / 1024,
                      shm_zone->shm.size / 1024);
        return NGX_ERROR;
    }

    /* the store handles a full zone itself */
    zone->shpool->log_nomem = 0;

    len = sizeof(" in oidc_logout_zone \"\"") + shm_zone->shm.name.len;
    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(zone->shpool->log_ctx, " in oidc_logout_zone \"%V\"%Z",
                &shm_zone->shm.name);

    zone->store = ol_store_create(&zone->arena, shm_zone->shm.size);
    if (zone->store == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "oidc_logout: zone \"%V\" is too small for its "
                      "indexes",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    zone->shpool->data = zone->store;
    ol_store_configure(zone->store, &zone->arena, (uint32_t)zone->idle,
                       (uint32_t)zone->lifetime, (int)zone->notify);
    if (zone->redis != NULL) {
        ol_cluster_enable(zone->store, &zone->arena);
    }

    return NGX_OK;
}

/* Parses "name=value" arguments' values as a time in seconds. */
static ngx_int_t
ngx_http_oidc_logout_parse_seconds(ngx_conf_t *cf, ngx_str_t *arg,
                                   size_t prefix, time_t *out)
{
    ngx_str_t s;

    s.data = arg->data + prefix;
    s.len = arg->len - prefix;

    *out = ngx_parse_time(&s, 1);
    if (*out == (time_t)NGX_ERROR || *out > 0x7fffffff) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: invalid time \"%V\" in "
                           "\"oidc_logout_zone\"",
                           arg);
        return NGX_ERROR;
    }

    return NGX_OK;
}

/* redis=HOST:PORT or redis=unix:PATH: the host is resolved now, its
 * first address taken. */
static char *
ngx_http_oidc_logout_parse_redis(ngx_conf_t *cf, ngx_str_t *arg,
                                 ngx_http_oidc_logout_zone_t *zone)
{
    ngx_url_t u;
    ngx_http_oidc_logout_redis_conf_t *rc;

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_redis_conf_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }
    rc->name.data = arg->data + 6;
    rc->name.len = arg->len - 6;

    if (rc->name.len > 5 && ngx_strncmp(rc->name.data, "unix:", 5) == 0) {
        rc->unix_path.len = rc->name.len - 5;
        rc->unix_path.data = ngx_pnalloc(cf->pool, rc->unix_path.len + 1);
        if (rc->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }
        ngx_memcpy(rc->unix_path.data, rc->name.data + 5, rc->unix_path.len);
        rc->unix_path.data[rc->unix_path.len] = '\0';
        zone->redis = rc;
        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = rc->name;
    u.default_port = 6379;
    u.no_resolve = 0;
    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0 ||
        (u.addrs[0].sockaddr->sa_family != AF_INET &&
         u.addrs[0].sockaddr->sa_family != AF_INET6)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: invalid redis address \"%V\" in "
                           "\"oidc_logout_zone\"%s%s, expected HOST:PORT or "
                           "unix:PATH",
                           &rc->name, u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }
    rc->port = u.port ? u.port : 6379;
    rc->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (rc->host.data == NULL) {
        return NGX_CONF_ERROR;
    }
    rc->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                 rc->host.data, NGX_SOCKADDR_STRLEN, 0);
    rc->host.data[rc->host.len] = '\0';
    zone->redis = rc;
    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char *p;
    ssize_t size;
    ngx_str_t *value, name, s, password;
    ngx_uint_t i;
    ngx_shm_zone_t *shm_zone;
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_shm_zone_t **zones;

    value = cf->args->elts;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->idle = 30 * 60;
    zone->lifetime = 8 * 60 * 60;
    zone->notify = 1;
    ngx_str_null(&name);
    ngx_str_null(&password);
    size = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *)ngx_strchr(name.data, ':');
            if (p == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "oidc_logout: \"%V\" in "
                                   "\"oidc_logout_zone\" needs a size, "
                                   "as in zone=NAME:10m",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;
            size = ngx_parse_size(&s);
            if (name.len == 0 || size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "oidc_logout: invalid zone \"%V\" in "
                                   "\"oidc_logout_zone\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            if (size < (ssize_t)(8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "oidc_logout: zone \"%V\" is too small, "
                                   "it needs at least %uzk",
                                   &name, 8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "idle=", 5) == 0) {
            if (ngx_http_oidc_logout_parse_seconds(cf, &value[i], 5,
                                                   &zone->idle) != NGX_OK) {
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "lifetime=", 9) == 0) {
            if (ngx_http_oidc_logout_parse_seconds(cf, &value[i], 9,
                                                   &zone->lifetime) != NGX_OK) {
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strcmp(value[i].data, "notify=on") == 0 ||
            ngx_strcmp(value[i].data, "notify=off") == 0) {
            zone->notify = value[i].data[8] == 'n';
            continue;
        }

        if (ngx_strncmp(value[i].data, "redis=", 6) == 0 && value[i].len > 6) {
            if (zone->redis != NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "oidc_logout: \"redis=\" is given twice "
                                   "in \"oidc_logout_zone\"");
                return NGX_CONF_ERROR;
            }
            if (ngx_http_oidc_logout_parse_redis(cf, &value[i], zone) !=
                NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "redis_password=", 15) == 0 &&
            value[i].len > 15) {
            password.data = value[i].data + 15;
            password.len = value[i].len - 15;
            continue;
        }

        if (ngx_strncmp(value[i].data, "redis_prefix=", 13) == 0 &&
            value[i].len > 13) {
            if (value[i].len - 13 > NGX_HTTP_OIDC_LOGOUT_REDIS_PREFIX_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "oidc_logout: \"redis_prefix=\" in "
                                   "\"oidc_logout_zone\" is longer than %d "
                                   "bytes",
                                   NGX_HTTP_OIDC_LOGOUT_REDIS_PREFIX_MAX);
                return NGX_CONF_ERROR;
            }
            zone->redis_prefix.data = value[i].data + 13;
            zone->redis_prefix.len = value[i].len - 13;
            continue;
        }

        return ngx_http_oidc_logout_invalid_parameter(cf, cmd, &value[i]);
    }

    if (name.len == 0) {
        return ngx_http_oidc_logout_needs(cf, cmd, "zone=NAME:SIZE");
    }

    if (zone->redis == NULL && (password.len || zone->redis_prefix.len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"redis_password=\" and "
                           "\"redis_prefix=\" in \"oidc_logout_zone\" "
                           "need \"redis=HOST:PORT\"");
        return NGX_CONF_ERROR;
    }
    if (zone->redis != NULL) {
        zone->redis->password = password;
        if (zone->redis_prefix.len == 0) {
            /* each zone's sessions apart, every node's together */
            zone->redis_prefix.len = sizeof("oidc_logout::") - 1 + name.len;
            zone->redis_prefix.data =
                ngx_pnalloc(cf->pool, zone->redis_prefix.len);
            if (zone->redis_prefix.data == NULL) {
                return NGX_CONF_ERROR;
            }
            ngx_sprintf(zone->redis_prefix.data, "oidc_logout:%V:", &name);
        }
    }

    shm_zone =
        ngx_shared_memory_add(cf, &name, size, &ngx_http_oidc_logout_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: zone \"%V\" is already declared",
                           &name);
        return NGX_CONF_ERROR;
    }

    zone->name = name;
    zone->file = cf->conf_file->file.name;
    zone->line = cf->conf_file->line;
    shm_zone->init = ngx_http_oidc_logout_init_zone;
    shm_zone->data = zone;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    zones = ngx_array_push(&omcf->zones);
    if (zones == NULL) {
        return NGX_CONF_ERROR;
    }
    *zones = shm_zone;

    return NGX_CONF_OK;
}

/* One line a second at most per worker for a full zone. */
void
ngx_http_oidc_logout_zone_full(ngx_http_request_t *r,
                               ngx_http_oidc_logout_zone_t *zone,
                               ngx_uint_t evicted, ngx_uint_t failed)
{
    ol_store_stats st;

    zone->evicted_unlogged += evicted;
    zone->failed_unlogged += failed;

    if (zone->full_logged == ngx_time()) {
        return;
    }
    zone->full_logged = ngx_time();

    ol_store_get_stats(zone->store, &zone->arena, &st);

    if (zone->failed_unlogged) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "oidc_logout: zone \"%V\" is full: could not store %ui "
                      "session(s) (%uL sessions stored)",
                      &zone->name, zone->failed_unlogged, st.sessions);
    }

    if (zone->evicted_unlogged) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "oidc_logout: zone \"%V\" is full at %uL sessions: "
                      "evicted %ui least recently used",
                      &zone->name, st.sessions, zone->evicted_unlogged);
    }

    zone->evicted_unlogged = 0;
    zone->failed_unlogged = 0;
}
