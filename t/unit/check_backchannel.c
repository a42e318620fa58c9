/*
 * Back-channel logout tokens: header and claims for every client flag
 * combination, signatures that verify with the public key, which clients
 * get one, and the registry and key rules that come with them.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000
#define EVENT "http://schemas.openid.net/event/backchannel-logout"

static cjose_jwk_t *rsa;
static ol_keys *keys;
static ol_clients *clients;

/* A JWKS of key (private members included unless public_only). */
static ol_keys *
keys_of(cjose_jwk_t *key, const char *extra, int public_only)
{
    cjose_err err;
    char *jwk = cjose_jwk_to_json(key, !public_only, &err);
    char jwks[16384], e[512];
    ol_keys *k = NULL;

    ck_assert_ptr_nonnull(jwk);
    /* extra members go before the closing brace */
    jwk[strlen(jwk) - 1] = '\0';
    snprintf(jwks, sizeof(jwks), "{\"keys\": [%s%s}]}", jwk, extra);
    free(jwk);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &k, e,
                                sizeof(e)) == OL_OK,
                  "%s", e);
    return k;
}

static void
setup(void)
{
    cjose_err err;

    rsa = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    ck_assert_ptr_nonnull(rsa);
    ck_assert(cjose_jwk_set_kid(rsa, "k1", 2, &err));
    keys = keys_of(rsa, "", 0);
    clients = clients_from(
        "[{\"client_id\": \"app1\","
        "  \"backchannel_logout_uri\": \"https://app1.example.com/bc?x=1\","
        "  \"backchannel_logout_session_required\": true},"
        " {\"client_id\": \"app2\","
        "  \"backchannel_logout_uri\": \"http://app2.example.com:8080/bc\","
        "  \"backchannel_logout_session_required\": false},"
        " {\"client_id\": \"app3\","
        "  \"backchannel_logout_uri\": \"https://app3.example.com/bc\"},"
        " {\"client_id\": \"quiet\"}]");
}

static void
teardown(void)
{
    ol_clients_free(clients);
    ol_keys_free(keys);
    cjose_jwk_release(rsa);
}

