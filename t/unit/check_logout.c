/*
 * The logout endpoint with sessions and id_token_hint: who may end a
 * session without confirming, the confirmation form, federated logout, and
 * operators' page templates.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000
#define CSRF "CSRF-token-bound-to-the-session-0123456789a"

static cjose_jwk_t *key;
static ol_keys *keys;
static ol_clients *clients;
static ol_allowlist *tenant;
static ol_endpoint_conf ep;

static void
setup(void)
{
    cjose_err err;
    char *pub, jwks[8192], e[512];
    const char *portal = "https://portal.example.com/";

    key = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    ck_assert(cjose_jwk_set_kid(key, "k1", 2, &err));
    pub = cjose_jwk_to_json(key, false, &err);
    snprintf(jwks, sizeof(jwks), "{\"keys\": [%s]}", pub);
    free(pub);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &keys, e,
                                sizeof(e)) == OL_OK,
                  "%s", e);
    clients = clients_from(
        "[{\"client_id\": \"app1\", \"post_logout_redirect_uris\": "
        "[\"https://app1.example.com/out\"]},"
        " {\"client_id\": \"app2\"},"
        " {\"client_id\": \"skip\", \"skip_logout_confirmation\": true,"
        "  \"post_logout_redirect_uris\": "
        "[\"https://skip.example.com/out\"]},"
        " {\"client_id\": \"far\", \"post_logout_redirect_uris\": "
        "[\"http://far.example.net:8080/bye;v=1,2?a=b\"]}]");
    ck_assert_int_eq(ol_allowlist_new(&tenant), OL_OK);
    ck_assert_int_eq(
        ol_allowlist_add(tenant, portal, strlen(portal), e, sizeof(e)), OL_OK);
    memset(&ep, 0, sizeof(ep));
    ep.mode = OL_MODE_OIDC;
    ep.clients = clients;
    ep.tenant_urls = tenant;
    ep.keys = keys;
    ep.issuer = ISSUER;
    ep.issuer_len = strlen(ISSUER);
    ep.sessions = 1;
}

static void
teardown(void)
{
    ol_keys_free(keys);
    ol_clients_free(clients);
    ol_allowlist_free(tenant);
    cjose_jwk_release(key);
}

/* A hint for app1 of subject sub and session sid (no sid claim when NULL). */
static char *
hint(const char *sub, const char *sid, long iat)
{
    char claims[512], *t, *enc;

    snprintf(claims, sizeof(claims),
             "{\"iss\": \"" ISSUER "\", \"sub\": \"%s\", \"aud\": \"app1\", "
             "\"iat\": %ld, \"exp\": %ld%s%s%s}",
             sub, iat, iat + 300, sid ? ", \"sid\": \"" : "", sid ? sid : "",
             sid ? "\"" : "");
    t = mint_token(key, "RS256", claims);
    enc = url_encode(t);
    free(t);
    return enc;
}

/* The response to params, by POST when post, with the session of alice
 * (sid SID-1) when session. */
static ol_response *
respond(const char *params, int post, int session)
{
    ol_logout_state rq = {.params = params,
                          .params_len = strlen(params),
                          .post = post,
                          .action = "/logout",
                          .action_len = 7,
                          .has_cookie = session,
                          .has_session = session,
                          .session_sid = "SID-1",
                          .session_sid_len = 5,
                          .session_sub = "alice",
                          .session_sub_len = 5,
                          .csrf_token = CSRF,
                          .csrf_token_len = strlen(CSRF),
                          .now = NOW};
    ol_response *r = NULL;

    ck_assert_int_eq(ol_logout_respond(&ep, &rq, &r), OL_OK);
    return r;
}

/* Asserts r is a redirect to location that ends the session. */
static void
assert_redirect(ol_response *r, const char *location)
{
    char *loc = response_header(r, "Location");

    ck_assert_int_eq(ol_response_status(r), 302);
    ck_assert_ptr_nonnull(loc);
    ck_assert_str_eq(loc, location);
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    free(loc);
    ol_response_free(r);
}

/* Asserts r asks for confirmation (ends nothing) and returns its body. */
static char *
assert_confirm(ol_response *r)
{
    char *body = response_body(r);

    ck_assert_int_eq(ol_response_status(r), 200);
    ck_assert_ptr_null(response_header(r, "Location"));
    ck_assert_int_eq(ol_response_ends_session(r), 0);
    ck_assert_ptr_nonnull(strstr(body, "<form method=\"post\" "
                                       "action=\"/logout\">"));
    ck_assert_ptr_nonnull(strstr(body, "name=\"confirm\" value=\"" CSRF));
    ol_response_free(r);
    return body;
}

