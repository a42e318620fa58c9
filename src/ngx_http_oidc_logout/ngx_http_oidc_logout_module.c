/*
 * ngx_http_oidc_logout_module: the module, its directives and the
 * configuration of http, server and location blocks (create, merge, checks
 * that need the whole block).  The directive handlers are in
 * ngx_http_oidc_logout_conf.c.
 */

#include "ngx_http_oidc_logout.h"

static ngx_int_t ngx_http_oidc_logout_init_process(ngx_cycle_t *cycle);
static void ngx_http_oidc_logout_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_oidc_logout_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_oidc_logout_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_oidc_logout_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_oidc_logout_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_oidc_logout_merge_srv_conf(ngx_conf_t *cf, void *parent,
                                                 void *child);
static void *ngx_http_oidc_logout_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_oidc_logout_merge_loc_conf(ngx_conf_t *cf, void *parent,
                                                 void *child);
/* How long a front-channel page may keep the user waiting, how long a
 * back-channel attempt may take, how often it is retried, and how long a
 * redirect may wait for the deliveries. */
static ngx_http_oidc_logout_bounds_t
    ngx_http_oidc_logout_frontchannel_timeout_bounds = {
        ngx_http_oidc_logout_check_bounds, 1, 60000,
        "must be between 1ms and 60s"};
static ngx_http_oidc_logout_bounds_t
    ngx_http_oidc_logout_backchannel_timeout_bounds = {
        ngx_http_oidc_logout_check_bounds, 1, 60000,
        "must be between 1ms and 60s"};
static ngx_http_oidc_logout_bounds_t
    ngx_http_oidc_logout_backchannel_retries_bounds = {
        ngx_http_oidc_logout_check_bounds, 0, 10, "must be between 0 and 10"};
static ngx_http_oidc_logout_bounds_t
    ngx_http_oidc_logout_backchannel_wait_bounds = {
        ngx_http_oidc_logout_check_bounds, 0, 60000, "must be 60s at most"};
static ngx_http_oidc_logout_bounds_t
    ngx_http_oidc_logout_backchannel_give_up_bounds = {
        ngx_http_oidc_logout_check_bounds, 1, 30 * 24 * 3600,
        "must be between 1s and 30d"};

