/*
 * ngx_http_oidc_logout_module: the directive handlers.
 *
 * What the core loads from the configuration (client registry, keys, page
 * templates, allowlist) is checked here, with errors that name the file,
 * the directive and the reason, and freed with the configuration's pool.
 */

#include "ngx_http_oidc_logout.h"

/* What the configuration holds of the core: freed with its pool. */
typedef struct {
    ngx_uint_t type;
    void *object; /* NULL until the caller has made it */
} ngx_http_oidc_logout_held_t;

static void
ngx_http_oidc_logout_held_cleanup(void *data)
{
    ngx_http_oidc_logout_held_t *held = data;

    /* every _free of the core accepts NULL */
    switch (held->type) {
    case NGX_HTTP_OIDC_LOGOUT_HOLD_CLIENTS:
        ol_clients_free(held->object);
        break;
    case NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS:
        ol_keys_free(held->object);
        break;
    case NGX_HTTP_OIDC_LOGOUT_HOLD_PAGE:
        ol_template_free(held->object);
        break;
    default:
        ol_allowlist_free(held->object);
    }
}

/* A pool cleanup of the configuration for an object of the core, registered
 * before the object is made so that no failure leaks it. */
static ngx_http_oidc_logout_held_t *
ngx_http_oidc_logout_hold(ngx_conf_t *cf, ngx_uint_t type)
{
    ngx_pool_cleanup_t *cln;
    ngx_http_oidc_logout_held_t *held;

    cln = ngx_pool_cleanup_add(cf->pool, sizeof(ngx_http_oidc_logout_held_t));
    if (cln == NULL) {
        return NULL;
    }

    held = cln->data;
    held->type = type;
    held->object = NULL;
    cln->handler = ngx_http_oidc_logout_held_cleanup;

    return held;
}

/*
 * Loads what the directive's last argument names (a file, relative to the
 * configuration's directory): the client registry, the keys or the page
 * template of kind (an ol_page_kind, oidc_logout_page only).  NULL when it
 * cannot, after logging the core's reason behind the directive's other
 * arguments.
 */
static void *
ngx_http_oidc_logout_load(ngx_conf_t *cf, ngx_uint_t type, ngx_uint_t kind)
{
    char err[NGX_HTTP_OIDC_LOGOUT_ERRLEN];
    const char *name;
    ngx_str_t *value, path;
    ol_status rc;
    ol_clients *clients = NULL;
    ol_keys *keys = NULL;
    ol_template *page = NULL;
    ngx_http_oidc_logout_held_t *held;

    value = cf->args->elts;
    path = value[cf->args->nelts - 1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NULL;
    }

    held = ngx_http_oidc_logout_hold(cf, type);
    if (held == NULL) {
        return NULL;
    }

    /* ngx_conf_full_name() leaves the name NUL-terminated */
    name = (const char *)path.data;

    switch (type) {
    case NGX_HTTP_OIDC_LOGOUT_HOLD_CLIENTS:
        rc = ol_clients_load(name, &clients, err, sizeof(err));
        held->object = clients;
        break;
    case NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS:
        rc = ol_keys_load(name, &keys, err, sizeof(err));
        held->object = keys;
        break;
    default:
        rc =
            ol_template_load(name, (ol_page_kind)kind, &page, err, sizeof(err));
        held->object = page;
    }

    if (rc == OL_OK) {
        return held->object;
    }

    if (cf->args->nelts == 3) { /* oidc_logout_page KIND FILE */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: %V %V %s",
                           &value[0], &value[1], err);
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: %V %s",
                           &value[0], err);
    }

    return NULL;
}

