/*
 * ngx_http_oidc_logout_module: whether a location restricts who reaches it.
 *
 * The modules that restrict access are found by name among the cycle's
 * modules, never linked: the module loads into an nginx built without some
 * of them, and one that is absent restricts nothing.  Their configuration
 * structures are private to their .c files, so the few members read here
 * are mirrored below.  Each mirror was compared with every release of
 * github.com/nginx/nginx from 1.18.0 to 1.29.8 (the tags release-1.18.0 to
 * release-1.29.8): ngx_http_access_module.c's loc conf and rules and
 * ngx_http_auth_request_module.c's conf are the same in all of them;
 * ngx_http_auth_basic_module.c's user_file became a pointer in 1.21.0 (a
 * dynamic module loads only into the nginx version it was built for, so
 * nginx_version tells which).  ngx_http_ssl_module's server conf is public
 * (ngx_http_ssl_module.h, as the listen options of ngx_http_core_module.h)
 * and is read through its header; the values of ssl_verify_client are the
 * same in all of them (off 0, on 1, optional 2, optional_no_ca 3).
 *
 * auth_jwt is left out: NGINX Plus's module is not public, and the
 * third-party modules named ngx_http_auth_jwt_module (kjdev's, TeslaGov's)
 * share nothing of their layouts.
 */

#include "ngx_http_oidc_logout.h"

/* ngx_http_access_module.c: ngx_http_access_loc_conf_t and its rules */
typedef struct {
    in_addr_t mask;
    in_addr_t addr;
    ngx_uint_t deny;
} ngx_http_oidc_logout_access_rule_t;

#if (NGX_HAVE_INET6)
typedef struct {
    struct in6_addr addr;
    struct in6_addr mask;
    ngx_uint_t deny;
} ngx_http_oidc_logout_access_rule6_t;
#endif

#if (NGX_HAVE_UNIX_DOMAIN)
typedef struct {
    ngx_uint_t deny;
} ngx_http_oidc_logout_access_rule_un_t;
#endif

typedef struct {
    ngx_array_t *rules;
#if (NGX_HAVE_INET6)
    ngx_array_t *rules6;
#endif
#if (NGX_HAVE_UNIX_DOMAIN)
    ngx_array_t *rules_un;
#endif
} ngx_http_oidc_logout_access_conf_t;

/* ngx_http_auth_basic_module.c: ngx_http_auth_basic_loc_conf_t */
typedef struct {
    ngx_http_complex_value_t *realm;
#if (nginx_version >= 1021000)
    ngx_http_complex_value_t *user_file;
#else
    ngx_http_complex_value_t user_file;
#endif
} ngx_http_oidc_logout_auth_basic_conf_t;

/* ngx_http_auth_request_module.c: ngx_http_auth_request_conf_t, its first
 * member */
typedef struct {
    ngx_str_t uri; /* empty: off */
} ngx_http_oidc_logout_auth_request_conf_t;

/* The configuration in confs (a loc_conf or srv_conf array) of the HTTP
 * module called name; NULL when this nginx has no such module. */
static void *
ngx_http_oidc_logout_conf_of(ngx_conf_t *cf, void **confs, const char *name)
{
    ngx_uint_t i;
    ngx_module_t *m;

    for (i = 0; i < cf->cycle->modules_n; i++) {
        m = cf->cycle->modules[i];
        if (m->type == NGX_HTTP_MODULE &&
            ngx_strcmp(m->name, (u_char *)name) == 0) {
            return confs[m->ctx_index];
        }
    }

    return NULL;
}

/* Whether the rules turn a stranger away: nginx takes the first rule that
 * matches, so for an address no rule names the first rule for every
 * address decides ("deny all" at the end of a list of allows), and rules
 * without one let strangers in (a list of denies is a blocklist).  A rule
 * array of another element size than the mirror's counts as denying: no
 * warning rather than a wrong one. */