static ngx_command_t ngx_http_oidc_logout_commands[] = {

    {ngx_string("oidc_logout_clients"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_srv_file, NGX_HTTP_SRV_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_HOLD_CLIENTS, NULL},

    {ngx_string("oidc_logout_allowed_urls"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_allowed_urls, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_issuer"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_issuer, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_keys"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_srv_file, NGX_HTTP_SRV_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS, NULL},

    {ngx_string("oidc_logout_keys_url"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE12,
     ngx_http_oidc_logout_keys_url, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_federated_url"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, federated_url), NULL},

    {ngx_string("oidc_logout_page"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_TAKE2,
     ngx_http_oidc_logout_page, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_jwks"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     ngx_http_oidc_logout_document, NGX_HTTP_LOC_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_JWKS, NULL},

    {ngx_string("oidc_logout_metadata"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     ngx_http_oidc_logout_document, NGX_HTTP_LOC_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_METADATA, NULL},

    {ngx_string("oidc_logout_admin"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     ngx_http_oidc_logout_document, NGX_HTTP_LOC_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_ADMIN, NULL},

    {ngx_string("oidc_logout_metrics"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     ngx_http_oidc_logout_document, NGX_HTTP_LOC_CONF_OFFSET,
     NGX_HTTP_OIDC_LOGOUT_METRICS, NULL},

    {ngx_string("oidc_logout_backchannel_receiver"),
     NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_oidc_logout_document,
     NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_OIDC_LOGOUT_RECEIVER, NULL},

    {ngx_string("oidc_logout_upstream_client_id"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_upstream_client_id, NGX_HTTP_SRV_CONF_OFFSET, 0,
     NULL},

    {ngx_string("oidc_logout_upstream_issuer"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, upstream_issuer), NULL},

    {ngx_string("oidc_logout_zone"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_zone, 0, 0, NULL},

    {ngx_string("oidc_logout_session"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_1MORE,
     ngx_http_oidc_logout_session, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_login"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, login), NULL},

    {ngx_string("oidc_logout_join"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, join), NULL},

    {ngx_string("oidc_logout_require_session"),
     NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, require_session), NULL},

    {ngx_string("oidc_logout_frontchannel_timeout"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, frontchannel_timeout),
     &ngx_http_oidc_logout_frontchannel_timeout_bounds},

    {ngx_string("oidc_logout_backchannel_timeout"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, bc_timeout),
     &ngx_http_oidc_logout_backchannel_timeout_bounds},

    {ngx_string("oidc_logout_backchannel_retries"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_TAKE1,
     ngx_conf_set_num_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, bc_retries),
     &ngx_http_oidc_logout_backchannel_retries_bounds},

    {ngx_string("oidc_logout_backchannel_wait"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
         NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, bc_wait),
     &ngx_http_oidc_logout_backchannel_wait_bounds},

    {ngx_string("oidc_logout_backchannel_give_up"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_sec_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, bc_give_up),
     &ngx_http_oidc_logout_backchannel_give_up_bounds},

    {ngx_string("oidc_logout_backchannel_ssl_verify"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, bc_verify), NULL},

    {ngx_string("oidc_logout_backchannel_ssl_server_name"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, bc_server_name), NULL},

    {ngx_string("oidc_logout_backchannel_ssl_trusted_certificate"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_SRV_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_srv_conf_t, bc_trusted), NULL},

    {ngx_string("oidc_logout"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_authorization_endpoint"),
     NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_oidc_logout_observes,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, authorization_endpoint), NULL},

    {ngx_string("oidc_logout_token_endpoint"),
     NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_oidc_logout_observes,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_oidc_logout_loc_conf_t, token_endpoint), NULL},

    {ngx_string("oidc_logout_provider_cookies"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_provider_cookies, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    ngx_null_command};

static ngx_http_module_t ngx_http_oidc_logout_module_ctx = {
    ngx_http_oidc_logout_preconfiguration,  /* preconfiguration */
    ngx_http_oidc_logout_postconfiguration, /* postconfiguration */

    ngx_http_oidc_logout_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_oidc_logout_create_srv_conf, /* create server configuration */
    ngx_http_oidc_logout_merge_srv_conf,  /* merge server configuration */

    ngx_http_oidc_logout_create_loc_conf, /* create location configuration */
    ngx_http_oidc_logout_merge_loc_conf   /* merge location configuration */
};

ngx_module_t ngx_http_oidc_logout_module = {
    NGX_MODULE_V1,
    &ngx_http_oidc_logout_module_ctx,  /* module context */
    ngx_http_oidc_logout_commands,     /* module directives */
    NGX_HTTP_MODULE,                   /* module type */
    NULL,                              /* init master */
    NULL,                              /* init module */
    ngx_http_oidc_logout_init_process, /* init process */
    NULL,                              /* init thread */
    NULL,                              /* exit thread */
    ngx_http_oidc_logout_exit_process, /* exit process */
    NULL,                              /* exit master */
    NGX_MODULE_V1_PADDING};

/* A worker starts: the provider's keys, the zones' periodic work. */
static ngx_int_t
ngx_http_oidc_logout_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_oidc_logout_keys_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }
    if (ngx_http_oidc_logout_sweep_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }
    return ngx_http_oidc_logout_cluster_init_process(cycle);
}

static void
ngx_http_oidc_logout_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_oidc_logout_cluster_exit_process(cycle);
    ngx_http_oidc_logout_keys_exit_process(cycle);
}

static ngx_int_t
ngx_http_oidc_logout_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_oidc_logout_add_variables(cf);
}

static ngx_int_t
ngx_http_oidc_logout_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_oidc_logout_main_conf_t *omcf;

    if (ngx_http_oidc_logout_session_init(cf) != NGX_OK ||
        ngx_http_oidc_logout_sweep_notifiers(cf) != NGX_OK ||
        ngx_http_oidc_logout_cluster_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* observing the provider and revoking its cookies need a zone */
    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    return omcf->sessions.nelts ? ngx_http_oidc_logout_provider_filters(cf)
                                : NGX_OK;
}

static void *
ngx_http_oidc_logout_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_oidc_logout_main_conf_t *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&conf->sessions, cf->pool, 4,
                       sizeof(ngx_http_oidc_logout_session_ref_t)) != NGX_OK ||
        ngx_array_init(&conf->zones, cf->pool, 2, sizeof(ngx_shm_zone_t *)) !=
            NGX_OK) {
        return NULL;
    }

    return conf;
}

static void *
ngx_http_oidc_logout_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_oidc_logout_srv_conf_t *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* issuer, federated_url, end_session_path, jwks_path: ngx_pcalloc */
    conf->clients = NGX_CONF_UNSET_PTR;
    conf->tenant_urls = NGX_CONF_UNSET_PTR;
    conf->keys = NGX_CONF_UNSET_PTR;
    conf->keys_url = NGX_CONF_UNSET_PTR;
    conf->bc_verify = NGX_CONF_UNSET;
    conf->bc_server_name = NGX_CONF_UNSET;
    conf->bc_give_up = NGX_CONF_UNSET;
    conf->upstream_client_ids = NGX_CONF_UNSET_PTR;

    return conf;
}

static char *
ngx_http_oidc_logout_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oidc_logout_srv_conf_t *prev = parent;
    ngx_http_oidc_logout_srv_conf_t *conf = child;
    ngx_uint_t inherits_tls;

    /* servers that take the registry and its TLS settings from the http
     * level share one TLS context (and one load of the CA file) */
    inherits_tls = conf->clients == NGX_CONF_UNSET_PTR &&
                   conf->bc_verify == NGX_CONF_UNSET &&
                   conf->bc_trusted.data == NULL;

    if (conf->clients == NGX_CONF_UNSET_PTR) {
        /* the registry and the addresses of its back-channel clients */
        conf->clients =
            prev->clients == NGX_CONF_UNSET_PTR ? NULL : prev->clients;
        conf->bc_ntargets = prev->bc_ntargets;
        conf->bc_https = prev->bc_https;
    }
    ngx_conf_merge_ptr_value(conf->tenant_urls, prev->tenant_urls, NULL);
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    if (conf->federated_url == NULL) {
        conf->federated_url = prev->federated_url;
    }
    ngx_conf_merge_value(conf->bc_verify, prev->bc_verify, 1);
    ngx_conf_merge_value(conf->bc_server_name, prev->bc_server_name, 1);
    ngx_conf_merge_str_value(conf->bc_trusted, prev->bc_trusted, "");
    ngx_conf_merge_ptr_value(conf->keys_url, prev->keys_url, NULL);
    ngx_conf_merge_sec_value(conf->bc_give_up, prev->bc_give_up, 3600);
    ngx_conf_merge_ptr_value(conf->upstream_client_ids,
                             prev->upstream_client_ids, NULL);
    ngx_conf_merge_str_value(conf->upstream_issuer, prev->upstream_issuer, "");

    if (ngx_http_oidc_logout_keys_url_merge(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->bc_ntargets == 0) {
        return NGX_CONF_OK;
    }

#if (NGX_THREADS)
    /* logout tokens are signed in the default thread pool */
    conf->bc_thread_pool = ngx_thread_pool_add(cf, NULL);
    if (conf->bc_thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }
#endif

#if (NGX_HTTP_SSL)
    if (conf->bc_https) {
        if (inherits_tls && prev->bc_ssl != NULL) {
            conf->bc_ssl = prev->bc_ssl;

        } else {
            if (ngx_http_oidc_logout_bc_ssl(cf, conf) != NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }
            if (inherits_tls) {
                prev->bc_ssl = conf->bc_ssl;
            }
        }
    }
#endif

    return NGX_CONF_OK;
}

static void *
ngx_http_oidc_logout_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_oidc_logout_loc_conf_t *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* login and join: NULL (ngx_pcalloc) */
    conf->mode = NGX_CONF_UNSET_UINT;
    conf->session = NGX_CONF_UNSET_PTR;
    conf->require_session = NGX_CONF_UNSET;
    conf->document = NGX_CONF_UNSET_UINT;
    conf->frontchannel_timeout = NGX_CONF_UNSET_MSEC;
    conf->bc_timeout = NGX_CONF_UNSET_MSEC;
    conf->bc_retries = NGX_CONF_UNSET_UINT;
    conf->bc_wait = NGX_CONF_UNSET_MSEC;
    conf->authorization_endpoint = NGX_CONF_UNSET;
    conf->token_endpoint = NGX_CONF_UNSET;
    conf->provider_cookies = NGX_CONF_UNSET_PTR;
    conf->provider_cookie_remember = NGX_CONF_UNSET;

    return conf;
}

static char *
ngx_http_oidc_logout_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oidc_logout_loc_conf_t *prev = parent;
    ngx_http_oidc_logout_loc_conf_t *conf = child;
    ngx_uint_t i;
    const char *client;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, 0);
    ngx_conf_merge_ptr_value(conf->session, prev->session, NULL);
    ngx_conf_merge_value(conf->require_session, prev->require_session, 0);

    if (conf->login == NULL) {
        conf->login = prev->login;
    }
    if (conf->join == NULL) {
        conf->join = prev->join;
    }
    for (i = 0; i < 3; i++) {
        if (conf->pages[i] == NULL) {
            conf->pages[i] = prev->pages[i];
        }
    }
    ngx_conf_merge_uint_value(conf->document, prev->document,
                              NGX_HTTP_OIDC_LOGOUT_NO_DOCUMENT);
    ngx_conf_merge_msec_value(conf->frontchannel_timeout,
                              prev->frontchannel_timeout, 7000);
    ngx_conf_merge_msec_value(conf->bc_timeout, prev->bc_timeout, 5000);
    ngx_conf_merge_uint_value(conf->bc_retries, prev->bc_retries, 2);
    ngx_conf_merge_msec_value(conf->bc_wait, prev->bc_wait, 0);
    ngx_conf_merge_value(conf->authorization_endpoint,
                         prev->authorization_endpoint, 0);
    ngx_conf_merge_value(conf->token_endpoint, prev->token_endpoint, 0);
    /* the names, remember= and path= of one directive go together */
    if (conf->provider_cookies == NGX_CONF_UNSET_PTR) {
        conf->provider_cookies = prev->provider_cookies;
        conf->provider_cookie_remember = prev->provider_cookie_remember;
        conf->provider_cookie_path = prev->provider_cookie_path;
    }
    if (conf->provider_cookies == NGX_CONF_UNSET_PTR) {
        conf->provider_cookies = NULL;
    }
    /* node-oidc-provider's sessions last 14 days by default */
    ngx_conf_merge_sec_value(conf->provider_cookie_remember, NGX_CONF_UNSET,
                             14 * 86400);

    oscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);
    if (conf->document == NGX_HTTP_OIDC_LOGOUT_JWKS && oscf->keys == NULL &&
        oscf->keys_url == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout_jwks\" needs "
                           "\"oidc_logout_keys\" or \"oidc_logout_keys_url\"");
        return NGX_CONF_ERROR;
    }
    if (conf->mode == OL_MODE_OIDC &&
        (oscf->keys != NULL || oscf->keys_url != NULL) &&
        (oscf->issuer.len == 0 || oscf->clients == NULL)) {
        /* no hint could ever be valid: every user would have to confirm */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout oidc\" with "
                           "\"%s\" needs \"oidc_logout_issuer\" "
                           "and \"oidc_logout_clients\" to verify "
                           "id_token_hint",
                           oscf->keys != NULL ? "oidc_logout_keys"
                                              : "oidc_logout_keys_url");
        return NGX_CONF_ERROR;
    }
    if (conf->mode == OL_MODE_AUTH0 && oscf->federated_url != NULL &&
        oscf->issuer.len == 0) {
        /* the way back from the upstream provider is an absolute URL:
         * never one built on the request's Host */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout auth0\" with "
                           "\"oidc_logout_federated_url\" needs "
                           "\"oidc_logout_issuer\": the way back to the "
                           "endpoint is its path on the issuer's origin");
        return NGX_CONF_ERROR;
    }
    if (conf->mode != 0 && oscf->clients != NULL && oscf->issuer.len == 0 &&
        (client = ol_clients_needing_issuer(oscf->clients)) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: client \"%s\" of "
                           "\"oidc_logout_clients\" is notified with the "
                           "issuer's name (a back-channel client, or "
                           "frontchannel_logout_session_required): "
                           "\"oidc_logout_issuer\" must be set",
                           client);
        return NGX_CONF_ERROR;
    }
    if (conf->mode != 0 && conf->session != NULL && oscf->bc_ntargets &&
        (oscf->keys == NULL || *ol_keys_signing_alg(oscf->keys) == '\0')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: clients with a "
                           "backchannel_logout_uri need a private key in "
                           "\"oidc_logout_keys\" to sign logout tokens");
        return NGX_CONF_ERROR;
    }
    if (conf->document == NGX_HTTP_OIDC_LOGOUT_METADATA &&
        (oscf->issuer.len == 0 || oscf->end_session_path.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout_metadata\" needs "
                           "\"oidc_logout_issuer\" and a location with "
                           "\"oidc_logout oidc\" in the same server");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_oidc_logout_check_sessions(cf, conf) != NGX_CONF_OK ||
        ngx_http_oidc_logout_provider_init(cf, conf, oscf) != NGX_CONF_OK ||
        ngx_http_oidc_logout_operators_init(cf, conf, oscf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return conf->mode != 0 ? ngx_http_oidc_logout_endpoint_init(cf, conf, oscf)
                           : NGX_CONF_OK;
}
