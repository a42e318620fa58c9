/*
 * The provider's keys (oidc_logout_keys_url): its published JWKS parsed
 * (ol_keys_parse_published), merged with the module's own keys
 * (ol_keys_merge), hints verified with the merged set by the whole
 * decision (ol_logout_request.keys, ol_response_unknown_kid), and the URL
 * parsed as a target of its own (ol_target_parse).
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000
#define CLAIMS                                                                 \
    "{\"iss\":\"" ISSUER "\",\"aud\":\"app1\",\"sub\":\"alice\","              \
    "\"iat\":1699999000}"

/* the provider's key, its next one, and the module's own (private) key */
static cjose_jwk_t *provider, *rotated, *own_key;
static ol_keys *own;
static ol_clients *clients;

static ol_keys *
published(const char *jwks, size_t *skipped)
{
    char err[1024];
    ol_keys *keys = NULL;

    ck_assert_msg(ol_keys_parse_published(jwks, strlen(jwks), "jwks_uri", &keys,
                                          skipped, err, sizeof(err)) == OL_OK,
                  "%s", err);
    return keys;
}

/* The provider's JWKS with the given keys (public members only). */
static ol_keys *
provider_keys(cjose_jwk_t *a, cjose_jwk_t *b)
{
    char jwks[8192];
    size_t skipped;
    char *ja = jwk_json(a, 0), *jb = b ? jwk_json(b, 0) : NULL;

    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s%s%s]}", ja, jb ? "," : "",
             jb ? jb : "");
    free(ja);
    free(jb);
    return published(jwks, &skipped);
}

static ol_keys *
merged(const ol_keys *mine, const ol_keys *fetched, const char *missing)
{
    char err[256];
    ol_keys *keys = NULL;

    ck_assert_msg(
        ol_keys_merge(mine, fetched, missing, &keys, err, sizeof(err)) == OL_OK,
        "%s", err);
    return keys;
}

static ol_status
verify(const ol_keys *keys, cjose_jwk_t *signer, char *err, size_t errlen)
{
    ol_hint hint;
    char *token = mint_token(signer, "RS256", CLAIMS);
    ol_status rc = ol_hint_verify(keys, ISSUER, strlen(ISSUER), clients, token,
                                  strlen(token), NOW, &hint, err, errlen);

    free(token);
    return rc;
}

static void
setup(void)
{
    char jwks[4096], err[512];
    char *j;

    provider = rsa_key("p1");
    rotated = rsa_key("p2");
    own_key = rsa_key("module");
    j = jwk_json(own_key, 1);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", j);
    free(j);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &own, err,
                                sizeof(err)) == OL_OK,
                  "%s", err);
    clients = clients_from(
        "[{\"client_id\": \"app1\", \"post_logout_redirect_uris\": "
        "[\"https://app1.example.com/bye\"]}]");
}

static void
teardown(void)
{
    ol_keys_free(own);
    ol_clients_free(clients);
    cjose_jwk_release(provider);
    cjose_jwk_release(rotated);
    cjose_jwk_release(own_key);
}

/* ---- parsing a published JWKS ------------------------------------------- */

START_TEST(test_keys_url_published_skips_unusable_keys)
{
    char jwks[8192], err[256];
    size_t skipped = 99;
    size_t len;
    ol_keys *keys;
    const char *pub;
    char *p1 = jwk_json(provider, 0);

    /* Keycloak publishes an encryption key beside its signing keys;
     * others publish OKP keys, or keys of other algorithms */
    snprintf(jwks, sizeof(jwks),
             "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"alg\":"
             "\"RSA-OAEP\",\"kid\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
             "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
             "%s,"
             "{\"kty\":\"RSA\",\"kid\":\"short\",\"n\":\"AQAB\","
             "\"e\":\"AQAB\"},"
             "\"not an object\"]}",
             p1);
    free(p1);

    keys = published(jwks, &skipped);
    ck_assert_uint_eq(skipped, 4);
    ck_assert_uint_eq(ol_keys_count(keys), 1);
    pub = ol_keys_public_jwks(keys, &len);
    ck_assert_ptr_nonnull(strstr(pub, "\"kid\":\"p1\""));
    ck_assert_ptr_null(strstr(pub, "\"enc\""));
    ck_assert_int_eq(verify(keys, provider, err, sizeof(err)), OL_OK);
    ol_keys_free(keys);
}
END_TEST

