/*
 * In front of an unmodified provider (ol_provider_observe,
 * ol_provider_drop_revoked, and a logout decided with what was learned):
 * authorization responses start or find the session and join the client,
 * codes are bound once, ID tokens bind the subject and the provider's sid,
 * and a logout speaks each client's sid and revokes the provider's cookies.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000

static ol_store *store;
static ol_clients *clients;
static ol_keys *keys;
static ol_provider *provider;
static cjose_jwk_t *signer, *stranger;

static ol_learned
observe(ol_observed what, const char *handle, unsigned status,
        const char *location, const char *body, const char *request, char *err,
        size_t errlen)
{
    ol_learned out;
    ol_observation o = {.what = what,
                        .store = store,
                        .arena = &test_arena,
                        .keys = keys,
                        .now = NOW,
                        .handle = handle,
                        .handle_len = strlen(handle),
                        .status = status,
                        .location = location,
                        .location_len = strlen(location),
                        .body = body,
                        .body_len = strlen(body),
                        .request = request,
                        .request_len = strlen(request)};

    ck_assert_int_eq(ol_provider_observe(provider, &o, &out, err, errlen),
                     OL_OK);
    return out;
}

/* An ID token of the provider for client, of sub, with the provider's
 * sid psid; signed by key. */
static char *
id_token(cjose_jwk_t *key, const char *client, const char *sub,
         const char *psid)
{
    char claims[512];

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISSUER "\",\"aud\":\"%s\",\"sub\":\"%s\","
             "\"sid\":\"%s\",\"iat\":%d,\"exp\":%d}",
             client, sub, psid, NOW, NOW + 600);
    return mint_token(key, "ES256", claims);
}

static ol_session_info
session_of(const char *handle)
{
    ol_session_info info;

    ck_assert_int_eq(ol_session_find(store, &test_arena, handle, strlen(handle),
                                     NOW, 0, &info),
                     OL_OK);
    return info;
}

static cjose_jwk_t *
ec_key(const char *kid)
{
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);

    ck_assert_ptr_nonnull(k);
    ck_assert(cjose_jwk_set_kid(k, kid, strlen(kid), &cerr));
    return k;
}

static void
setup(void)
{
    char err[512], jwks[4096];
    char *jwk;
    cjose_err cerr;
    const char *names[] = {"_session", "__Host-sso"};
    size_t lens[] = {8, 10};
    ol_provider_conf conf = {.issuer = ISSUER,
                             .issuer_len = strlen(ISSUER),
                             .cookie_names = names,
                             .cookie_name_lens = lens,
                             .cookie_count = 2,
                             .cookie_remember = 3600};

    signer = ec_key("p1");
    stranger = ec_key("p1"); /* the same kid, another key */
    jwk = cjose_jwk_to_json(signer, true, &cerr);
    snprintf(jwks, sizeof(jwks), "{\"keys\": [%s]}", jwk);
    free(jwk);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &keys, err,
                                sizeof(err)) == OL_OK,
                  "%s", err);
    clients = clients_from(
        "[{\"client_id\": \"appA\","
        "  \"redirect_uris\": [\"https://a.example/cb\"],"
        "  \"post_logout_redirect_uris\": [\"https://a.example/bye\"],"
        "  \"backchannel_logout_uri\": \"https://a.example/bc\"},"
        " {\"client_id\": \"appB\","
        "  \"redirect_uris\": [\"https://b.example/cb\", "
        "\"https://shared.example/cb\"],"
        "  \"frontchannel_logout_uri\": \"https://b.example/fc\","
        "  \"frontchannel_logout_session_required\": true},"
        " {\"client_id\": \"appC\","
        "  \"redirect_uris\": [\"https://shared.example/cb\"]}]");
    conf.clients = clients;
    ck_assert_int_eq(ol_provider_new(&conf, &provider, err, sizeof(err)),
                     OL_OK);
    store = ol_store_create(&test_arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &test_arena, 1800, 8 * 3600);
}

static void
teardown(void)
{
    ol_provider_free(provider);
    ol_clients_free(clients);
    ol_keys_free(keys);
    cjose_jwk_release(signer);
    cjose_jwk_release(stranger);
    test_arena_clear();
}

