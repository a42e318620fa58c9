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

/* Room for the core's configuration error messages. */
#define NGX_HTTP_OIDC_LOGOUT_ERRLEN 2048

static ngx_command_t ngx_http_oidc_logout_commands[] = {

    {ngx_string("oidc_logout_clients"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
     ngx_http_oidc_logout_clients, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

    {ngx_string("oidc_logout_allowed_urls"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_1MORE,
     ngx_http_oidc_logout_allowed_urls, NGX_HTTP_SRV_CONF_OFFSET, 0, NULL},

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

    conf->clients = NGX_CONF_UNSET_PTR;
    conf->tenant_urls = NGX_CONF_UNSET_PTR;

    return conf;
}

static char *
ngx_http_oidc_logout_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oidc_logout_srv_conf_t *prev = parent;
    ngx_http_oidc_logout_srv_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->clients, prev->clients, NULL);
    ngx_conf_merge_ptr_value(conf->tenant_urls, prev->tenant_urls, NULL);

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

    return conf;
}

static char *
ngx_http_oidc_logout_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oidc_logout_loc_conf_t *prev = parent;
    ngx_http_oidc_logout_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, 0);
    ngx_conf_merge_ptr_value(conf->session, prev->session, NULL);
    ngx_conf_merge_value(conf->require_session, prev->require_session, 0);

    if (conf->login == NULL) {
        conf->login = prev->login;
    }
    if (conf->join == NULL) {
        conf->join = prev->join;
    }

    return ngx_http_oidc_logout_check_sessions(cf, conf);
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
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
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

    return NGX_CONF_OK;
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

    return NGX_CONF_OK;
}
