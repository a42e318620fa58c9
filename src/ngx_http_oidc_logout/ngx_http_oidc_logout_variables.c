/*
 * ngx_http_oidc_logout_module: the variables.
 *
 * $oidc_logout_sid and $oidc_logout_sub expose the request's live session,
 * $oidc_logout_client_id the client the location joins, and
 * $oidc_logout_return_to the way back of a federated logout.
 */

#include "ngx_http_oidc_logout.h"

enum { NGX_HTTP_OIDC_LOGOUT_VAR_SID, NGX_HTTP_OIDC_LOGOUT_VAR_SUB };

/* A found, uncacheable variable value. */
static ngx_int_t
ngx_http_oidc_logout_variable_value(ngx_http_variable_value_t *v, u_char *data,
                                    size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

/* Looks the request's session up once (ctx->info; sid empty if none). */
static ngx_int_t
ngx_http_oidc_logout_lookup(ngx_http_request_t *r,
                            ngx_http_oidc_logout_loc_conf_t *lcf,
                            ngx_http_oidc_logout_ctx_t *ctx)
{
    ngx_http_oidc_logout_zone_t *zone;

    if (ctx->looked_up) {
        return NGX_OK;
    }

    if (ctx->info == NULL) {
        ctx->info = ngx_palloc(r->main->pool, sizeof(ol_session_info));
        if (ctx->info == NULL) {
            return NGX_ERROR;
        }
    }

    zone = lcf->session->shm_zone->data;
    if (ol_session_find(zone->store, &zone->arena,
                        (const char *)ctx->handle.data, ctx->handle.len,
                        ngx_time(), 0, ctx->info) != OL_OK) {
        ctx->info->sub_len = 0;
        ctx->info->sid[0] = '\0';
    }
    ctx->looked_up = 1;

    return NGX_OK;
}

static ngx_int_t
ngx_http_oidc_logout_return_to_variable(ngx_http_request_t *r,
                                        ngx_http_variable_value_t *v,
                                        uintptr_t data)
{
    ngx_http_oidc_logout_ctx_t *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_oidc_logout_module);
    if (ctx == NULL || ctx->return_to.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_oidc_logout_variable_value(v, ctx->return_to.data,
                                               ctx->return_to.len);
}

static ngx_int_t
ngx_http_oidc_logout_session_variable(ngx_http_request_t *r,
                                      ngx_http_variable_value_t *v,
                                      uintptr_t data)
{
    ngx_http_oidc_logout_ctx_t *ctx;
    ngx_http_oidc_logout_loc_conf_t *lcf;

    v->not_found = 1;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    if (lcf->session == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_oidc_logout_get_ctx(r, lcf->session);
    if (ctx == NULL || ngx_http_oidc_logout_lookup(r, lcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->info->sid[0] == '\0') {
        return NGX_OK;
    }

    if (data == NGX_HTTP_OIDC_LOGOUT_VAR_SID) {
        return ngx_http_oidc_logout_variable_value(v, (u_char *)ctx->info->sid,
                                                   OL_ID_TEXT_LEN);
    }
    return ngx_http_oidc_logout_variable_value(v, (u_char *)ctx->info->sub,
                                               ctx->info->sub_len);
}

/* The client the location joins (oidc_logout_join), when registered. */
static ngx_int_t
ngx_http_oidc_logout_client_variable(ngx_http_request_t *r,
                                     ngx_http_variable_value_t *v,
                                     uintptr_t data)
{
    ngx_str_t client;
    ngx_http_oidc_logout_loc_conf_t *lcf;
    ngx_http_oidc_logout_srv_conf_t *oscf;

    v->not_found = 1;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oidc_logout_module);
    if (lcf->join == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, lcf->join, &client) != NGX_OK) {
        return NGX_ERROR;
    }

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_oidc_logout_module);
    if (client.len == 0 ||
        !ol_clients_has(oscf->clients, (const char *)client.data, client.len)) {
        return NGX_OK;
    }

    return ngx_http_oidc_logout_variable_value(v, client.data, client.len);
}

static ngx_http_variable_t ngx_http_oidc_logout_vars[] = {

    {ngx_string("oidc_logout_sid"), NULL, ngx_http_oidc_logout_session_variable,
     NGX_HTTP_OIDC_LOGOUT_VAR_SID, NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("oidc_logout_sub"), NULL, ngx_http_oidc_logout_session_variable,
     NGX_HTTP_OIDC_LOGOUT_VAR_SUB, NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("oidc_logout_return_to"), NULL,
     ngx_http_oidc_logout_return_to_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("oidc_logout_client_id"), NULL,
     ngx_http_oidc_logout_client_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0},

    ngx_http_null_variable};

ngx_int_t
ngx_http_oidc_logout_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t *var, *v;

    for (v = ngx_http_oidc_logout_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