static ol_deliveries *
deliveries_of(const ol_keys *k, const ol_session_info *info)
{
    ol_deliveries *d = NULL;

    ck_assert_int_eq(ol_backchannel_deliveries(k, clients, ISSUER,
                                               strlen(ISSUER), info, NOW, &d,
                                               NULL, 0),
                     OL_OK);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* The token of a delivery, its signature verified with the public key of
 * key; *header and *claims receive the decoded JSON. */
static void
open_token(const ol_deliveries *d, size_t i, cjose_jwk_t *key, json_t **header,
           json_t **claims)
{
    const char *body;
    const ol_target *target;
    size_t len, plain_len;
    uint8_t *plain;
    cjose_err err;
    cjose_jws_t *jws;
    char *pub = cjose_jwk_to_json(key, false, &err);
    cjose_jwk_t *public_key = cjose_jwk_import(pub, strlen(pub), &err);

    ol_delivery_get(d, i, &target, &body, &len);
    ck_assert_int_eq(strncmp(body, "logout_token=", 13), 0);
    /* base64url and dots only: the form body needs no escaping */
    ck_assert_uint_eq(strspn(body + 13, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                                        "klmnopqrstuvwxyz0123456789-_."),
                      len - 13);
    jws = cjose_jws_import(body + 13, len - 13, &err);
    ck_assert_ptr_nonnull(jws);
    ck_assert_msg(cjose_jws_verify(jws, public_key, &err), "signature: %s",
                  err.message);
    *header = json_deep_copy((json_t *)cjose_jws_get_protected(jws));
    ck_assert(cjose_jws_get_plaintext(jws, &plain, &plain_len, &err));
    *claims = json_loadb((const char *)plain, plain_len, 0, NULL);
    ck_assert_ptr_nonnull(*claims);
    cjose_jws_release(jws);
    cjose_jwk_release(public_key);
    free(pub);
}

static const char *
str(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    ck_assert_msg(json_is_string(v), "%s is not a string", name);
    return json_string_value(v);
}

START_TEST(test_backchannel_token_header_and_claims)
{
    ol_session_info info;
    ol_deliveries *d;
    json_t *header, *claims, *events;
    const char *body;
    const ol_target *target;
    char url[128];
    size_t len, i;
    const char *expect_id[] = {"app1", "app2", "app3"};
    const char *expect_uri[] = {"https://app1.example.com/bc?x=1",
                                "http://app2.example.com:8080/bc",
                                "https://app3.example.com/bc"};

    session_info(&info, "sid-1", "alice", IDS("app3\0quiet\0app1\0app2"), 4);
    d = deliveries_of(keys, &info);
    /* one per client with a URI, in the order the session joined them */
    ck_assert_uint_eq(ol_deliveries_count(d), 3);
    for (i = 0; i < 3; i++) {
        size_t want = i == 0 ? 2 : i - 1;
        ol_delivery_get(d, i, &target, &body, &len);
        ck_assert_str_eq(target->client_id, expect_id[want]);
        /* the client's own target, parsed from its URI */
        ck_assert_int_eq(target->https,
                         strncmp(expect_uri[want], "https:", 6) == 0);
        snprintf(url, sizeof(url), "%s://%.*s%.*s",
                 target->https ? "https" : "http", (int)target->authority_len,
                 target->authority, (int)target->target_len, target->target);
        ck_assert_str_eq(url, expect_uri[want]);

        /* sub is always there; sid too, but for the client registered
         * with backchannel_logout_session_required false */
        open_token(d, i, rsa, &header, &claims);
        ck_assert_str_eq(str(header, "alg"), "RS256");
        ck_assert_str_eq(str(header, "kid"), "k1");
        ck_assert_str_eq(str(header, "typ"), "logout+jwt");
        ck_assert_uint_eq(json_object_size(header), 3);

        ck_assert_str_eq(str(claims, "iss"), ISSUER);
        ck_assert_str_eq(str(claims, "aud"), expect_id[want]);
        ck_assert_int_eq(json_integer_value(json_object_get(claims, "iat")),
                         NOW);
        ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")),
                         NOW + 120);
        ck_assert_uint_eq(strlen(str(claims, "jti")), 22);
        if (strcmp(expect_id[want], "app2") == 0) {
            ck_assert_ptr_null(json_object_get(claims, "sid"));
        } else {
            ck_assert_str_eq(str(claims, "sid"), "sid-1");
        }
        ck_assert_str_eq(str(claims, "sub"), "alice");
        ck_assert_ptr_null(json_object_get(claims, "nonce"));
        events = json_object_get(claims, "events");
        ck_assert_uint_eq(json_object_size(events), 1);
        ck_assert(json_is_object(json_object_get(events, EVENT)));
        ck_assert_uint_eq(json_object_size(json_object_get(events, EVENT)), 0);
        ck_assert_uint_eq(json_object_size(claims),
                          strcmp(expect_id[want], "app2") == 0 ? 7 : 8);
        json_decref(header);
        json_decref(claims);
    }
    ol_deliveries_free(d);
}
END_TEST

START_TEST(test_backchannel_jti_unique)
{
    ol_session_info info;
    ol_deliveries *a, *b;
    json_t *h1, *c1, *h2, *c2, *h3, *c3;

    session_info(&info, "sid-1", "alice", IDS("app1\0app2"), 2);
    a = deliveries_of(keys, &info);
    b = deliveries_of(keys, &info);
    open_token(a, 0, rsa, &h1, &c1);
    open_token(a, 1, rsa, &h2, &c2);
    open_token(b, 0, rsa, &h3, &c3);
    ck_assert_str_ne(str(c1, "jti"), str(c2, "jti"));
    ck_assert_str_ne(str(c1, "jti"), str(c3, "jti"));
    json_decref(h1);
    json_decref(c1);
    json_decref(h2);
    json_decref(c2);
    json_decref(h3);
    json_decref(c3);
    ol_deliveries_free(a);
    ol_deliveries_free(b);
}
END_TEST