static void
assert_refused(ol_response *r, const char *why)
{
    char *log = response_log(r);

    ck_assert_int_eq(ol_response_status(r), 400);
    ck_assert_int_eq(ol_response_ends_session(r), 0);
    ck_assert_msg(strstr(log, why) != NULL, "\"%s\" lacks \"%s\"", log, why);
    free(log);
    ol_response_free(r);
}

static const char uri[] =
    "post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fout";

START_TEST(test_logout_hint_of_the_session)
{
    char params[4096], *h = hint("alice", "SID-1", NOW - 10);

    snprintf(params, sizeof(params), "id_token_hint=%s&%s&state=xyz", h, uri);
    assert_redirect(respond(params, 0, 1),
                    "https://app1.example.com/out?state=xyz");
    free(h);
}
END_TEST

START_TEST(test_logout_expired_hint)
{
    char params[4096], *h = hint("alice", "SID-1", NOW - 86400 * 30);

    snprintf(params, sizeof(params), "id_token_hint=%s&%s", h, uri);
    assert_redirect(respond(params, 0, 1), "https://app1.example.com/out");
    free(h);
}
END_TEST

START_TEST(test_logout_hint_of_another_session)
{
    char params[4096], *body, *h = hint("alice", "SID-2", NOW);

    snprintf(params, sizeof(params), "id_token_hint=%s&%s&state=s", h, uri);
    body = assert_confirm(respond(params, 0, 1));
    /* the form carries the request on */
    ck_assert_ptr_nonnull(strstr(body, "name=\"id_token_hint\""));
    ck_assert_ptr_nonnull(strstr(body, "name=\"post_logout_redirect_uri\" "
                                       "value=\"https://app1.example.com/"
                                       "out\""));
    ck_assert_ptr_nonnull(strstr(body, "name=\"state\" value=\"s\""));
    free(body);
    free(h);
}
END_TEST

START_TEST(test_logout_hint_without_sid)
{
    char params[4096], *h = hint("alice", NULL, NOW);

    snprintf(params, sizeof(params), "id_token_hint=%s&%s", h, uri);
    assert_redirect(respond(params, 0, 1), "https://app1.example.com/out");
    free(h);
    h = hint("bob", NULL, NOW);
    snprintf(params, sizeof(params), "id_token_hint=%s&%s", h, uri);
    free(assert_confirm(respond(params, 0, 1)));
    free(h);
}
END_TEST

START_TEST(test_logout_confirmation_flow)
{
    char params[4096];

    snprintf(params, sizeof(params), "client_id=app1&%s&state=q", uri);
    free(assert_confirm(respond(params, 0, 1)));

    /* the posted confirmation ends the session and redirects */
    snprintf(params, sizeof(params), "client_id=app1&%s&state=q&confirm=%s",
             uri, CSRF);
    assert_redirect(respond(params, 1, 1),
                    "https://app1.example.com/out?state=q");

    /* not by GET, not with another token */
    free(assert_confirm(respond(params, 0, 1)));
    snprintf(params, sizeof(params), "client_id=app1&%s&confirm=%.42sX", uri,
             CSRF);
    free(assert_confirm(respond(params, 1, 1)));
    snprintf(params, sizeof(params), "client_id=app1&%s&confirm=", uri);
    free(assert_confirm(respond(params, 1, 1)));
}
END_TEST

START_TEST(test_logout_no_parameters_with_session)
{
    /* no hint and no client_id: confirmation, then no redirect */
    ol_response *r;
    char params[256];

    free(assert_confirm(respond("", 0, 1)));
    snprintf(params, sizeof(params), "confirm=%s", CSRF);
    r = respond(params, 1, 1);
    ck_assert_int_eq(ol_response_status(r), 200);
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ck_assert_ptr_null(response_header(r, "Location"));
    ol_response_free(r);
}
END_TEST

START_TEST(test_logout_without_session)
{
    char params[4096];

    /* nothing to end: no confirmation needed */
    snprintf(params, sizeof(params), "client_id=app1&%s&state=z", uri);
    assert_redirect(respond(params, 0, 0),
                    "https://app1.example.com/out?state=z");
}
END_TEST