START_TEST(test_provider_code_then_token)
{
    char err[512], handle[OL_ID_TEXT_LEN + 1], body[4096];
    char *t = id_token(signer, "appA", "alice", "PS-A");
    char *other = id_token(signer, "appB", "alice", "PS-B");
    ol_learned l;
    ol_session_info info;

    /* a resumed authorization (no client_id in the request) starts the
     * session and joins the client its redirect_uri is registered for */
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 303,
                "https://a.example/cb?code=C1&state=s1", "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    ck_assert_int_eq(l.set_cookie, 1);
    ck_assert_str_eq(err, "");
    memcpy(handle, l.handle, sizeof(handle));
    info = session_of(handle);
    ck_assert_uint_eq(info.client_count, 1);
    ck_assert_str_eq(info.clients, "appA");
    ck_assert_str_eq(info.provider_sids, "");
    ck_assert_uint_eq(info.sub_len, 0);

    /* the token response binds the subject and the provider's sid */
    snprintf(body, sizeof(body), "{\"access_token\":\"x\",\"id_token\":\"%s\"}",
             t);
    l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                "grant_type=authorization_code&code=C1&redirect_uri=x", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    ck_assert_int_eq(l.set_cookie, 0);
    info = session_of(handle);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_str_eq(info.provider_sids, "PS-A");

    /* a code is taken once */
    l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                "grant_type=authorization_code&code=C1", err, sizeof(err));
    ck_assert_int_eq(l.learned, 0);
    /* nor by a token of another client */
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302,
                "https://a.example/cb?code=C2", "", "client_id=appA", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    ck_assert_int_eq(l.set_cookie, 0);
    snprintf(body, sizeof(body), "{\"id_token\":\"%s\"}", other);
    l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                "grant_type=authorization_code&code=C2", err, sizeof(err));
    ck_assert_int_eq(l.learned, 0);
    info = session_of(handle);
    ck_assert_uint_eq(info.client_count, 1);

    /* neither an unregistered redirect_uri, nor an error response, nor a
     * refresh or a failed token request changes anything */
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302,
                "https://evil.example/cb?code=C3", "", "client_id=appA", err,
                sizeof(err));
    ck_assert_int_eq(l.learned + l.set_cookie, 0);
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302,
                "https://a.example/cb?error=access_denied", "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned + l.set_cookie, 0);
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302, "/interaction/abc", "", "",
                err, sizeof(err));
    ck_assert_int_eq(l.learned + l.set_cookie, 0);
    l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                "grant_type=refresh_token&code=C2", err, sizeof(err));
    ck_assert_int_eq(l.learned, 0);
    l = observe(OL_OBSERVE_TOKEN, "", 400, "", body,
                "grant_type=authorization_code&code=C2", err, sizeof(err));
    ck_assert_int_eq(l.learned, 0);
    free(t);
    free(other);
}
END_TEST

START_TEST(test_provider_id_tokens_in_responses)
{
    char err[512], handle[OL_ID_TEXT_LEN + 1], location[4096], page[8192];
    char *ta = id_token(signer, "appA", "alice", "PS-A");
    char *tb = id_token(signer, "appB", "alice", "PS-B");
    char *bob = id_token(signer, "appB", "bob", "PS-BOB");
    char *forged = id_token(stranger, "appB", "mallory", "PS-M");
    char sid_before[OL_ID_TEXT_LEN + 1];
    ol_learned l;
    ol_session_info info;

    /* implicit: the ID token in the fragment */
    snprintf(location, sizeof(location),
             "https://a.example/cb#id_token=%s&state=s", ta);
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302, location, "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.set_cookie, 1);
    memcpy(handle, l.handle, sizeof(handle));
    /* form_post, into the same session: attribute values are HTML */
    snprintf(page, sizeof(page),
             "<!DOCTYPE html><html><head><title>Submit</title></head>"
             "<body onload=\"document.forms[0].submit()\">"
             "<form method=\"post\" action='https://b.example/cb'>"
             "<input type=\"hidden\" name=\"state\" value=\"a&amp;b\"/>"
             "<input type=\"hidden\" name=\"id_token\" value=\"%s\"/>"
             "</form></body></html>",
             tb);
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 200, "", page, "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    ck_assert_int_eq(l.set_cookie, 0);
    info = session_of(handle);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_uint_eq(info.client_count, 2);
    ck_assert_str_eq(info.clients + 5, "appB");
    ck_assert_str_eq(info.provider_sids, "PS-A");
    ck_assert_str_eq(info.provider_sids + 5, "PS-B");
    memcpy(sid_before, info.sid, sizeof(sid_before));

    /* a redirect_uri two clients share: the request's client_id decides */
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302,
                "https://shared.example/cb?code=S1", "", "client_id=appC", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    ck_assert_uint_eq(session_of(handle).client_count, 3);

    /* a forged ID token binds nothing; the line to log says why */
    snprintf(location, sizeof(location), "https://b.example/cb#id_token=%s",
             forged);
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
                sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "ID token of the provider was refused"));
    info = session_of(handle);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_str_eq(info.provider_sids + 5, "PS-B");

    /* another subject in the same browser: a new session on the cookie */
    snprintf(location, sizeof(location), "https://b.example/cb#id_token=%s",
             bob);
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    info = session_of(handle);
    ck_assert_str_eq(info.sub, "bob");
    ck_assert_uint_eq(info.client_count, 1);
    ck_assert_str_eq(info.provider_sids, "PS-BOB");
    ck_assert_str_ne(info.sid, sid_before);
    free(ta);
    free(tb);
    free(bob);
    free(forged);
}
END_TEST