/* oidc_logout_clients and oidc_logout_keys (cmd->offset says which). */
char *
ngx_http_oidc_logout_srv_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_srv_conf_t *oscf = conf;

    void *loaded;
    ngx_uint_t keys = cmd->offset == NGX_HTTP_OIDC_LOGOUT_HOLD_KEYS;

    if ((keys ? (void *)oscf->keys : (void *)oscf->clients) !=
        NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    loaded = ngx_http_oidc_logout_load(cf, cmd->offset, 0);
    if (loaded == NULL) {
        return NGX_CONF_ERROR;
    }

    if (keys) {
        oscf->keys = loaded;
        return NGX_CONF_OK;
    }

    oscf->clients = loaded;
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
    ngx_http_oidc_logout_held_t *held;

    if (oscf->tenant_urls != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    held = ngx_http_oidc_logout_hold(cf, NGX_HTTP_OIDC_LOGOUT_HOLD_ALLOWLIST);
    if (held == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ol_allowlist_new(&list) != OL_OK) {
        return NGX_CONF_ERROR;
    }

    held->object = list;
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

/* Makes the location's content handler handler, and keeps in path the first
 * plain location path of a kind, for the metadata. */
static void
ngx_http_oidc_logout_serve(ngx_conf_t *cf, ngx_http_handler_pt handler,
                           ngx_str_t *path)
{
    ngx_http_core_loc_conf_t *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

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
ngx_http_oidc_logout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    ngx_str_t *value;
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

    ngx_http_oidc_logout_serve(
        cf, ngx_http_oidc_logout_handler,
        OL_MODE_OIDC == olcf->mode ? &oscf->end_session_path : NULL);

    return NGX_CONF_OK;
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

char *
ngx_http_oidc_logout_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    static const char *const kinds[] = {"logged_out", "error", "confirm"};
    ngx_str_t *value;
    ngx_uint_t kind;
    ol_template *page;

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

    page = ngx_http_oidc_logout_load(cf, NGX_HTTP_OIDC_LOGOUT_HOLD_PAGE, kind);
    if (page == NULL) {
        return NGX_CONF_ERROR;
    }
    olcf->pages[kind] = page;

    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_document(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    ngx_http_oidc_logout_srv_conf_t *oscf;

    if (olcf->document != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    olcf->document = cmd->offset;
    olcf->served_file = cf->conf_file->file.name;
    olcf->served_line = cf->conf_file->line;

    oscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);
    ngx_http_oidc_logout_serve(
        cf,
        cmd->offset >= NGX_HTTP_OIDC_LOGOUT_ADMIN
            ? ngx_http_oidc_logout_operators_handler
            : ngx_http_oidc_logout_document_handler,
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

        return ngx_http_oidc_logout_invalid_parameter(cf, cmd, &arg);
    }

    if (name.len == 0) {
        return ngx_http_oidc_logout_needs(cf, cmd, "zone=NAME");
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
    ref->srv_conf =
        ngx_http_conf_get_module_srv_conf(cf, ngx_http_oidc_logout_module);

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

char *
ngx_http_oidc_logout_observes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_flag_t *flag = (ngx_flag_t *)((char *)conf + cmd->offset);

    if (*flag != NGX_CONF_UNSET) {
        return "is duplicate";
    }
    *flag = 1;
    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_provider_cookies(ngx_conf_t *cf, ngx_command_t *cmd,
                                      void *conf)
{
    ngx_http_oidc_logout_loc_conf_t *olcf = conf;

    u_char *p;
    ngx_str_t *value, *name, s;
    ngx_uint_t i;

    if (olcf->provider_cookies != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    olcf->provider_cookies = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (olcf->provider_cookies == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "remember=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;
            olcf->provider_cookie_remember = ngx_parse_time(&s, 1);
            if (olcf->provider_cookie_remember == (time_t)NGX_ERROR ||
                olcf->provider_cookie_remember <= 0 ||
                olcf->provider_cookie_remember > 0x7fffffff) {
                return ngx_http_oidc_logout_invalid_parameter(cf, cmd,
                                                              &value[i]);
            }
            continue;
        }
        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            /* an absolute path, nothing a Set-Cookie line would split on */
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            if (s.len == 0 || s.data[0] != '/') {
                return ngx_http_oidc_logout_invalid_parameter(cf, cmd,
                                                              &value[i]);
            }
            for (p = s.data; p < s.data + s.len; p++) {
                if (*p <= ' ' || *p >= 0x7f || *p == ';') {
                    return ngx_http_oidc_logout_invalid_parameter(cf, cmd,
                                                                  &value[i]);
                }
            }
            olcf->provider_cookie_path = s;
            continue;
        }
        /* a cookie-name is an RFC 7230 token */
        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (*p <= ' ' || *p >= 0x7f ||
                ngx_strchr("()<>@,;:\\\"/[]?={}", *p) != NULL) {
                return ngx_http_oidc_logout_invalid_parameter(cf, cmd,
                                                              &value[i]);
            }
        }
        name = ngx_array_push(olcf->provider_cookies);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }
        *name = value[i];
    }

    if (olcf->provider_cookies->nelts == 0) {
        return ngx_http_oidc_logout_needs(cf, cmd, "a cookie name");
    }
    return NGX_CONF_OK;
}

char *
ngx_http_oidc_logout_invalid_parameter(ngx_conf_t *cf, ngx_command_t *cmd,
                                       ngx_str_t *arg)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "oidc_logout: invalid parameter \"%V\" in \"%V\"", arg,
                       &cmd->name);
    return NGX_CONF_ERROR;
}

char *
ngx_http_oidc_logout_needs(ngx_conf_t *cf, ngx_command_t *cmd, const char *what)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "oidc_logout: \"%V\" needs %s",
                       &cmd->name, what);
    return NGX_CONF_ERROR;
}