static ngx_uint_t
ngx_http_oidc_logout_access_denies(ngx_http_oidc_logout_access_conf_t *acf)
{
    ngx_uint_t i;
    ngx_http_oidc_logout_access_rule_t *rule;
#if (NGX_HAVE_INET6)
    ngx_http_oidc_logout_access_rule6_t *rule6;
#endif
#if (NGX_HAVE_UNIX_DOMAIN)
    ngx_http_oidc_logout_access_rule_un_t *rule_un;
#endif

    if (acf->rules != NULL) {
        if (acf->rules->size != sizeof(*rule)) {
            return 1;
        }
        /* the first rule for every address decides for a stranger; none:
         * nginx lets strangers in */
        rule = acf->rules->elts;
        for (i = 0; i < acf->rules->nelts && rule[i].mask != 0; i++) {
            /* void */
        }
        if (i == acf->rules->nelts || !rule[i].deny) {
            return 0;
        }
    }

#if (NGX_HAVE_INET6)
    if (acf->rules6 != NULL) {
        if (acf->rules6->size != sizeof(*rule6)) {
            return 1;
        }
        rule6 = acf->rules6->elts;
        for (i = 0;
             i < acf->rules6->nelts && !IN6_IS_ADDR_UNSPECIFIED(&rule6[i].mask);
             i++) {
            /* void */
        }
        if (i == acf->rules6->nelts || !rule6[i].deny) {
            return 0;
        }
    }
#endif

#if (NGX_HAVE_UNIX_DOMAIN)
    /* a UNIX socket has no address: its first rule decides */
    if (acf->rules_un != NULL && acf->rules_un->nelts) {
        if (acf->rules_un->size != sizeof(*rule_un)) {
            return 1;
        }
        rule_un = acf->rules_un->elts;
        if (!rule_un[0].deny) {
            return 0;
        }
    }
#endif

    return acf->rules != NULL
#if (NGX_HAVE_INET6)
           || acf->rules6 != NULL
#endif
        ;
}

/* auth_basic with a user file, other than "auth_basic off" (a realm made
 * of variables may say "off" per request: it counts) */
static ngx_uint_t
ngx_http_oidc_logout_auth_basic_on(ngx_http_oidc_logout_auth_basic_conf_t *bcf)
{
    static ngx_str_t off = ngx_string("off");

#if (nginx_version >= 1021000)
    if (bcf->user_file == NULL) {
        return 0;
    }
#else
    if (bcf->user_file.value.data == NULL) {
        return 0;
    }
#endif

    return bcf->realm != NULL &&
           !(bcf->realm->lengths == NULL && bcf->realm->value.len == off.len &&
             ngx_strncmp(bcf->realm->value.data, off.data, off.len) == 0);
}

/* A loopback address or a UNIX socket: only this host connects to it. */
static ngx_uint_t
ngx_http_oidc_logout_local_address(struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET:
        return (ntohl(((struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) ==
               127;
#if (NGX_HAVE_INET6)
    case AF_INET6:
        return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)sa)->sin6_addr);
#endif
#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        return 1;
#endif
    default:
        return 0;
    }
}

/* Whether a connection to addr speaks TLS. */
static ngx_uint_t
ngx_http_oidc_logout_tls_address(ngx_conf_t *cf, ngx_http_conf_addr_t *addr)
{
#if (NGX_HTTP_SSL && nginx_version < 1025001)
    ngx_http_ssl_srv_conf_t *sscf;
#endif

    if (addr->opt.ssl) {
        return 1;
    }
#if (nginx_version >= 1025000)
    if (addr->opt.quic) {
        return 1;
    }
#endif
#if (NGX_HTTP_SSL && nginx_version < 1025001)
    /* "ssl on" in the address's default server makes all of it TLS */
    sscf = ngx_http_oidc_logout_conf_of(cf, addr->default_server->ctx->srv_conf,
                                        "ngx_http_ssl_module");
    if (sscf != NULL && sscf->enable == 1) {
        return 1;
    }
#endif

    return 0;
}

