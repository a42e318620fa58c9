/*
 * ngx_http_oidc_logout_module: directives and configuration.
 */

#include "ngx_http_oidc_logout.h"

static ngx_int_t ngx_http_oidc_logout_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_oidc_logout_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_oidc_logout_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_oidc_logout_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_oidc_logout_merge_srv_conf(ngx_conf_t *cf, void *parent,
                                                 void *child);
static void *ngx_http_oidc_logout_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_oidc_logout_merge_loc_conf(ngx_conf_t *cf, void *parent,
                                                 void *child);
static char *ngx_http_oidc_logout_clients(ngx_conf_t *cf, ngx_command_t *cmd,
                                          void *conf);
static char *ngx_http_oidc_logout_allowed_urls(ngx_conf_t *cf,
                                               ngx_command_t *cmd, void *conf);
static char *ngx_http_oidc_logout(ngx_conf_t *cf, ngx_command_t *cmd,
                                  void *conf);
static char *ngx_http_oidc_logout_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
                                         void *conf);
static char *ngx_http_oidc_logout_keys(ngx_conf_t *cf, ngx_command_t *cmd,
                                       void *conf);
static char *ngx_http_oidc_logout_page(ngx_conf_t *cf, ngx_command_t *cmd,
                                       void *conf);
static char *ngx_http_oidc_logout_document(ngx_conf_t *cf, ngx_command_t *cmd,
                                           void *conf);
static void ngx_http_oidc_logout_record_path(ngx_conf_t *cf,
                                             ngx_http_core_loc_conf_t *clcf,
                                             ngx_str_t *path);

/* The range of a time or number directive, and what to say outside it. */
typedef struct {
    ngx_conf_post_handler_pt post_handler;
    ngx_uint_t min; /* ngx_msec_t is an ngx_uint_t as well */
    ngx_uint_t max;
    char *reason;
} ngx_http_oidc_logout_bounds_t;

static char *ngx_http_oidc_logout_check_bounds(ngx_conf_t *cf, void *post,
                                               void *data);

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

/* Room for the core's configuration error messages. */

static ngx_command_t ngx_http_oidc_logout_commands[] = {

    {ngx_string("oidc_logout_clients"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_clients, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_allowed_urls"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_allowed_urls, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_issuer"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_issuer, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_keys"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_keys, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

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
    &ngx_http_oidc_logout_module_ctx, /* module context */
    ngx_http_oidc_logout_commands,    /* module directives */
    NGX_HTTP_MODULE,                  /* module type */
    NULL,                             /* init master */
    NULL,                             /* init module */
    NULL,                             /* init process */
    NULL,                             /* init thread */
    NULL,                             /* exit thread */
    NULL,                             /* exit process */
    NULL,                             /* exit master */
    NGX_MODULE_V1_PADDING};

static ngx_int_t
ngx_http_oidc_logout_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_oidc_logout_add_variables(cf);
}

static ngx_int_t
ngx_http_oidc_logout_postconfiguration(ngx_conf_t *cf)
{
    return ngx_http_oidc_logout_session_init(cf);
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
                       sizeof(ngx_http_oidc_logout_session_ref_t)) != NGX_OK) {
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
    conf->bc_verify = NGX_CONF_UNSET;
    conf->bc_server_name = NGX_CONF_UNSET;

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

    oscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);
    if (conf->document == NGX_HTTP_OIDC_LOGOUT_JWKS && oscf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout_jwks\" needs "
                           "\"oidc_logout_keys\"");
        return NGX_CONF_ERROR;
    }
    if (conf->mode == OL_MODE_OIDC && oscf->keys != NULL &&
        (oscf->issuer.len == 0 || oscf->clients == NULL)) {
        /* no hint could ever be valid: every user would have to confirm */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout oidc\" with "
                           "\"oidc_logout_keys\" needs \"oidc_logout_issuer\" "
                           "and \"oidc_logout_clients\" to verify "
                           "id_token_hint");
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

    if (ngx_http_oidc_logout_check_sessions(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return conf->mode != 0 ? ngx_http_oidc_logout_endpoint_init(cf, conf, oscf)
                           : NGX_CONF_OK;
}

/*
 * The file argument of a directive, relative to the configuration's
 * directory, and a pool cleanup for what the caller loads from it (the
 * caller sets its handler and data once the load succeeds).
 */
static ngx_pool_cleanup_t *
ngx_http_oidc_logout_conf_file(ngx_conf_t *cf, ngx_str_t *arg, ngx_str_t *path)
{
    *path = *arg;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NULL;
    }

    return ngx_pool_cleanup_add(cf->pool, 0);
}

static void
ngx_http_oidc_logout_clients_cleanup(void *data)
{
    ol_clients_free(data);
}

static void
ngx_http_oidc_logout_allowlist_cleanup(void *data)
{
    ol_allowlist_free(data);
}