START_TEST(test_logout_skip_confirmation)
{
    char claims[512], params[4096], *t, *enc;

    /* a hint of that client for this user, of another session: no
     * confirmation */
    snprintf(claims, sizeof(claims),
             "{\"iss\": \"" ISSUER "\", \"sub\": \"alice\", \"aud\": "
             "\"skip\", \"iat\": %d, \"sid\": \"other\"}",
             NOW);
    t = mint_token(key, "RS256", claims);
    enc = url_encode(t);
    snprintf(params, sizeof(params),
             "id_token_hint=%s&post_logout_redirect_uri="
             "https%%3A%%2F%%2Fskip.example.com%%2Fout",
             enc);
    assert_redirect(respond(params, 0, 1), "https://skip.example.com/out");
    free(t);
    free(enc);

    /* a link naming the client is no proof: confirmation */
    free(assert_confirm(respond("client_id=skip&post_logout_redirect_uri="
                                "https%3A%2F%2Fskip.example.com%2Fout",
                                0, 1)));
}
END_TEST

START_TEST(test_logout_post_without_cookie)
{
    /* an application's cross-site form post comes without the Lax cookie:
     * the same parameters again by GET */
    ol_response *r = respond("client_id=app1&state=a+b&post_logout_redirect_"
                             "uri=https%3A%2F%2Fapp1.example.com%2Fout&"
                             "junk=%0D%0AX:%20y",
                             1, 0);
    char *loc = response_header(r, "Location");

    ck_assert_int_eq(ol_response_status(r), 303);
    ck_assert_int_eq(ol_response_ends_session(r), 0);
    /* relative: the path the glue gives, nothing of the request's Host */
    ck_assert_str_eq(loc, "/logout?client_id=app1&post_logout_redirect_uri="
                          "https%3A%2F%2Fapp1.example.com%2Fout&state=a%20b");
    free(loc);
    ol_response_free(r);

    /* a POST that carries a confirmation, or one to an endpoint without
     * sessions, is answered at once */
    r = respond("client_id=app1&confirm=x", 1, 0);
    ck_assert_int_eq(ol_response_status(r), 200);
    ol_response_free(r);
    ep.sessions = 0;
    r = respond("client_id=app1", 1, 0);
    ck_assert_int_eq(ol_response_status(r), 200);
    ol_response_free(r);
}
END_TEST

START_TEST(test_logout_client_id_mismatch)
{
    char params[4096], *h = hint("alice", "SID-1", NOW);

    snprintf(params, sizeof(params), "id_token_hint=%s&client_id=app2&%s", h,
             uri);
    assert_refused(respond(params, 0, 1),
                   "client_id \"app2\" is not the client of the "
                   "id_token_hint \"app1\"");
    snprintf(params, sizeof(params), "id_token_hint=%s&client_id=app1&%s", h,
             uri);
    assert_redirect(respond(params, 0, 1), "https://app1.example.com/out");
    free(h);
}
END_TEST

START_TEST(test_logout_logout_hint)
{
    char params[4096], *h = hint("alice", "SID-1", NOW);

    snprintf(params, sizeof(params), "id_token_hint=%s&logout_hint=alice&%s", h,
             uri);
    assert_redirect(respond(params, 0, 1), "https://app1.example.com/out");
    snprintf(params, sizeof(params), "id_token_hint=%s&logout_hint=SID-1&%s", h,
             uri);
    assert_redirect(respond(params, 0, 1), "https://app1.example.com/out");
    snprintf(params, sizeof(params), "id_token_hint=%s&logout_hint=bob&%s", h,
             uri);
    assert_refused(respond(params, 0, 1),
                   "logout_hint matches neither the sub nor the sid");
    free(h);
}
END_TEST

START_TEST(test_logout_invalid_hint)
{
    /* an HMAC token "signed" by a client: no valid hint, so confirmation,
     * and without a known client no redirect */
    const char *hs = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL3Nzby5leGFtcGx"
                     "lLmNvbSIsInN1YiI6ImFsaWNlIiwiYXVkIjoiYXBwMSIsImlhdCI6MX0"
                     ".c2lnbmF0dXJl";
    char params[4096], *log;
    ol_response *r;

    snprintf(params, sizeof(params), "id_token_hint=%s&%s", hs, uri);
    r = respond(params, 0, 1);
    log = response_log(r);
    ck_assert_ptr_nonnull(strstr(log, "id_token_hint refused: HMAC"));
    free(log);
    free(assert_confirm(r));

    snprintf(params, sizeof(params), "id_token_hint=%s&%s&confirm=%s", hs, uri,
             CSRF);
    r = respond(params, 1, 1);
    ck_assert_int_eq(ol_response_status(r), 200);
    ck_assert_ptr_null(response_header(r, "Location"));
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ol_response_free(r);
}
END_TEST