START_TEST(test_backchannel_hostile_subject_stays_a_string)
{
    ol_session_info info;
    ol_deliveries *d;
    json_t *header, *claims;
    const char *sub = "a\"},\"nonce\":\"x\\\n\x01";

    session_info(&info, "sid-1", sub, IDS("app1"), 1);
    d = deliveries_of(keys, &info);
    open_token(d, 0, rsa, &header, &claims);
    ck_assert_str_eq(str(claims, "sub"), sub);
    ck_assert_ptr_null(json_object_get(claims, "nonce"));
    json_decref(header);
    json_decref(claims);
    ol_deliveries_free(d);
}
END_TEST

START_TEST(test_backchannel_no_clients_no_deliveries)
{
    ol_session_info info;
    ol_deliveries *d;

    session_info(&info, "sid-1", "alice", IDS("quiet\0gone"), 2);
    d = deliveries_of(keys, &info);
    ck_assert_uint_eq(ol_deliveries_count(d), 0);
    ol_deliveries_free(d);
}
END_TEST

START_TEST(test_backchannel_ec_and_key_alg)
{
    cjose_err err;
    ol_session_info info;
    ol_deliveries *d;
    json_t *header, *claims;
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ol_keys *ec_keys = keys_of(ec, "", 0);
    ol_keys *ps_keys = keys_of(rsa, ",\"alg\":\"PS256\"", 0);

    ck_assert_str_eq(ol_keys_signing_alg(ec_keys), "ES256");
    ck_assert_str_eq(ol_keys_signing_alg(ps_keys), "PS256");
    session_info(&info, "sid-1", "alice", IDS("app1"), 1);

    d = deliveries_of(ec_keys, &info);
    open_token(d, 0, ec, &header, &claims);
    ck_assert_str_eq(str(header, "alg"), "ES256");
    /* a key without kid: none in the header */
    ck_assert_ptr_null(json_object_get(header, "kid"));
    json_decref(header);
    json_decref(claims);
    ol_deliveries_free(d);

    d = deliveries_of(ps_keys, &info);
    open_token(d, 0, rsa, &header, &claims);
    ck_assert_str_eq(str(header, "alg"), "PS256");
    json_decref(header);
    json_decref(claims);
    ol_deliveries_free(d);

    ol_keys_free(ec_keys);
    ol_keys_free(ps_keys);
    cjose_jwk_release(ec);
}
END_TEST

START_TEST(test_backchannel_public_keys_cannot_sign)
{
    ol_session_info info;
    ol_deliveries *d = (ol_deliveries *)1;
    ol_keys *pub = keys_of(rsa, "", 1);
    char err[64] = "";

    ck_assert_str_eq(ol_keys_signing_alg(pub), "");
    ck_assert_str_eq(ol_keys_signing_alg(keys), "RS256");
    session_info(&info, "sid-1", "alice", IDS("app1"), 1);
    ck_assert_int_eq(ol_backchannel_deliveries(pub, clients, ISSUER,
                                               strlen(ISSUER), &info, NOW, &d,
                                               err, sizeof(err)),
                     OL_DENIED);
    ck_assert_str_eq(err, "no private key");
    ck_assert_ptr_null(d);
    ol_keys_free(pub);
}
END_TEST