static char *
ngx_http_oidc_logout_clients(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    u_char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_str_t *value, path;
    ol_status rc;
    ol_clients *clients;
    ngx_pool_cleanup_t *cln;

    if (oscf->clients != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cln = ngx_http_oidc_logout_conf_file(cf, &value[1], &path);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    /* ngx_conf_full_name() leaves the name NUL-terminated */
    rc = ol_clients_load((const char *)path.data, &clients, (char *)err,
                         sizeof(err));
    if (rc != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_clients %s", err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_clients_cleanup;
    cln->data = clients;
    oscf->clients = clients;

    return ngx_http_oidc_logout_bc_targets(cf, oscf);
}

static char *
ngx_http_oidc_logout_allowed_urls(ngx_conf_t *cf, ngx_command_t *cmd,
                                  void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    u_char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_str_t *value;
    ngx_uint_t i;
    ol_allowlist *list;
    ngx_pool_cleanup_t *cln;

    if (oscf->tenant_urls != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ol_allowlist_new(&list) != OL_OK) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_allowlist_cleanup;
    cln->data = list;
    oscf->tenant_urls = list;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ol_allowlist_add(list, (const char *)value[i].data, value[i].len,
                             (char *)err, sizeof(err)) != OL_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: oidc_logout_allowed_urls "
                               "\"%V\": %s",
                               &value[i], err);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}

static char *
ngx_http_oidc_logout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    ngx_str_t *value;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    oscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);

    if (olcf->mode != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "oidc") == 0) {
        olcf->mode = OL_MODE_OIDC;

    } else if (ngx_strcmp(value[1].data, "auth0") == 0) {
        olcf->mode = OL_MODE_AUTH0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: invalid mode \"%V\" in \"oidc_logout\""
                           ", it must be \"oidc\" or \"auth0\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_oidc_logout_handler;

    ngx_http_oidc_logout_record_path(
        cf, clcf, OL_MODE_OIDC == olcf->mode ? &oscf->end_session_path : NULL);

    return NGX_CONF_OK;
}

/* Keeps the first plain location path of a kind, for the metadata. */
static void
ngx_http_oidc_logout_record_path(ngx_conf_t *cf, ngx_http_core_loc_conf_t *clcf,
                                 ngx_str_t *path)
{
    if (path == NULL || path->len != 0 || clcf->named
#if (NGX_PCRE)
        || clcf->regex != NULL
#endif
    ) {
        return;
    }
    *path = clcf->name;
}

static char *
ngx_http_oidc_logout_issuer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    u_char out[4096];
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    size_t len;
    ngx_str_t *value;

    if (oscf->issuer.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ol_url_canonicalize((const char *)value[1].data, value[1].len,
                            (char *)out, sizeof(out), &len, err,
                            sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_issuer \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    oscf->issuer = value[1];
    return NGX_CONF_OK;
}

static void
ngx_http_oidc_logout_keys_cleanup(void *data)
{
    ol_keys_free(data);
}

static char *
ngx_http_oidc_logout_keys(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_str_t *value, path;
    ol_keys *keys;
    ngx_pool_cleanup_t *cln;

    if (oscf->keys != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cln = ngx_http_oidc_logout_conf_file(cf, &value[1], &path);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ol_keys_load((const char *)path.data, &keys, err, sizeof(err)) !=
        OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_keys %s", err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_keys_cleanup;
    cln->data = keys;
    oscf->keys = keys;

    return NGX_CONF_OK;
}

static void
ngx_http_oidc_logout_template_cleanup(void *data)
{
    ol_template_free(data);
}

static char *
ngx_http_oidc_logout_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    static const char *const kinds[] = {"logged_out", "error", "confirm"};
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    ngx_str_t *value, path;
    ngx_uint_t kind;
    ol_template *page;
    ngx_pool_cleanup_t *cln;

    value = cf->args->elts;

    for (kind = 0; kind < 3; kind++) {
        if (ngx_strcmp(value[1].data, kinds[kind]) == 0) {
            break;
        }
    }
    if (kind == 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: invalid page \"%V\" in "
                           "\"oidc_logout_page\", it must be \"logged_out\", "
                           "\"error\" or \"confirm\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    if (olcf->pages[kind] != NULL) {
        return "is duplicate";
    }

    cln = ngx_http_oidc_logout_conf_file(cf, &value[2], &path);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ol_template_load((const char *)path.data, (ol_page_kind)kind, &page,
                         err, sizeof(err)) != OL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: oidc_logout_page %V %s", &value[1],
                           err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_oidc_logout_template_cleanup;
    cln->data = page;
    olcf->pages[kind] = page;

    return NGX_CONF_OK;
}

static char *
ngx_http_oidc_logout_document(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    ngx_http_core_loc_conf_t *clcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    if (olcf->document != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    olcf->document = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_oidc_logout_document_handler;

    oscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);
    ngx_http_oidc_logout_record_path(
        cf, clcf,
        cmd->offset == NGX_HTTP_OIDC_LOGOUT_JWKS ? &oscf->jwks_path : NULL);

    return NGX_CONF_OK;
}

static char *
ngx_http_oidc_logout_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_oidc_logout_bounds_t *bounds = post;
    ngx_uint_t *value = data;

    if (*value < bounds->min || *value > bounds->max) {
        return bounds->reason;
    }

    return NGX_CONF_OK;
}