START_TEST(test_provider_logout_speaks_its_sids)
{
    char err[512], handle[OL_ID_TEXT_LEN + 1], location[4096], params[4096];
    char out[256], *claims_text;
    char *ta = id_token(signer, "appA", "alice", "PS-A");
    char *tb = id_token(signer, "appB", "alice", "PS-B");
    const char *cookie = "theme=dark; _session=s3cr3t; __Host-sso=x";
    const char *name, *value, *body;
    size_t name_len, value_len, len, out_len, i, expired = 0;
    const ol_target *target;
    ol_endpoint *endpoint;
    ol_response *resp;
    ol_deliveries *d;
    ol_learned l;
    ol_endpoint_conf conf = {.mode = OL_MODE_OIDC,
                             .clients = clients,
                             .keys = keys,
                             .issuer = ISSUER,
                             .issuer_len = strlen(ISSUER),
                             .sessions = 1,
                             .provider = provider};
    ol_logout_request rq = {.action = "/session/end",
                            .action_len = 12,
                            .store = store,
                            .arena = &test_arena,
                            .cookie = cookie,
                            .cookie_len = strlen(cookie),
                            .now = NOW + 5};

    snprintf(location, sizeof(location), "https://a.example/cb#id_token=%s",
             ta);
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302, location, "", "", err,
                sizeof(err));
    memcpy(handle, l.handle, sizeof(handle));
    snprintf(location, sizeof(location), "https://b.example/cb#id_token=%s",
             tb);
    observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
            sizeof(err));

    /* a hint carrying the provider's sid is the session's own: no
     * confirmation */
    ck_assert_int_eq(ol_endpoint_new(&conf, &endpoint, err, sizeof(err)),
                     OL_OK);
    snprintf(params, sizeof(params),
             "id_token_hint=%s&post_logout_redirect_uri=https%%3A%%2F%%2Fa."
             "example%%2Fbye",
             ta);
    rq.params = params;
    rq.params_len = strlen(params);
    rq.handle = handle;
    rq.handle_len = strlen(handle);
    ck_assert_int_eq(ol_logout_decide(endpoint, &rq, &resp, err, sizeof(err)),
                     OL_OK);
    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_int_eq(ol_response_clears_cookie(resp), 1);
    /* the front-channel iframe carries appB's sid */
    body = ol_response_body(resp, &len);
    ck_assert_ptr_nonnull(strstr(
        body, "https://b.example/fc?iss=https%3A%2F%2Fsso.example.com&amp;"
              "sid=PS-B"));
    /* the provider's cookies the browser sent are expired */
    for (i = 0; i < ol_response_header_count(resp); i++) {
        ol_response_header(resp, i, &name, &name_len, &value, &value_len);
        if (name_len == 10 && strncmp(name, "Set-Cookie", 10) == 0) {
            expired++;
            ck_assert(strncmp(value, "_session=; Path=/; Max-Age=0", 28) == 0 ||
                      strncmp(value, "__Host-sso=; Path=/; Max-Age=0", 30) ==
                          0);
            ck_assert((value[0] == '_' && value[1] == '_') ==
                      (strstr(value, "; Secure") != NULL));
        }
    }
    ck_assert_uint_eq(expired, 2);
    /* appA's logout token carries appA's sid */
    d = ol_response_take_deliveries(resp);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(ol_deliveries_sign(d, err, sizeof(err)), OL_OK);
    ck_assert_uint_eq(ol_deliveries_count(d), 1);
    ol_delivery_get(d, 0, &target, &body, &len);
    {
        cjose_err cerr;
        uint8_t *plain;
        size_t plain_len;
        cjose_jws_t *jws = cjose_jws_import(body + 13, len - 13, &cerr);

        ck_assert_ptr_nonnull(jws);
        ck_assert(cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr));
        claims_text = strndup((const char *)plain, plain_len);
        cjose_jws_release(jws);
    }
    ck_assert_ptr_nonnull(strstr(claims_text, "\"sid\":\"PS-A\""));
    ck_assert_ptr_nonnull(strstr(claims_text, "\"sub\":\"alice\""));
    free(claims_text);
    ol_deliveries_free(d);
    ol_response_free(resp);
    ol_endpoint_free(endpoint);

    /* the revoked values never reach the provider again; others do */
    ck_assert_int_eq(ol_provider_drop_revoked(provider, store, &test_arena,
                                              cookie, strlen(cookie), NOW + 6,
                                              out, &out_len),
                     1);
    ck_assert_uint_eq(out_len, 10);
    ck_assert(strncmp(out, "theme=dark", 10) == 0);
    ck_assert_int_eq(ol_provider_drop_revoked(provider, store, &test_arena,
                                              "_session=fresh", 14, NOW + 6,
                                              out, &out_len),
                     0);
    /* until the memory of them expires */
    ck_assert_int_eq(ol_provider_drop_revoked(provider, store, &test_arena,
                                              cookie, strlen(cookie),
                                              NOW + 5 + 3600, out, &out_len),
                     0);
    free(ta);
    free(tb);
}
END_TEST

Suite *
provider_suite(void)
{
    Suite *s = suite_create("provider");
    TCase *tc = tcase_create("observe");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_test(tc, test_provider_code_then_token);
    tcase_add_test(tc, test_provider_id_tokens_in_responses);
    tcase_add_test(tc, test_provider_logout_speaks_its_sids);
    suite_add_tcase(s, tc);
    return s;
}