/* How cscf's server is reached: whether every address it listens on is
 * local, and whether every one speaks TLS. */
static void
ngx_http_oidc_logout_listens(ngx_conf_t *cf, ngx_http_core_srv_conf_t *cscf,
                             ngx_uint_t *local, ngx_uint_t *tls)
{
    ngx_uint_t p, a, s, found = 0;
    ngx_http_conf_port_t *port;
    ngx_http_conf_addr_t *addr;
    ngx_http_core_srv_conf_t **server;
    ngx_http_core_main_conf_t *cmcf;

    *local = 1;
    *tls = 1;

    cmcf = cscf->ctx->main_conf[ngx_http_core_module.ctx_index];
    port = cmcf->ports ? cmcf->ports->elts : NULL;
    for (p = 0; port != NULL && p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;
        for (a = 0; a < port[p].addrs.nelts; a++) {
            server = addr[a].servers.elts;
            for (s = 0; s < addr[a].servers.nelts; s++) {
                if (server[s] != cscf) {
                    continue;
                }
                found = 1;
                if (!ngx_http_oidc_logout_local_address(addr[a].opt.sockaddr)) {
                    *local = 0;
                }
                if (!ngx_http_oidc_logout_tls_address(cf, &addr[a])) {
                    *tls = 0;
                }
                break;
            }
        }
    }

    /* nginx gives every server a listen: none here means not merged yet */
    if (!found) {
        *local = 0;
        *tls = 0;
    }
}

ngx_uint_t
ngx_http_oidc_logout_restricted(ngx_conf_t *cf, void **loc_conf,
                                void **srv_conf)
{
    ngx_uint_t local, tls;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_core_srv_conf_t *cscf;
    ngx_http_oidc_logout_access_conf_t *acf;
    ngx_http_oidc_logout_auth_basic_conf_t *bcf;
    ngx_http_oidc_logout_auth_request_conf_t *rcf;
#if (NGX_HTTP_SSL)
    ngx_http_ssl_srv_conf_t *sscf;
#endif

    clcf = loc_conf[ngx_http_core_module.ctx_index];
    if (clcf->internal) {
        return 1; /* reached only by nginx's own redirects */
    }

    acf = ngx_http_oidc_logout_conf_of(cf, loc_conf, "ngx_http_access_module");
    if (acf != NULL && ngx_http_oidc_logout_access_denies(acf)) {
        return 1;
    }
    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY && acf != NULL &&
        (acf->rules != NULL
#if (NGX_HAVE_INET6)
         || acf->rules6 != NULL
#endif
         )) {
        /* "satisfy any": rules that let a stranger in open the location
         * whatever the other checks say */
        return 0;
    }

    bcf = ngx_http_oidc_logout_conf_of(cf, loc_conf,
                                       "ngx_http_auth_basic_module");
    if (bcf != NULL && ngx_http_oidc_logout_auth_basic_on(bcf)) {
        return 1;
    }

    rcf = ngx_http_oidc_logout_conf_of(cf, loc_conf,
                                       "ngx_http_auth_request_module");
    if (rcf != NULL && rcf->uri.len != 0) {
        return 1;
    }

    cscf = srv_conf[ngx_http_core_module.ctx_index];
    ngx_http_oidc_logout_listens(cf, cscf, &local, &tls);
    if (local) {
        return 1;
    }

#if (NGX_HTTP_SSL)
    /* client certificates are checked on TLS connections only, and with
     * "on" only: "optional" lets clients without one in, unless the
     * location checks $ssl_client_verify, which is not seen here */
    sscf = ngx_http_oidc_logout_conf_of(cf, srv_conf, "ngx_http_ssl_module");
    if (sscf != NULL && tls && sscf->verify == 1) {
        return 1;
    }
#endif

    return 0;
}