START_TEST(test_backchannel_registry_rules)
{
    char err[1024] = "";
    ol_clients *c = NULL;
    const char *id, *uri;
    const char *ftp = "[{\"client_id\": \"a\", \"backchannel_logout_uri\": "
                      "\"ftp://a.example/bc\"}]";

    ck_assert_int_eq(
        ol_clients_parse(ftp, strlen(ftp), "test.json", &c, err, sizeof(err)),
        OL_INVALID);
    ck_assert_msg(strstr(err, "client \"a\": backchannel_logout_uri "
                              "\"ftp://a.example/bc\": the scheme must be "
                              "http or https") != NULL,
                  "%s", err);

    /* back-channel tokens carry iss */
    ck_assert_ptr_nonnull(ol_clients_needing_issuer(clients));

    /* the clients in the order of the file */
    ck_assert(ol_clients_at(clients, 0, &id, &uri));
    ck_assert_str_eq(id, "app1");
    ck_assert_str_eq(uri, "https://app1.example.com/bc?x=1");
    ck_assert(ol_clients_at(clients, 3, &id, &uri));
    ck_assert_str_eq(id, "quiet");
    ck_assert_str_eq(uri, "");
    ck_assert(!ol_clients_at(clients, 4, &id, &uri));
}
END_TEST

/* The delivery policy: 200 and 204 deliver; failures and 5xx are tried
 * again while retries last, 1 s, 2 s, 4 s ... up to 30 s; anything else is
 * given up at once. */
START_TEST(test_backchannel_delivery_policy)
{
    static const struct {
        ol_attempt end;
        unsigned status, attempt, retries;
        ol_delivery_outcome outcome;
        uint64_t delay;
    } cases[] = {
        {OL_ATTEMPT_ANSWERED, 200, 1, 2, OL_DELIVERY_DELIVERED, 0},
        {OL_ATTEMPT_ANSWERED, 204, 3, 2, OL_DELIVERY_DELIVERED, 0},
        {OL_ATTEMPT_ANSWERED, 201, 1, 2, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_ANSWERED, 302, 1, 2, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_ANSWERED, 400, 1, 2, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_ANSWERED, 499, 1, 2, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_ANSWERED, 500, 1, 2, OL_DELIVERY_RETRIED, 1000},
        {OL_ATTEMPT_ANSWERED, 503, 2, 2, OL_DELIVERY_RETRIED, 2000},
        {OL_ATTEMPT_ANSWERED, 599, 3, 2, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_FAILED, 0, 1, 2, OL_DELIVERY_RETRIED, 1000},
        {OL_ATTEMPT_FAILED, 0, 3, 5, OL_DELIVERY_RETRIED, 4000},
        {OL_ATTEMPT_FAILED, 0, 5, 9, OL_DELIVERY_RETRIED, 16000},
        {OL_ATTEMPT_FAILED, 0, 6, 9, OL_DELIVERY_RETRIED, 30000},
        {OL_ATTEMPT_FAILED, 0, 60, 100, OL_DELIVERY_RETRIED, 30000},
        {OL_ATTEMPT_FAILED, 0, 1, 0, OL_DELIVERY_FAILED, 0},
        {OL_ATTEMPT_ABORTED, 0, 1, 2, OL_DELIVERY_FAILED, 0},
    };
    size_t i;
    uint64_t delay;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        delay = 77;
        ck_assert_int_eq(ol_delivery_judge(cases[i].end, cases[i].status,
                                           cases[i].attempt, cases[i].retries,
                                           &delay),
                         cases[i].outcome);
        ck_assert_msg(delay == cases[i].delay, "case %zu: delay %llu", i,
                      (unsigned long long)delay);
    }
}
END_TEST

Suite *
backchannel_suite(void)
{
    Suite *s = suite_create("backchannel");
    TCase *tc = tcase_create("tokens");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_backchannel_token_header_and_claims);
    tcase_add_test(tc, test_backchannel_jti_unique);
    tcase_add_test(tc, test_backchannel_hostile_subject_stays_a_string);
    tcase_add_test(tc, test_backchannel_no_clients_no_deliveries);
    tcase_add_test(tc, test_backchannel_ec_and_key_alg);
    tcase_add_test(tc, test_backchannel_public_keys_cannot_sign);
    tcase_add_test(tc, test_backchannel_registry_rules);
    tcase_add_test(tc, test_backchannel_delivery_policy);
    suite_add_tcase(s, tc);
    return s;
}