START_TEST(test_logout_hint_and_state_without_uri)
{
    char params[4096], *h = hint("alice", "SID-1", NOW);
    ol_response *r;

    snprintf(params, sizeof(params), "id_token_hint=%s&state=abc", h);
    r = respond(params, 0, 1);
    ck_assert_int_eq(ol_response_status(r), 200);
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ck_assert_ptr_null(response_header(r, "Location"));
    ol_response_free(r);
    free(h);
}
END_TEST

START_TEST(test_logout_confirmation_escapes_values)
{
    char *body = assert_confirm(
        respond("client_id=app1&state=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript"
                "%3E&ui_locales=fr%27%20onload%3D%27x",
                0, 1));

    ck_assert_ptr_null(strstr(body, "<script"));
    ck_assert_ptr_null(strstr(body, "' onload"));
    ck_assert_ptr_nonnull(strstr(body, "value=\"&quot;&gt;&lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(body, "value=\"fr&#39; onload=&#39;x\""));
    free(body);
}
END_TEST

/* The Content-Security-Policy of the confirmation page of params. */
static char *
confirm_csp_of(const char *params)
{
    ol_response *r = respond(params, 0, 1);
    char *csp = response_header(r, "Content-Security-Policy");

    ck_assert_ptr_nonnull(csp);
    free(assert_confirm(r));
    return csp;
}

START_TEST(test_logout_confirmation_csp)
{
    static const char *const alone[] = {
        "client_id=app1",
        "post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fout",
        "client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fevil.example."
        "com%2Fout",
        "client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example."
        "com%2Fout%2F..%2Fout"};
    char *csp;
    size_t i;

    /* the confirmed request is answered by a redirect to the registered
     * URI, which browsers check against the form's form-action: that
     * origin is allowed, and no other */
    csp = confirm_csp_of("client_id=app1&post_logout_redirect_uri=https%3A%2F%"
                         "2Fapp1.example.com%2Fout&state=s");
    ck_assert_str_eq(csp, "default-src 'none'; base-uri 'none'; form-action "
                          "'self' https://app1.example.com; frame-ancestors "
                          "'none'");
    free(csp);

    /* scheme and host in lower case and the port kept; never the path or
     * the query, whose ';' and ',' would end the directive */
    csp = confirm_csp_of("client_id=far&post_logout_redirect_uri=HTTP%3A%2F%"
                         "2FFar.Example.NET%3A8080%2Fbye%3Bv%3D1%2C2%3Fa%3Db");
    ck_assert_str_eq(csp, "default-src 'none'; base-uri 'none'; form-action "
                          "'self' http://far.example.net:8080; "
                          "frame-ancestors 'none'");
    free(csp);

    /* no redirect will follow (no URI, no known client, not registered,
     * malformed): forms post to this origin only */
    for (i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
        csp = confirm_csp_of(alone[i]);
        ck_assert_msg(strcmp(csp, "default-src 'none'; base-uri 'none'; "
                                  "form-action 'self'; frame-ancestors "
                                  "'none'") == 0,
                      "%s: %s", alone[i], csp);
        free(csp);
    }
}
END_TEST

START_TEST(test_logout_without_keys)
{
    char params[4096], *log, *h = hint("alice", "SID-1", NOW);
    ol_response *r;

    ep.keys = NULL;
    snprintf(params, sizeof(params), "id_token_hint=%s&%s", h, uri);
    r = respond(params, 0, 1);
    log = response_log(r);
    ck_assert_ptr_nonnull(strstr(log, "no oidc_logout_keys"));
    free(log);
    free(assert_confirm(r));
    free(h);
}
END_TEST

