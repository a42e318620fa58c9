/*
 * ngx_http_oidc_logout_module: back-channel targets and TLS contexts.
 *
 * The core parses each client's backchannel_logout_uri when the registry
 * loads (and oidc_logout_keys_url); this file resolves the target's host
 * there and then, as proxy_pass does with a literal host (a host that does
 * not resolve fails nginx -t), and makes the TLS client context of a
 * server's deliveries.
 */

#include "ngx_http_oidc_logout.h"

const char *
ngx_http_oidc_logout_bc_resolve(ngx_conf_t *cf, ol_target *t)
{
    ngx_url_t u;
    ngx_http_oidc_logout_bc_peer_t *peer;

    peer = ngx_pcalloc(cf->pool, sizeof(ngx_http_oidc_logout_bc_peer_t));
    if (peer == NULL) {
        return "no memory";
    }

    /* the host as the URI names it: "[::1]" for an IPv6 address */
    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url.len = t->host_len;
    u.url.data = (u_char *)t->host;
    u.default_port = (in_port_t)t->port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        return u.err ? u.err : "no address";
    }

    peer->addrs = u.addrs;
    peer->naddrs = u.naddrs;
    peer->host = u.host;
    t->data = peer;

    return NULL;
}

char *
ngx_http_oidc_logout_bc_targets(ngx_conf_t *cf,
                                ngx_http_oidc_logout_srv_conf_t *oscf)
{
    size_t i, n;
    const char *why;
    ol_target *t, *targets;

    n = ol_clients_targets(oscf->clients, &targets);
    oscf->bc_ntargets = n;

    for (i = 0; i < n; i++) {
        t = &targets[i];
        oscf->bc_https |= t->https;

#if !(NGX_HTTP_SSL)
        if (t->https) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: client \"%s\": "
                               "backchannel_logout_uri \"%s\" needs nginx "
                               "built with SSL",
                               t->client_id, t->uri);
            return NGX_CONF_ERROR;
        }
#endif

        why = ngx_http_oidc_logout_bc_resolve(cf, t);
        if (why != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oidc_logout: client \"%s\": "
                               "backchannel_logout_uri \"%s\": %s",
                               t->client_id, t->uri, why);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}

#if (NGX_HTTP_SSL)

static int
ngx_http_oidc_logout_bc_verify_later(int ok, X509_STORE_CTX *store)
{
    /* the result is read after the handshake, and logged with the client */
    return 1;
}

/* The TLS client context of a server's deliveries. */
char *
ngx_http_oidc_logout_bc_ssl(ngx_conf_t *cf,
                            ngx_http_oidc_logout_srv_conf_t *oscf)
{
    ngx_pool_cleanup_t *cln;

    oscf->bc_ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (oscf->bc_ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    oscf->bc_ssl->log = cf->log;

    if (ngx_ssl_create(oscf->bc_ssl, NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3, NULL) !=
        NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(oscf->bc_ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = oscf->bc_ssl;

    if (!oscf->bc_verify) {
        return NGX_CONF_OK;
    }

    if (oscf->bc_trusted.len) {
        if (ngx_ssl_trusted_certificate(cf, oscf->bc_ssl, &oscf->bc_trusted,
                                        4) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

    } else if (SSL_CTX_set_default_verify_paths(oscf->bc_ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "oidc_logout: SSL_CTX_set_default_verify_paths() "
                      "failed");
        return NGX_CONF_ERROR;
    }

    SSL_CTX_set_verify(oscf->bc_ssl->ctx, SSL_VERIFY_PEER,
                       ngx_http_oidc_logout_bc_verify_later);

    return NGX_CONF_OK;
}

#endif