START_TEST(test_keys_url_published_never_signs)
{
    char jwks[8192], err[256];
    size_t skipped, len;
    ol_keys *keys, *all;
    char *p1 = jwk_json(provider, 1);

    /* a provider that leaks its private key: only the public half is
     * kept, never served, never used to sign */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", p1);
    free(p1);
    keys = published(jwks, &skipped);
    ck_assert_uint_eq(skipped, 0);
    ck_assert_str_eq(ol_keys_signing_alg(keys), "");
    ck_assert_ptr_null(strstr(ol_keys_public_jwks(keys, &len), "\"d\""));
    ck_assert_int_eq(verify(keys, provider, err, sizeof(err)), OL_OK);

    /* merged without the module's keys: nothing signs either */
    all = merged(NULL, keys, NULL);
    ck_assert_str_eq(ol_keys_signing_alg(all), "");
    ol_keys_free(all);
    ol_keys_free(keys);
}
END_TEST

START_TEST(test_keys_url_published_duplicate_kids)
{
    char jwks[8192], err[256];
    size_t skipped;
    ol_keys *keys;
    cjose_jwk_t *same = rsa_key("p1");
    char *a = jwk_json(provider, 0), *b = jwk_json(same, 0);

    /* one kid for two keys (a provider in the middle of a rotation):
     * both are kept, and each verifies its own tokens */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", a, b);
    free(a);
    free(b);
    keys = published(jwks, &skipped);
    ck_assert_uint_eq(ol_keys_count(keys), 2);
    ck_assert_int_eq(verify(keys, provider, err, sizeof(err)), OL_OK);
    ck_assert_int_eq(verify(keys, same, err, sizeof(err)), OL_OK);
    ol_keys_free(keys);
    cjose_jwk_release(same);
}
END_TEST

static const struct {
    const char *jwks;
    const char *reason;
} refused_documents[] = {
    {"<html>", "jwks_uri"},
    {"[]", "expected a JWKS"},
    {"{\"keys\": {}}", "expected a JWKS"},
    {"{\"keys\": []}", "no keys"},
    {"{\"keys\": [{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
     "no key that verifies signatures (\"jwks_uri\": key #1: symmetric keys "
     "are not accepted)"},
};

