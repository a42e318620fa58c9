/*
 * ngx_http_oidc_logout_module: each worker's periodic work on the zones.
 *
 * Every second, in every worker: the expired sessions that one sweep of
 * the zone reaches end (the least recently used, and a few buckets more of
 * its index), and the ended sessions whose clients wait for their logout
 * tokens and are due are taken from the zone's outbox and delivered, one
 * batch each.  The zone decides who takes what under its lock: a session's
 * end is delivered by one worker, whichever ended it.
 */

#include "ngx_http_oidc_logout.h"

#define NGX_HTTP_OIDC_LOGOUT_SWEEP_EVERY 1000 /* ms */
#define NGX_HTTP_OIDC_LOGOUT_SWEEP_BUCKETS 256
#define NGX_HTTP_OIDC_LOGOUT_SWEEP_TAKE 64

struct ngx_http_oidc_logout_sweeper_s {
    ngx_http_oidc_logout_zone_t *zone;
    /* the server whose registry, keys and issuer deliver the zone's
     * tokens, and its location-level settings; NULL when none does */
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;
    ngx_log_t *log;
    ol_notifier_conf notifier;
    ngx_event_t tick;
};

/* Whether the server of oscf uses zone: an oidc_logout_session naming it
 * in the server, one of its locations, or the http block (main). */
static ngx_uint_t
ngx_http_oidc_logout_sweep_uses(ngx_http_oidc_logout_main_conf_t *omcf,
                                void *main, void *oscf, ngx_shm_zone_t *zone)
{
    ngx_uint_t i;
    ngx_http_oidc_logout_session_ref_t *refs = omcf->sessions.elts;

    for (i = 0; i < omcf->sessions.nelts; i++) {
        if (refs[i].shm_zone == zone &&
            (refs[i].srv_conf == oscf || refs[i].srv_conf == main)) {
            return 1;
        }
    }
    return 0;
}

ngx_int_t
ngx_http_oidc_logout_sweep_notifiers(ngx_conf_t *cf)
{
    void *main;
    ngx_uint_t z, i, wanted;
    ngx_shm_zone_t **zones;
    ngx_http_core_srv_conf_t **servers;
    ngx_http_core_main_conf_t *cmcf;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_zone_t *zone;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    main = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);
    servers = cmcf->servers.elts;
    zones = omcf->zones.elts;

    for (z = 0; z < omcf->zones.nelts; z++) {
        zone = zones[z]->data;
        wanted = 0;
        for (i = 0; i < cmcf->servers.nelts; i++) {
            oscf = servers[i]
                       ->ctx->srv_conf[ngx_http_oidc_logout_module.ctx_index];
            if (oscf->bc_ntargets == 0 ||
                !ngx_http_oidc_logout_sweep_uses(omcf, main, oscf, zones[z])) {
                continue;
            }
            wanted = 1;
            if (oscf->keys != NULL &&
                *ol_keys_signing_alg(oscf->keys) != '\0' &&
                oscf->issuer.len != 0) {
                zone->notifier_ctx = (void **)servers[i]->ctx;
                break;
            }
        }
        if (wanted && zone->notifier_ctx == NULL) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "oidc_logout: zone \"%V\": no server that uses it "
                          "can sign logout tokens (\"oidc_logout_keys\" with "
                          "a private key, and \"oidc_logout_issuer\"): the "
                          "sessions that expire, or that an admin or the "
                          "upstream provider ends, notify nobody",
                          &zone->name);
        }
    }
    return NGX_OK;
}

