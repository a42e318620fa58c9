/*
 * ngx_http_oidc_logout_module: the operators' locations.
 *
 * oidc_logout_admin (a JSON API that lists and ends sessions),
 * oidc_logout_metrics (the zone's counters for Prometheus) and
 * oidc_logout_backchannel_receiver (the upstream provider POSTs its logout
 * tokens there).  The core decides each request whole; sessions ended here
 * wait in the zone's outbox, whose deliveries this worker starts at once.
 */

#include "ngx_http_oidc_logout.h"

static void ngx_http_oidc_logout_receive(ngx_http_request_t *r);

static void
ngx_http_oidc_logout_receiver_cleanup(void *data)
{
    ol_receiver_free(data);
}

/* A line about the location's operator directive, naming where it is
 * (these checks run once the http block is read, past its line). */
static void
ngx_http_oidc_logout_operators_log(ngx_conf_t *cf,
                                   ngx_http_oidc_logout_loc_conf_t *olcf,
                                   ngx_uint_t level, const char *text)
{
    if (olcf->served_line == 0) {
        ngx_conf_log_error(level, cf, 0, "oidc_logout: %s", text);
        return;
    }
    ngx_log_error(level, cf->log, 0, "oidc_logout: %s in %V:%ui", text,
                  &olcf->served_file, olcf->served_line);
}