START_TEST(test_keys_url_published_refused)
{
    char err[512];
    size_t skipped;
    ol_keys *keys = (ol_keys *)1;
    const char *jwks = refused_documents[_i].jwks;

    ck_assert_int_eq(ol_keys_parse_published(jwks, strlen(jwks), "jwks_uri",
                                             &keys, &skipped, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_null(keys);
    ck_assert_msg(strstr(err, refused_documents[_i].reason) != NULL,
                  "\"%s\" lacks \"%s\"", err, refused_documents[_i].reason);
}
END_TEST

/* ---- merging ------------------------------------------------------------ */

START_TEST(test_keys_url_merge_verifies_with_both)
{
    char err[256];
    size_t len;
    const char *pub, *p1, *mod;
    ol_keys *fetched = provider_keys(provider, NULL);
    ol_keys *all = merged(own, fetched, NULL);

    ck_assert_uint_eq(ol_keys_count(all), 2);
    ck_assert_int_eq(verify(all, provider, err, sizeof(err)), OL_OK);
    ck_assert_int_eq(verify(all, own_key, err, sizeof(err)), OL_OK);
    ck_assert_int_eq(verify(all, rotated, err, sizeof(err)), OL_INVALID);

    /* the module's key still signs; the JWKS lists the provider's keys,
     * then the module's public key, never a private member */
    ck_assert_str_eq(ol_keys_signing_alg(all), "RS256");
    pub = ol_keys_public_jwks(all, &len);
    ck_assert_uint_eq(len, strlen(pub));
    p1 = strstr(pub, "\"kid\":\"p1\"");
    mod = strstr(pub, "\"kid\":\"module\"");
    ck_assert_ptr_nonnull(p1);
    ck_assert_ptr_nonnull(mod);
    ck_assert(p1 < mod);
    ck_assert_ptr_null(strstr(pub, "\"d\""));
    ck_assert_int_eq(strncmp(pub, "{\"keys\":[{", 10), 0);

    /* the merged set outlives what it was made of */
    ol_keys_free(fetched);
    ck_assert_int_eq(verify(all, provider, err, sizeof(err)), OL_OK);
    ol_keys_free(all);
}
END_TEST

START_TEST(test_keys_url_merge_missing)
{
    char err[512];
    size_t len;
    ol_keys *none = merged(NULL, NULL, "the keys are not fetched yet");
    ol_keys *mine = merged(own, NULL, "the keys are not fetched yet");

    /* nothing fetched, no keys of its own: an empty JWKS, and a hint's
     * refusal says why */
    ck_assert_uint_eq(ol_keys_count(none), 0);
    ck_assert_str_eq(ol_keys_public_jwks(none, &len), "{\"keys\":[]}");
    ck_assert_int_eq(verify(none, provider, err, sizeof(err)), OL_INVALID);
    ck_assert_str_eq(err, "no key of kid \"p1\" fits RS256; the keys are not "
                          "fetched yet");

    /* the module's own keys verify meanwhile */
    ck_assert_int_eq(verify(mine, own_key, err, sizeof(err)), OL_OK);
    ck_assert_int_eq(verify(mine, provider, err, sizeof(err)), OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not fetched yet"));
    ol_keys_free(none);
    ol_keys_free(mine);
}
END_TEST

/* ---- the decision ------------------------------------------------------- */

static ol_endpoint *
endpoint_with_own_keys(void)
{
    char err[256];
    ol_endpoint *ep = NULL;
    ol_endpoint_conf conf;

    memset(&conf, 0, sizeof(conf));
    conf.mode = OL_MODE_OIDC;
    conf.clients = clients;
    conf.keys = own;
    conf.issuer = ISSUER;
    conf.issuer_len = strlen(ISSUER);
    ck_assert_msg(ol_endpoint_new(&conf, &ep, err, sizeof(err)) == OL_OK, "%s",
                  err);
    return ep;
}

/* A logout with a hint signed by signer, verified with keys (NULL: the
 * endpoint's own). */
static ol_response *
decide_hint(ol_endpoint *ep, const ol_keys *keys, cjose_jwk_t *signer)
{
    char params[8192], err[256];
    ol_response *resp = NULL;
    ol_logout_request rq;
    char *token = mint_token(signer, "RS256", CLAIMS);

    snprintf(params, sizeof(params),
             "id_token_hint=%s&post_logout_redirect_uri="
             "https%%3A%%2F%%2Fapp1.example.com%%2Fbye",
             token);
    free(token);
    memset(&rq, 0, sizeof(rq));
    rq.params = params;
    rq.params_len = strlen(params);
    rq.action = "/logout";
    rq.action_len = 7;
    rq.now = NOW;
    rq.keys = keys;
    ck_assert_msg(ol_logout_decide(ep, &rq, &resp, err, sizeof(err)) == OL_OK,
                  "%s", err);
    return resp;
}

START_TEST(test_keys_url_decide_with_current_keys)
{
    char *log, *location;
    ol_endpoint *ep = endpoint_with_own_keys();
    ol_keys *fetched = provider_keys(provider, NULL);
    ol_keys *all = merged(own, fetched, NULL);
    ol_keys *pending = merged(own, NULL, "not fetched yet");
    ol_response *resp;

    /* the endpoint's own keys know nothing of the provider's */
    resp = decide_hint(ep, NULL, provider);
    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_int_eq(ol_response_unknown_kid(resp), 1);
    ol_response_free(resp);

    /* the current (merged) keys verify it: the client's redirect */
    resp = decide_hint(ep, all, provider);
    ck_assert_int_eq(ol_response_status(resp), 302);
    ck_assert_int_eq(ol_response_unknown_kid(resp), 0);
    location = response_header(resp, "Location");
    ck_assert_str_eq(location, "https://app1.example.com/bye");
    free(location);
    ol_response_free(resp);

    /* and the module's own key still */
    resp = decide_hint(ep, all, own_key);
    ck_assert_int_eq(ol_response_status(resp), 302);
    ol_response_free(resp);

    /* a rotated key: unknown kid, to be fetched; the log says why */
    resp = decide_hint(ep, all, rotated);
    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_int_eq(ol_response_unknown_kid(resp), 1);
    ol_response_free(resp);

    resp = decide_hint(ep, pending, provider);
    ck_assert_int_eq(ol_response_unknown_kid(resp), 1);
    log = response_log(resp);
    ck_assert_msg(strstr(log, "id_token_hint refused: no key of kid \"p1\" "
                              "fits RS256; not fetched yet") != NULL,
                  "%s", log);
    free(log);
    ol_response_free(resp);

    ol_keys_free(pending);
    ol_keys_free(all);
    ol_keys_free(fetched);
    ol_endpoint_free(ep);
}
END_TEST

START_TEST(test_keys_url_known_kid_bad_signature)
{
    char jwks[8192];
    size_t skipped;
    char *j = jwk_json(rotated, 0);
    ol_keys *fetched;
    ol_response *resp;
    ol_endpoint *ep = endpoint_with_own_keys();

    /* kid "p1" is known, with another key: a forgery, not a rotation */
    ck_assert_ptr_nonnull(strstr(j, "\"kid\":\"p2\""));
    memcpy(strstr(j, "\"kid\":\"p2\"") + 7, "p1", 2);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", j);
    free(j);
    fetched = published(jwks, &skipped);

    resp = decide_hint(ep, fetched, provider);
    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_int_eq(ol_response_unknown_kid(resp), 0);
    ol_response_free(resp);
    ol_keys_free(fetched);
    ol_endpoint_free(ep);
}
END_TEST

/* ---- the URL ------------------------------------------------------------ */

START_TEST(test_keys_url_target)
{
    char err[256];
    ol_target *t = NULL;
    const char *url = "http://IdP.example.com/realms/x/certs?a=1";

    ck_assert_int_eq(ol_target_parse(url, strlen(url), &t, err, sizeof(err)),
                     OL_OK);
    ck_assert_str_eq(t->client_id, url);
    ck_assert_str_eq(t->uri, url);
    ck_assert_int_eq(t->https, 0);
    ck_assert_int_eq(t->host_is_literal, 0);
    ck_assert_uint_eq(t->port, 80);
    ck_assert_uint_eq(t->host_len, 15);
    ck_assert_int_eq(strncmp(t->host, "idp.example.com", 15), 0);
    ck_assert_uint_eq(t->authority_len, 15);
    ck_assert_uint_eq(t->target_len, strlen("/realms/x/certs?a=1"));
    ck_assert_int_eq(strncmp(t->target, "/realms/x/certs?a=1", t->target_len),
                     0);
    ol_target_free(t);

    url = "https://[::1]:8443/jwks";
    ck_assert_int_eq(ol_target_parse(url, strlen(url), &t, err, sizeof(err)),
                     OL_OK);
    ck_assert_int_eq(t->https, 1);
    ck_assert_int_eq(t->host_is_literal, 1);
    ck_assert_uint_eq(t->port, 8443);
    ck_assert_int_eq(strncmp(t->authority, "[::1]:8443", t->authority_len), 0);
    ol_target_free(t);

    url = "https://127.0.0.1/jwks";
    ck_assert_int_eq(ol_target_parse(url, strlen(url), &t, err, sizeof(err)),
                     OL_OK);
    ck_assert_int_eq(t->host_is_literal, 1);
    ck_assert_uint_eq(t->port, 443);
    ol_target_free(t);
    ol_target_free(NULL);
}
END_TEST

static const struct {
    const char *url;
    const char *reason;
} refused_urls[] = {
    {"ftp://idp.example.com/jwks", "the scheme must be http or https"},
    {"/jwks", "scheme"},
    {"http://idp.example.com/jwks#x", "fragment"},
    {"http://user@idp.example.com/jwks", "userinfo"},
    {"http:///jwks", "host"},
};

START_TEST(test_keys_url_target_refused)
{
    char err[256];
    ol_target *t = (ol_target *)1;
    const char *url = refused_urls[_i].url;

    ck_assert_int_eq(ol_target_parse(url, strlen(url), &t, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, refused_urls[_i].reason) != NULL,
                  "%s: \"%s\" lacks \"%s\"", url, err, refused_urls[_i].reason);
}
END_TEST

Suite *
keys_url_suite(void)
{
    Suite *s = suite_create("keys_url");
    TCase *tc = tcase_create("keys_url");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_keys_url_published_skips_unusable_keys);
    tcase_add_test(tc, test_keys_url_published_never_signs);
    tcase_add_test(tc, test_keys_url_published_duplicate_kids);
    tcase_add_loop_test(tc, test_keys_url_published_refused, 0,
                        sizeof(refused_documents) /
                            sizeof(refused_documents[0]));
    tcase_add_test(tc, test_keys_url_merge_verifies_with_both);
    tcase_add_test(tc, test_keys_url_merge_missing);
    tcase_add_test(tc, test_keys_url_decide_with_current_keys);
    tcase_add_test(tc, test_keys_url_known_kid_bad_signature);
    tcase_add_test(tc, test_keys_url_target);
    tcase_add_loop_test(tc, test_keys_url_target_refused, 0,
                        sizeof(refused_urls) / sizeof(refused_urls[0]));
    suite_add_tcase(s, tc);
    return s;
}
