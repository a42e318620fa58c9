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

/* The handle an authorization response gave the browser: a fresh one at
 * every sign-in, the old one no longer names the session. */
static void
rekeyed(char *handle, const ol_learned *l)
{
    ol_session_info gone;

    ck_assert_int_eq(l->set_cookie, 1);
    ck_assert_str_ne(l->handle, handle);
    ck_assert_int_eq(ol_session_find(store, &test_arena, handle, strlen(handle),
                                     NOW, 0, &gone),
                     OL_DENIED);
    memcpy(handle, l->handle, OL_ID_TEXT_LEN + 1);
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
        "  \"redirect_uris\": [\"https://shared.example/cb\"]},"
        " {\"client_id\": \"appQ\","
        "  \"redirect_uris\": [\"https://q.example/cb?tenant=1\"]}]");
    conf.clients = clients;
    ck_assert_int_eq(ol_provider_new(&conf, &provider, err, sizeof(err)),
                     OL_OK);
    store = ol_store_create(&test_arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &test_arena, 1800, 8 * 3600, 1);
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
    rekeyed(handle, &l);
    snprintf(body, sizeof(body), "{\"id_token\":\"%s\"}", other);
    l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                "grant_type=authorization_code&code=C2", err, sizeof(err));
    ck_assert_int_eq(l.learned, 0);
    info = session_of(handle);
    ck_assert_uint_eq(info.client_count, 1);

    /* a token answer signed by a key not fetched yet (the provider
     * rotated) binds on the channel's word; one with a known kid and a
     * bad signature does not */
    {
        cjose_jwk_t *rotated = ec_key("p2");
        char *fresh = id_token(rotated, "appB", "alice", "PS-B2");
        char *forged = id_token(stranger, "appB", "alice", "PS-FORGED");

        l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302,
                    "https://b.example/cb?code=C4", "", "", err, sizeof(err));
        rekeyed(handle, &l);
        l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302,
                    "https://b.example/cb?code=C5", "", "", err, sizeof(err));
        rekeyed(handle, &l);
        snprintf(body, sizeof(body), "{\"id_token\":\"%s\"}", forged);
        l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                    "grant_type=authorization_code&code=C5", err, sizeof(err));
        ck_assert_int_eq(l.learned, 0);
        ck_assert_ptr_nonnull(strstr(err, "bad signature"));
        snprintf(body, sizeof(body), "{\"id_token\":\"%s\"}", fresh);
        l = observe(OL_OBSERVE_TOKEN, "", 200, "", body,
                    "grant_type=authorization_code&code=C4", err, sizeof(err));
        ck_assert_int_eq(l.learned, 1);
        ck_assert_int_eq(l.unknown_kid, 1);
        info = session_of(handle);
        ck_assert_str_eq(info.clients + 5, "appB");
        ck_assert_str_eq(info.provider_sids + 5, "PS-B2");
        free(fresh);
        free(forged);
        cjose_jwk_release(rotated);
    }

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
    rekeyed(handle, &l);
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
    rekeyed(handle, &l);
    ck_assert_uint_eq(session_of(handle).client_count, 3);

    /* a forged ID token binds nothing; the line to log says why */
    snprintf(location, sizeof(location), "https://b.example/cb#id_token=%s",
             forged);
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
                sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "ID token of the provider was refused"));
    rekeyed(handle, &l);
    info = session_of(handle);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_str_eq(info.provider_sids + 5, "PS-B");

    /* another subject in the same browser: a new session on the cookie */
    snprintf(location, sizeof(location), "https://b.example/cb#id_token=%s",
             bob);
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    rekeyed(handle, &l);
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
    l = observe(OL_OBSERVE_AUTHORIZATION, handle, 302, location, "", "", err,
                sizeof(err));
    rekeyed(handle, &l);

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