char *
ngx_http_oidc_logout_operators_init(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_loc_conf_t *olcf,
                                    ngx_http_oidc_logout_srv_conf_t *oscf)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    u_char *last;
    const char *directive;
    ngx_uint_t i;
    ngx_str_t *ids, *issuer;
    ngx_pool_cleanup_t *cln;
    ol_receiver_conf conf;
    const char **audiences;
    size_t *lens;

    switch (olcf->document) {
    case NGX_HTTP_OIDC_LOGOUT_ADMIN:
        directive = "oidc_logout_admin";
        break;
    case NGX_HTTP_OIDC_LOGOUT_METRICS:
        directive = "oidc_logout_metrics";
        break;
    case NGX_HTTP_OIDC_LOGOUT_RECEIVER:
        directive = "oidc_logout_backchannel_receiver";
        break;
    default:
        return NGX_CONF_OK;
    }

    if (olcf->session == NULL) {
        last = ngx_snprintf((u_char *)err, sizeof(err) - 1,
                            "\"%s\" needs \"oidc_logout_session\" in the "
                            "same location or an enclosing block: its zone "
                            "holds the sessions",
                            directive);
        *last = '\0';
        ngx_http_oidc_logout_operators_log(cf, olcf, NGX_LOG_EMERG, err);
        return NGX_CONF_ERROR;
    }

    /* other modules' settings are merged before this one's; a nested
     * location that inherits the directive has no line of its own */
    if (olcf->document == NGX_HTTP_OIDC_LOGOUT_ADMIN &&
        olcf->served_line != 0 &&
        !ngx_http_oidc_logout_restricted(
            cf, ((ngx_http_conf_ctx_t *)cf->ctx)->loc_conf,
            ((ngx_http_conf_ctx_t *)cf->ctx)->srv_conf)) {
        ngx_http_oidc_logout_operators_log(
            cf, olcf, NGX_LOG_WARN,
            "\"oidc_logout_admin\" is open to every client: restrict it "
            "with allow and deny, auth_basic, auth_request or client "
            "certificates");
    }

    if (olcf->document != NGX_HTTP_OIDC_LOGOUT_RECEIVER ||
        olcf->receiver != NULL) {
        return NGX_CONF_OK;
    }

    issuer = oscf->upstream_issuer.len ? &oscf->upstream_issuer : &oscf->issuer;
    if (oscf->keys_url == NULL || issuer->len == 0 ||
        oscf->upstream_client_ids == NULL) {
        ngx_http_oidc_logout_operators_log(
            cf, olcf, NGX_LOG_EMERG,
            "\"oidc_logout_backchannel_receiver\" needs "
            "\"oidc_logout_keys_url\" (the provider's keys), "
            "\"oidc_logout_upstream_client_id\" and "
            "\"oidc_logout_upstream_issuer\" or \"oidc_logout_issuer\"");
        return NGX_CONF_ERROR;
    }

    ids = oscf->upstream_client_ids->elts;
    audiences = ngx_palloc(cf->pool, oscf->upstream_client_ids->nelts *
                                         sizeof(const char *));
    lens =
        ngx_palloc(cf->pool, oscf->upstream_client_ids->nelts * sizeof(size_t));
    if (audiences == NULL || lens == NULL) {
        return NGX_CONF_ERROR;
    }
    for (i = 0; i < oscf->upstream_client_ids->nelts; i++) {
        audiences[i] = (const char *)ids[i].data;
        lens[i] = ids[i].len;
    }

    conf.issuer = (const char *)issuer->data;
    conf.issuer_len = issuer->len;
    conf.audiences = audiences;
    conf.audience_lens = lens;
    conf.audience_count = oscf->upstream_client_ids->nelts;
    conf.own_keys = oscf->keys;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }
    if (ol_receiver_new(&conf, &olcf->receiver, err, sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: %s", err);
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_oidc_logout_receiver_cleanup;
    cln->data = olcf->receiver;

    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_upstream_client_id(ngx_conf_t *cf, ngx_command_t *cmd,
                                        void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;
    ngx_uint_t i;
    ngx_str_t *value, *id;

    if (oscf->upstream_client_ids != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    value = cf->args->elts;
    oscf->upstream_client_ids =
        ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (oscf->upstream_client_ids == NULL) {
        return NGX_CONF_ERROR;
    }
    for (i = 1; i < cf->args->nelts; i++) {
        id = ngx_array_push(oscf->upstream_client_ids);
        if (id == NULL) {
            return NGX_CONF_ERROR;
        }
        *id = value[i];
    }
    return NGX_CONF_OK;
}

/* Cluster mode: the sessions an admin request names are read from Redis
 * first, then the handler runs again (NGX_DONE meanwhile); NGX_DECLINED
 * when there is nothing to read, or once read. */
static ngx_int_t
ngx_http_oidc_logout_admin_load(ngx_http_request_t *r,
                                ngx_http_oidc_logout_zone_t *zone,
                                ol_admin_request *rq)
{
    int kind;
    size_t len;
    ngx_str_t value;
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    if (zone->cluster == NULL) {
        return NGX_DECLINED;
    }
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    ctx = ngx_http_oidc_logout_get_ctx(r, olcf->session);
    if (ctx == NULL || ctx->cluster_loaded) {
        return NGX_DECLINED;
    }
    ctx->cluster_loaded = 1;
    value.data = ngx_pnalloc(r->pool, r->args.len + 1);
    if (value.data == NULL) {
        return NGX_DECLINED;
    }
    kind =
        ol_admin_cluster_scope(rq, (char *)value.data, r->args.len + 1, &len);
    value.len = len;
    return ngx_http_oidc_logout_cluster_load(
        r, zone, kind, &value, ngx_http_oidc_logout_operators_handler);
}

/* A refusal of the APIs, before the core could see the request. */
static ngx_int_t
ngx_http_oidc_logout_api_refuse(ngx_http_request_t *r, int status,
                                const char *reason, const char *allow)
{
    ol_response *resp;

    if (ol_api_refuse(status, reason, ngx_strlen(reason), allow, &resp) !=
        OL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_oidc_logout_output(r, resp);
}

ngx_int_t
ngx_http_oidc_logout_operators_handler(ngx_http_request_t *r)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    u_char *name;
    ngx_int_t rc;
    ol_status status;
    ol_response *resp;
    ol_admin_request rq;
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_srv_conf_t *oscf;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    zone = olcf->session->shm_zone->data;

    if (olcf->document == NGX_HTTP_OIDC_LOGOUT_RECEIVER) {
        if (!(r->method & NGX_HTTP_POST) || !ngx_http_oidc_logout_is_form(r)) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }
            return !(r->method & NGX_HTTP_POST)
                       ? ngx_http_oidc_logout_api_refuse(
                             r, NGX_HTTP_NOT_ALLOWED,
                             "backchannel receiver: the provider POSTs its "
                             "logout tokens",
                             "POST")
                       : ngx_http_oidc_logout_api_refuse(
                             r, 400,
                             "backchannel receiver: POST without "
                             "Content-Type application/x-www-form-urlencoded",
                             NULL);
        }
        r->request_body_in_single_buf = 1;
        rc = ngx_http_read_client_request_body(r, ngx_http_oidc_logout_receive);
        return rc >= NGX_HTTP_SPECIAL_RESPONSE ? rc : NGX_DONE;
    }

    /* the admin API answers every method itself: a JSON 405 with Allow */
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) &&
        olcf->document != NGX_HTTP_OIDC_LOGOUT_ADMIN) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (olcf->document == NGX_HTTP_OIDC_LOGOUT_METRICS) {
        oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
        name = ngx_pnalloc(r->pool, zone->name.len + 1);
        if (name == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ngx_memcpy(name, zone->name.data, zone->name.len);
        name[zone->name.len] = '\0';
        status = ol_metrics_respond(
            zone->store, &zone->arena, oscf->clients, (const char *)name,
            olcf->session->shm_zone->shm.size, &resp, err, sizeof(err));
    } else {
        rq.method = (const char *)r->method_name.data;
        rq.method_len = r->method_name.len;
        rq.path = (const char *)r->uri.data;
        rq.path_len = r->uri.len;
        rq.args = (const char *)r->args.data;
        rq.args_len = r->args.len;
        rq.now = (uint64_t)ngx_time();
        rc = ngx_http_oidc_logout_admin_load(r, zone, &rq);
        if (rc != NGX_DECLINED) {
            return rc;
        }
        status = ol_admin_decide(zone->store, &zone->arena, &rq, &resp, err,
                                 sizeof(err));
        if (r->method & NGX_HTTP_DELETE) {
            ngx_http_oidc_logout_sweep_now(zone);
        }
    }

    if (status != OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0, "oidc_logout: %s",
                      err);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_oidc_logout_output(r, resp);
}

