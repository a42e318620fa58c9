/*
 * ngx_http_oidc_logout_module: the directive handlers.
 *
 * What the core loads from the configuration (client registry, keys, page
 * templates, allowlist) is checked here, with errors that name the file,
 * the directive and the reason, and freed with the configuration's pool.
 */

#include "ngx_http_oidc_logout.h"

static void ngx_http_oidc_logout_record_path(ngx_conf_t *cf,
                                             ngx_http_core_loc_conf_t *clcf,
                                             ngx_str_t *path);

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

char *
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

char *
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

char *
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

char *
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

char *
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

char *
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

char *
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

char *
ngx_http_oidc_logout_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_oidc_logout_bounds_t *bounds = post;
    ngx_uint_t *value = data;

    if (*value < bounds->min || *value > bounds->max) {
        return bounds->reason;
    }

    return NGX_CONF_OK;
}

static ngx_int_t
ngx_http_oidc_logout_valid_token(ngx_str_t *s, const char *extra)
{
    size_t i;

    for (i = 0; i < s->len; i++) {
        u_char c = s->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || ngx_strchr(extra, c) != NULL)) {
            return 0;
        }
    }

    return s->len > 0;
}

char *
ngx_http_oidc_logout_session(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    ngx_str_t *value, name, arg;
    ngx_uint_t i;
    ngx_http_oidc_logout_session_conf_t *sc;
    ngx_http_oidc_logout_main_conf_t *omcf;
    ngx_http_oidc_logout_session_ref_t *ref;

    if (olcf->session != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_session_conf_t));
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&sc->cookie, "oidc_session");
    ngx_str_set(&sc->path, "/");
    ngx_str_set(&sc->samesite, "Lax");
    sc->secure = 1;
    ngx_str_null(&name);

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        arg = value[i];

        if (ngx_strncmp(arg.data, "zone=", 5) == 0) {
            name.data = arg.data + 5;
            name.len = arg.len - 5;
            continue;
        }

        if (ngx_strncmp(arg.data, "cookie=", 7) == 0) {
            sc->cookie.data = arg.data + 7;
            sc->cookie.len = arg.len - 7;
            if (ngx_http_oidc_logout_valid_token(&sc->cookie,
                                                 "!#$%&'*+-.^_`|~")) {
                continue;
            }
        } else if (ngx_strncmp(arg.data, "domain=", 7) == 0) {
            sc->domain.data = arg.data + 7;
            sc->domain.len = arg.len - 7;
            if (ngx_http_oidc_logout_valid_token(&sc->domain, ".-")) {
                continue;
            }
        } else if (ngx_strncmp(arg.data, "path=", 5) == 0) {
            sc->path.data = arg.data + 5;
            sc->path.len = arg.len - 5;
            if (sc->path.data[0] == '/' &&
                ngx_http_oidc_logout_valid_token(&sc->path,
                                                 "/!$%&'()*+,-.:=@_~")) {
                continue;
            }
        } else if (ngx_strcmp(arg.data, "secure=on") == 0) {
            sc->secure = 1;
            continue;
        } else if (ngx_strcmp(arg.data, "secure=off") == 0) {
            sc->secure = 0;
            continue;
        } else if (ngx_strcmp(arg.data, "samesite=lax") == 0) {
            ngx_str_set(&sc->samesite, "Lax");
            continue;
        } else if (ngx_strcmp(arg.data, "samesite=strict") == 0) {
            ngx_str_set(&sc->samesite, "Strict");
            continue;
        } else if (ngx_strcmp(arg.data, "samesite=none") == 0) {
            ngx_str_set(&sc->samesite, "None");
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: invalid parameter \"%V\" in "
                           "\"oidc_logout_session\"",
                           &arg);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"oidc_logout_session\" needs "
                           "zone=NAME");
        return NGX_CONF_ERROR;
    }

    if (!sc->secure && ngx_strcmp(sc->samesite.data, "None") == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: samesite=none needs secure=on in "
                           "\"oidc_logout_session\" (browsers refuse it)");
        return NGX_CONF_ERROR;
    }

    sc->shm_zone =
        ngx_shared_memory_add(cf, &name, 0, &ngx_http_oidc_logout_module);
    if (sc->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /* whether the zone is declared is known once the http block is read */
    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oidc_logout_module);
    ref = ngx_array_push(&omcf->sessions);
    if (ref == NULL) {
        return NGX_CONF_ERROR;
    }
    ref->shm_zone = sc->shm_zone;
    ref->file = cf->conf_file->file.name;
    ref->line = cf->conf_file->line;

    olcf->session = sc;
    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_check_sessions(ngx_conf_t *cf,
                                    ngx_http_oidc_logout_loc_conf_t *conf)
{
    const char *directive = NULL;

    if (conf->session != NULL) {
        return NGX_CONF_OK;
    }

    if (conf->login) {
        directive = "oidc_logout_login";
    } else if (conf->join) {
        directive = "oidc_logout_join";
    } else if (conf->require_session == 1) {
        directive = "oidc_logout_require_session";
    }

    if (directive) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oidc_logout: \"%s\" needs \"oidc_logout_session\" "
                           "in the same location or an enclosing block",
                           directive);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