/* What a hostile page or browser tries. */
START_TEST(test_provider_hostile)
{
    char err[512], out[8192], flood[8192], handle[OL_ID_TEXT_LEN + 1];
    const char *spellings[] = {
        "_session=p1",     "_session =p1",
        "_session= p1",    "_session=\"p1\"",
        "_session=%70%31", "a=1;_session=p1;b;c;d;e;f;g;h;i;j;k;l;m;n;o"};
    size_t i, out_len, len;
    ol_endpoint *endpoint;
    ol_response *resp;
    ol_learned l;
    ol_endpoint_conf conf = {.mode = OL_MODE_AUTH0,
                             .clients = clients,
                             .sessions = 1,
                             .provider = provider};
    ol_logout_request rq = {.action = "/v2/logout",
                            .action_len = 10,
                            .store = store,
                            .arena = &test_arena,
                            .now = NOW};

    /* markup a browser does not read as a form, and a form that does
     * not post, teach nothing */
    const char *pages[] = {
        "<!-- <form method=post action=\"https://b.example/cb\">"
        "<input type=hidden name=code value=CM></form> -->",
        "<script>var f = '<form method=post action=\"https://b.example/cb\">"
        "<input name=code value=CS>';</script>",
        "<form method=get action=\"https://b.example/cb\">"
        "<input type=hidden name=code value=CG></form>"};
    for (i = 0; i < 3; i++) {
        l = observe(OL_OBSERVE_AUTHORIZATION, "", 200, "", pages[i], "", err,
                    sizeof(err));
        ck_assert_msg(l.learned + l.set_cookie == 0, "page %zu", i);
    }
    /* a registered redirect_uri with a query of its own */
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302,
                "https://q.example/cb?tenant=1&code=Q1&state=s", "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 1);
    memcpy(handle, l.handle, sizeof(handle));
    ck_assert_str_eq(session_of(handle).clients, "appQ");
    l = observe(OL_OBSERVE_AUTHORIZATION, "", 302,
                "https://q.example/cb?tenant=12&code=Q2", "", "", err,
                sizeof(err));
    ck_assert_int_eq(l.learned, 0);

    /* a logout revokes _session=p1; every spelling of it is dropped */
    ck_assert_int_eq(ol_endpoint_new(&conf, &endpoint, err, sizeof(err)),
                     OL_OK);
    rq.cookie = "_session=p1";
    rq.cookie_len = 11;
    ck_assert_int_eq(ol_logout_decide(endpoint, &rq, &resp, err, sizeof(err)),
                     OL_OK);
    ol_response_free(resp);
    for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        len = strlen(spellings[i]);
        ck_assert_msg(ol_provider_drop_revoked(provider, store, &test_arena,
                                               spellings[i], len, NOW + 1, out,
                                               &out_len) == 1,
                      "%s", spellings[i]);
        ck_assert(out_len <= 2 * len);
        out[out_len] = '\0';
        ck_assert_ptr_null(strstr(out, "p1"));
    }
    /* a logout with a flood of values cannot make the zone forget it */
    len = 0;
    for (i = 0; i < 400; i++) {
        len += (size_t)snprintf(flood + len, sizeof(flood) - len,
                                "%s_session=r%zu", i ? "; " : "", i);
    }
    rq.cookie = flood;
    rq.cookie_len = len;
    ck_assert_int_eq(ol_logout_decide(endpoint, &rq, &resp, err, sizeof(err)),
                     OL_OK);
    ol_response_free(resp);
    ck_assert_int_eq(ol_provider_drop_revoked(provider, store, &test_arena,
                                              "_session=p1", 11, NOW + 1, out,
                                              &out_len),
                     1);
    ck_assert_int_eq(ol_provider_drop_revoked(provider, store, &test_arena,
                                              "_session=r399", 13, NOW + 1, out,
                                              &out_len),
                     0);
    ol_endpoint_free(endpoint);
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
    tcase_add_test(tc, test_provider_hostile);
    suite_add_tcase(s, tc);
    return s;
}
