#include "check_suites.h"

#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char *
dup_bytes(const char *p, size_t len)
{
    char *s = malloc(len + 1);

    ck_assert_ptr_nonnull(s);
    if (len) {
        memcpy(s, p, len);
    }
    s[len] = '\0';
    return s;
}

ol_clients *
clients_from(const char *json)
{
    char err[1024] = "";
    ol_clients *clients = NULL;
    ol_status rc = ol_clients_parse(json, strlen(json), "test.json", &clients,
                                    err, sizeof(err));

    ck_assert_msg(rc == OL_OK, "registry did not load: %s", err);
    return clients;
}

ol_response *
logout(ol_mode mode, const ol_clients *clients, const ol_allowlist *tenant,
       const char *params)
{
    ol_endpoint_conf ep = {
        .mode = mode, .clients = clients, .tenant_urls = tenant};
    ol_logout_state req = {.params = params, .params_len = strlen(params)};
    ol_response *resp = NULL;

    ck_assert_int_eq(ol_logout_respond(&ep, &req, &resp), OL_OK);
    ck_assert_ptr_nonnull(resp);
    return resp;
}

char *
response_header(const ol_response *resp, const char *name)
{
    size_t i, nlen, vlen;
    const char *n, *v;

    for (i = 0; i < ol_response_header_count(resp); i++) {
        ol_response_header(resp, i, &n, &nlen, &v, &vlen);
        if (nlen == strlen(name) && strncasecmp(n, name, nlen) == 0) {
            return dup_bytes(v, vlen);
        }
    }
    return NULL;
}

char *
response_body(const ol_response *resp)
{
    size_t len;
    const char *p = ol_response_body(resp, &len);

    return dup_bytes(p, len);
}

char *
response_log(const ol_response *resp)
{
    size_t len;
    const char *p = ol_response_log_reason(resp, &len);

    return dup_bytes(p ? p : "", len);
}

char *
url_encode(const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(in);
    char *out = malloc(3 * n + 1);
    char *o = out;

    ck_assert_ptr_nonnull(out);
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        }
    }
    *o = '\0';
    return out;
}

/* A compact JWS of claims signed by key with alg (kid from the key), typ
 * in the header unless NULL. */
static char *
mint(cjose_jwk_t *key, const char *alg, const char *typ, const char *claims,
     size_t len)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cjose_jws_t *jws;
    const char *compact;
    char *out;

    cjose_header_set(h, CJOSE_HDR_ALG, alg, &err);
    if (cjose_jwk_get_kid(key, &err) != NULL) {
        cjose_header_set(h, CJOSE_HDR_KID, cjose_jwk_get_kid(key, &err), &err);
    }
    if (typ != NULL) {
        cjose_header_set(h, "typ", typ, &err);
    }
    jws = cjose_jws_sign(key, h, (const uint8_t *)claims, len, &err);
    ck_assert_msg(jws != NULL, "cjose_jws_sign: %s", err.message);
    cjose_jws_export(jws, &compact, &err);
    out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

char *
mint_token(cjose_jwk_t *key, const char *alg, const char *claims)
{
    return mint(key, alg, NULL, claims, strlen(claims));
}

char *
mint_token_n(cjose_jwk_t *key, const char *alg, const char *claims, size_t len)
{
    return mint(key, alg, NULL, claims, len);
}

char *
mint_typed_token(cjose_jwk_t *key, const char *alg, const char *typ,
                 const char *claims)
{
    return mint(key, alg, typ, claims, strlen(claims));
}

cjose_jwk_t *
rsa_key(const char *kid)
{
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);

    ck_assert_ptr_nonnull(k);
    ck_assert(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
    return k;
}

char *
jwk_json(cjose_jwk_t *k, int with_private)
{
    cjose_err err;
    char *text = cjose_jwk_to_json(k, with_private != 0, &err);

    ck_assert_ptr_nonnull(text);
    return text;
}

static char *
b64url(const char *in, size_t n)
{
    char *out = malloc(n * 2 + 4);
    int len, i, j = 0;

    ck_assert_ptr_nonnull(out);
    len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
                          (int)n);
    for (i = 0; i < len; i++) {
        char c = out[i];
        if (c == '=') {
            break;
        }
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = '\0';
    return out;
}

char *
forge_token(const char *header, const char *claims, const char *secret)
{
    char *h = b64url(header, strlen(header));
    char *c = b64url(claims, strlen(claims));
    char *input = malloc(strlen(h) + strlen(c) + 2);
    char *out = malloc(strlen(h) + strlen(c) + 128);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    char *sig;

    ck_assert(input != NULL && out != NULL);
    sprintf(input, "%s.%s", h, c);
    if (secret != NULL) {
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)input,
             strlen(input), mac, &mac_len);
    }
    sig = b64url((const char *)mac, mac_len);
    sprintf(out, "%s.%s", input, sig);
    free(h);
    free(c);
    free(input);
    free(sig);
    return out;
}

void
session_info(ol_session_info *info, const char *sid, const char *sub,
             const char *ids, size_t ids_len, size_t count)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->sid, sizeof(info->sid), "%s", sid);
    snprintf(info->sub, sizeof(info->sub), "%s", sub);
    info->sub_len = strlen(sub);
    memcpy(info->clients, ids, ids_len);
    info->client_count = count;
}

const char *
temp_file(const char *text)
{
    static char path[64];
    int fd;
    FILE *f;

    strcpy(path, "/tmp/check_core_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A process-local arena: malloc, every block kept until teardown frees
 * what the store still holds, and a lock nobody else takes. */
#define MAX_BLOCKS 4096
static void *blocks[MAX_BLOCKS];

static void *
plain_alloc(void *data, size_t size)
{
    size_t i;

    (void)data;
    for (i = 0; i < MAX_BLOCKS; i++) {
        if (blocks[i] == NULL) {
            blocks[i] = malloc(size);
            return blocks[i];
        }
    }
    return NULL;
}

static void
plain_free(void *data, void *p)
{
    size_t i;

    (void)data;
    for (i = 0; i < MAX_BLOCKS; i++) {
        if (blocks[i] == p) {
            blocks[i] = NULL;
        }
    }
    free(p);
}

static void
plain_nothing(void *data)
{
    (void)data;
}

ol_arena test_arena = {NULL,          plain_alloc,   plain_free,
                       plain_nothing, plain_nothing, NULL};

void
test_arena_clear(void)
{
    for (size_t i = 0; i < MAX_BLOCKS; i++) {
        free(blocks[i]);
        blocks[i] = NULL;
    }
}

ol_keys *
ec_signing_keys(const char *kid)
{
    char err[512], jwks[4096];
    char *jwk;
    cjose_err cerr;
    ol_keys *keys = NULL;
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);

    ck_assert_ptr_nonnull(ec);
    ck_assert(cjose_jwk_set_kid(ec, kid, strlen(kid), &cerr));
    jwk = cjose_jwk_to_json(ec, true, &cerr);
    snprintf(jwks, sizeof(jwks), "{\"keys\": [%s]}", jwk);
    free(jwk);
    cjose_jwk_release(ec);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &keys, err,
                                sizeof(err)) == OL_OK,
                  "%s", err);
    return keys;
}