START_TEST(test_logout_federated)
{
    ol_response *r;
    size_t len;
    const char *back;

    ep.mode = OL_MODE_AUTH0;
    ep.federated = 1;
    r = respond("returnTo=https%3A%2F%2Fportal.example.com%2F&federated", 0, 1);
    ck_assert_int_eq(ol_response_status(r), 302);
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ck_assert_ptr_null(response_header(r, "Location"));
    back = ol_response_federated_return(r, &len);
    ck_assert_ptr_nonnull(back);
    /* the endpoint's path on the issuer's origin */
    ck_assert_str_eq(back, "https%3A%2F%2Fsso.example.com%2Flogout%3F"
                           "returnTo%3Dhttps%253A%252F%252Fportal.example.com"
                           "%252F");
    ol_response_free(r);

    /* the origin only: an issuer's path and query are not part of it */
    ep.issuer = "https://SSO.example.com:8443/tenant/a?x=/y";
    ep.issuer_len = strlen(ep.issuer);
    r = respond("client_id=app1&federated", 0, 1);
    back = ol_response_federated_return(r, &len);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back, "https%3A%2F%2FSSO.example.com%3A8443%2Flogout%3F"
                           "client_id%3Dapp1");
    ol_response_free(r);

    /* without an issuer (which nginx -t requires) nothing is federated:
     * no way back could be built */
    ep.issuer = NULL;
    ep.issuer_len = 0;
    assert_redirect(
        respond("returnTo=https%3A%2F%2Fportal.example.com%2F&federated", 0, 1),
        "https://portal.example.com/");
    ep.issuer = ISSUER;
    ep.issuer_len = strlen(ISSUER);

    /* the way back has no "federated": on to returnTo */
    assert_redirect(
        respond("returnTo=https%3A%2F%2Fportal.example.com%2F", 0, 0),
        "https://portal.example.com/");

    /* without oidc_logout_federated_url, "federated" is ignored */
    ep.federated = 0;
    assert_redirect(respond("returnTo=https%3A%2F%2Fportal.example.com%2F&"
                            "federated=",
                            0, 1),
                    "https://portal.example.com/");
}
END_TEST

START_TEST(test_logout_page_templates)
{
    ol_template *t = NULL;
    char err[512] = "";
    const char *path;
    char *body;
    ol_response *r;

    path = temp_file("<p>{{nonsense}}</p>");
    ck_assert_int_eq(
        ol_template_load(path, OL_PAGE_ERROR, &t, err, sizeof(err)),
        OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "unknown placeholder \"{{nonsense}}\""));
    unlink(path);

    path = temp_file("<p>{{message}}</p>");
    ck_assert_int_eq(
        ol_template_load(path, OL_PAGE_CONFIRM, &t, err, sizeof(err)),
        OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "a confirmation page needs {{form}}"));
    unlink(path);

    ck_assert_int_eq(ol_template_load("/nonexistent/page.html",
                                      OL_PAGE_LOGGED_OUT, &t, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "cannot be read"));

    path = temp_file("<h1>ACME: {{title}}</h1><div>{{form}}</div>");
    ck_assert_int_eq(
        ol_template_load(path, OL_PAGE_CONFIRM, &t, err, sizeof(err)), OL_OK);
    unlink(path);
    ep.pages[OL_PAGE_CONFIRM] = t;
    body = assert_confirm(respond("client_id=app1", 0, 1));
    ck_assert_ptr_nonnull(strstr(body, "<h1>ACME: Sign out?</h1><div><form"));
    free(body);

    /* the other pages stay built in */
    r = respond("", 0, 0);
    body = response_body(r);
    ck_assert_ptr_nonnull(strstr(body, "You have been signed out."));
    free(body);
    ol_response_free(r);
    ep.pages[OL_PAGE_CONFIRM] = NULL;
    ol_template_free(t);
}
END_TEST

Suite *
logout_suite(void)
{
    Suite *s = suite_create("logout");
    TCase *tc = tcase_create("decisions");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_logout_hint_of_the_session);
    tcase_add_test(tc, test_logout_expired_hint);
    tcase_add_test(tc, test_logout_hint_of_another_session);
    tcase_add_test(tc, test_logout_hint_without_sid);
    tcase_add_test(tc, test_logout_confirmation_flow);
    tcase_add_test(tc, test_logout_no_parameters_with_session);
    tcase_add_test(tc, test_logout_without_session);
    tcase_add_test(tc, test_logout_skip_confirmation);
    tcase_add_test(tc, test_logout_post_without_cookie);
    tcase_add_test(tc, test_logout_client_id_mismatch);
    tcase_add_test(tc, test_logout_logout_hint);
    tcase_add_test(tc, test_logout_invalid_hint);
    tcase_add_test(tc, test_logout_hint_and_state_without_uri);
    tcase_add_test(tc, test_logout_confirmation_escapes_values);
    tcase_add_test(tc, test_logout_confirmation_csp);
    tcase_add_test(tc, test_logout_without_keys);
    tcase_add_test(tc, test_logout_federated);
    tcase_add_test(tc, test_logout_page_templates);
    suite_add_tcase(s, tc);
    return s;
}