/* The upstream provider's POST is read: its logout token decided. */
static void
ngx_http_oidc_logout_receive(ngx_http_request_t *r)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_int_t rc;
    ngx_str_t body;
    ol_response *resp;
    ngx_http_oidc_logout_zone_t *zone;
    ngx_http_oidc_logout_loc_conf_t *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    zone = olcf->session->shm_zone->data;

    rc = ngx_http_oidc_logout_form_body(r, &body);
    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(
            r, ngx_http_oidc_logout_api_refuse(
                   r, 400,
                   "backchannel receiver: request body larger than "
                   "client_body_buffer_size, or kept in a file",
                   NULL));
        return;
    }
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ol_receiver_decide(
            olcf->receiver, ngx_http_oidc_logout_keys_upstream(r), zone->store,
            &zone->arena, (const char *)body.data, body.len,
            (uint64_t)ngx_time(), &resp, err, sizeof(err)) != OL_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0, "oidc_logout: %s",
                      err);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ol_response_unknown_kid(resp)) {
        ngx_http_oidc_logout_keys_unknown_kid(r);
    }
    if (ol_response_status(resp) == NGX_HTTP_OK) {
        ngx_http_oidc_logout_cluster_end_by(zone, resp);
        ngx_http_oidc_logout_sweep_now(zone);
    }

    ngx_http_finalize_request(r, ngx_http_oidc_logout_output(r, resp));
}