/* The zone's notifier, chosen at configuration time, for this worker. */
static void
ngx_http_oidc_logout_sweep_notifier(ngx_cycle_t *cycle,
                                    ngx_http_oidc_logout_sweeper_t *s)
{
    ngx_http_conf_ctx_t *ctx = (ngx_http_conf_ctx_t *)s->zone->notifier_ctx;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    s->log = cycle->log;
    if (ctx == NULL) {
        return; /* the zone's ended sessions are settled unsent */
    }
    oscf = ctx->srv_conf[ngx_http_oidc_logout_module.ctx_index];
    s->oscf = oscf;
    s->olcf = ctx->loc_conf[ngx_http_oidc_logout_module.ctx_index];
    clcf = ctx->loc_conf[ngx_http_core_module.ctx_index];
    s->log = clcf->error_log;
    s->notifier.keys = oscf->keys;
    s->notifier.clients = oscf->clients;
    s->notifier.issuer = (const char *)oscf->issuer.data;
    s->notifier.issuer_len = oscf->issuer.len;
    s->notifier.retries = (unsigned)s->olcf->bc_retries;
    s->notifier.timeout_ms = s->olcf->bc_timeout;
    s->notifier.give_up = (uint32_t)oscf->bc_give_up;
}

static void
ngx_http_oidc_logout_sweep_tick(ngx_event_t *ev)
{
    size_t i, n;
    time_t now;
    ol_deliveries *taken[NGX_HTTP_OIDC_LOGOUT_SWEEP_TAKE];
    ngx_http_oidc_logout_sweeper_t *s = ev->data;
    ngx_http_oidc_logout_zone_t *zone = s->zone;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return; /* the next workers go on */
    }

    ngx_http_oidc_logout_cluster_tick(zone);

    now = ngx_time();
    ol_store_sweep(zone->store, &zone->arena, (uint64_t)now,
                   NGX_HTTP_OIDC_LOGOUT_SWEEP_BUCKETS);

    n = ol_pending_take(zone->store, &zone->arena, &s->notifier, (uint64_t)now,
                        taken, NGX_HTTP_OIDC_LOGOUT_SWEEP_TAKE);
    for (i = 0; i < n; i++) {
        /* the batch owns the deliveries, also when it cannot start: they
         * are then taken again after their round's time */
        (void)ngx_http_oidc_logout_bc_deliver(s->oscf, s->olcf->bc_timeout,
                                              s->log, taken[i]);
    }

    if (n == NGX_HTTP_OIDC_LOGOUT_SWEEP_TAKE) {
        /* more are due: again once the event loop has seen to the rest */
        ngx_post_event(ev, &ngx_posted_events);
    } else if (!ev->timer_set) {
        ngx_add_timer(ev, NGX_HTTP_OIDC_LOGOUT_SWEEP_EVERY);
    }
}

void
ngx_http_oidc_logout_sweep_now(ngx_http_oidc_logout_zone_t *zone)
{
    ngx_http_oidc_logout_sweeper_t *s = zone->sweeper;

    if (s == NULL || s->tick.posted) {
        return;
    }
    if (s->tick.timer_set) {
        ngx_del_timer(&s->tick);
    }
    ngx_post_event(&s->tick, &ngx_posted_events);
}

ngx_int_t
ngx_http_oidc_logout_sweep_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t i;
    ngx_shm_zone_t **zones;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_sweeper_t *s;
    ngx_http_oidc_logout_zone_t *zone;

    if (ngx_process != NGX_PROCESS_WORKER &&
        ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }

    omcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oidc_logout_module);
    if (omcf == NULL) {
        return NGX_OK; /* no http block */
    }

    zones = omcf->zones.elts;
    for (i = 0; i < omcf->zones.nelts; i++) {
        zone = zones[i]->data;
        if (zone->store == NULL) {
            continue;
        }

        s = ngx_pcalloc(cycle->pool, sizeof(ngx_http_oidc_logout_sweeper_t));
        if (s == NULL) {
            return NGX_ERROR;
        }
        s->zone = zone;
        ngx_http_oidc_logout_sweep_notifier(cycle, s);
        zone->sweeper = s;

        s->tick.handler = ngx_http_oidc_logout_sweep_tick;
        s->tick.data = s;
        s->tick.log = cycle->log;
        /* a worker that shuts down does not wait for it */
        s->tick.cancelable = 1;
        ngx_add_timer(&s->tick, NGX_HTTP_OIDC_LOGOUT_SWEEP_EVERY);
    }

    return NGX_OK;
}
