/*
 * The logout endpoint's decisions, both modes (ol_logout_respond).
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ol_clients *clients;
static ol_allowlist *tenant;

static void
setup(void)
{
    static const char *urls[] = {"https://portal.example.com/",
                                 "https://*.tenant.example.com/home"};
    char err[256];
    size_t i;

    clients = clients_from(
        "[{\"client_id\": \"app1\","
        "  \"post_logout_redirect_uris\": [\"https://app1.example.com/out\","
        "     \"https://app1.example.com/out?lang=en\"],"
        "  \"allowed_logout_urls\": [\"https://*.app1.example.com/bye\","
        "     \"https://app1.example.com/bye\", \"https://app1.example.com/"
        "second\"]},"
        " {\"client_id\": \"wild\","
        "  \"allowed_logout_urls\": [\"https://*.wild.example.com/bye\"]},"
        " {\"client_id\": \"bare\"}]");
    ck_assert_int_eq(ol_allowlist_new(&tenant), OL_OK);
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        ck_assert_int_eq(ol_allowlist_add(tenant, urls[i], strlen(urls[i]), err,
                                          sizeof(err)),
                         OL_OK);
    }
}

static void
teardown(void)
{
    ol_clients_free(clients);
    ol_allowlist_free(tenant);
}

/* Asserts a 302 to location, and no body. */
static void
assert_redirect(ol_mode mode, const char *params, const char *location)
{
    ol_response *r = logout(mode, clients, tenant, params);
    char *loc = response_header(r, "Location");
    size_t len;

    ck_assert_msg(ol_response_status(r) == 302, "%s: status %d", params,
                  ol_response_status(r));
    ck_assert_ptr_nonnull(loc);
    ck_assert_str_eq(loc, location);
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ol_response_body(r, &len);
    ck_assert_uint_eq(len, 0);
    free(loc);
    ol_response_free(r);
}

/* Asserts a 400 without Location whose log reason says reason. */
static void
assert_refused(ol_mode mode, const char *params, const char *reason)
{
    ol_response *r = logout(mode, clients, tenant, params);
    char *loc = response_header(r, "Location");
    char *log = response_log(r);
    char *body = response_body(r);

    ck_assert_msg(ol_response_status(r) == 400, "%s: status %d", params,
                  ol_response_status(r));
    ck_assert_ptr_null(loc);
    /* a refused request leaves the session alone */
    ck_assert_int_eq(ol_response_ends_session(r), 0);
    ck_assert_msg(strstr(log, reason) != NULL, "%s: log \"%s\" lacks \"%s\"",
                  params, log, reason);
    ck_assert_ptr_nonnull(strstr(body, "<title>Sign-out request refused"));
    free(log);
    free(body);
    ol_response_free(r);
}

/* Asserts the 200 logged-out page, and nothing to log. */
static void
assert_logged_out(ol_mode mode, const char *params)
{
    ol_response *r = logout(mode, clients, tenant, params);
    char *loc = response_header(r, "Location");
    char *body = response_body(r);
    size_t len;

    ck_assert_msg(ol_response_status(r) == 200, "%s: status %d", params,
                  ol_response_status(r));
    ck_assert_ptr_null(loc);
    ck_assert_ptr_nonnull(strstr(body, "You have been signed out."));
    ck_assert_int_eq(ol_response_ends_session(r), 1);
    ck_assert_ptr_null(ol_response_log_reason(r, &len));
    free(body);
    ol_response_free(r);
}

/* Asserts the logged-out page (no redirect) with a log note saying why. */
static void
assert_not_redirected(ol_mode mode, const char *params, const char *note)
{
    ol_response *r = logout(mode, clients, tenant, params);
    char *loc = response_header(r, "Location");
    char *log = response_log(r);
    char *body = response_body(r);

    ck_assert_msg(ol_response_status(r) == 200, "%s: status %d", params,
                  ol_response_status(r));
    ck_assert_ptr_null(loc);
    ck_assert_ptr_nonnull(strstr(body, "You have been signed out."));
    ck_assert_msg(strstr(log, note) != NULL, "%s: log \"%s\" lacks \"%s\"",
                  params, log, note);
    free(log);
    free(body);
    ol_response_free(r);
}

START_TEST(test_oidc_redirect_with_state)
{
    assert_redirect(OL_MODE_OIDC,
                    "client_id=app1&post_logout_redirect_uri="
                    "https%3A%2F%2Fapp1.example.com%2Fout&state=abc",
                    "https://app1.example.com/out?state=abc");
}
END_TEST

START_TEST(test_oidc_redirect_without_state)
{
    assert_redirect(OL_MODE_OIDC,
                    "post_logout_redirect_uri=https://app1.example.com/out"
                    "&client_id=app1&ui_locales=fr",
                    "https://app1.example.com/out");
}
END_TEST

START_TEST(test_oidc_state_after_query)
{
    assert_redirect(OL_MODE_OIDC,
                    "client_id=app1&post_logout_redirect_uri="
                    "https%3A%2F%2Fapp1.example.com%2Fout%3Flang%3Den&state=s",
                    "https://app1.example.com/out?lang=en&state=s");
}
END_TEST

START_TEST(test_oidc_state_round_trip)
{
    /* 90 bytes of punctuation, spaces and letters */
    const char *state =
        "&#%?=/\"<>`'!$()*+,;:@[]{}|\\^~ a-b_c.d"
        "&#%?=/\"<>`'!$()*+,;:@[]{}|\\^~ e-f_g.h1234567890abcdef";
    char *enc = url_encode(state);
    char params[1024], location[1024];

    ck_assert_uint_eq(strlen(state), 90);
    snprintf(params, sizeof(params),
             "client_id=app1&post_logout_redirect_uri=https%%3A%%2F%%2F"
             "app1.example.com%%2Fout&state=%s",
             enc);
    snprintf(location, sizeof(location),
             "https://app1.example.com/out?state=%s", enc);
    assert_redirect(OL_MODE_OIDC, params, location);
    free(enc);
}
END_TEST

START_TEST(test_oidc_state_plus_is_space)
{
    assert_redirect(OL_MODE_OIDC,
                    "client_id=app1&post_logout_redirect_uri="
                    "https://app1.example.com/out&state=a+b%2Bc",
                    "https://app1.example.com/out?state=a%20b%2Bc");
    /* escapes and pluses first, last, side by side, and a lone "+" */
    assert_redirect(OL_MODE_OIDC,
                    "client_id=app1&post_logout_redirect_uri="
                    "https://app1.example.com/out&state=%41++%2b%2B%7e+x%25",
                    "https://app1.example.com/out?state=A%20%20%2B%2B~%20x%25");
    assert_redirect(OL_MODE_OIDC,
                    "client_id=app1&post_logout_redirect_uri="
                    "https://app1.example.com/out&state=+",
                    "https://app1.example.com/out?state=%20");
}
END_TEST

START_TEST(test_oidc_refusals)
{
    assert_refused(OL_MODE_OIDC,
                   "client_id=app1&client_id=app1&post_logout_redirect_uri="
                   "https://app1.example.com/out",
                   "\"client_id\" sent more than once");
    assert_refused(OL_MODE_OIDC, "state=a&state=b",
                   "\"state\" sent more than once");
    assert_refused(OL_MODE_OIDC, "client_id=app1&state=%zz",
                   "bad percent-encoding");
    /* cut escapes, at the end of a value and of the request */
    assert_refused(OL_MODE_OIDC, "state=ab%4&client_id=app1",
                   "bad percent-encoding");
    assert_refused(OL_MODE_OIDC, "client_id=app1&state=%2B%",
                   "bad percent-encoding");
    assert_refused(OL_MODE_OIDC, "client_id=app1&state=a+%4",
                   "bad percent-encoding");
    /* in a name, and in the value of a parameter the endpoint ignores */
    assert_refused(OL_MODE_OIDC, "client_id=app1&st%ate=a",
                   "bad percent-encoding");
    assert_refused(OL_MODE_OIDC, "client_id=app1&other=%g1",
                   "bad percent-encoding");
}
END_TEST

START_TEST(test_oidc_redirect_not_honoured)
{
    /* no redirect, the signed-out page, and a log note saying why */
    assert_not_redirected(OL_MODE_OIDC,
                          "post_logout_redirect_uri=https://app1.example.com/"
                          "out",
                          "ignored: no known client");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=nope&post_logout_redirect_uri="
                          "https://app1.example.com/out",
                          "unknown client_id \"nope\"");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=app1&post_logout_redirect_uri="
                          "https://app1.example.com/out%3Ffoo%3Dbar",
                          "ignored: not registered for client \"app1\"");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=app1&post_logout_redirect_uri="
                          "https://app1.example.com/Out",
                          "not registered");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=app1&post_logout_redirect_uri="
                          "http://app1.example.com/out",
                          "not registered");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=bare&post_logout_redirect_uri="
                          "https://app1.example.com/out",
                          "not registered for client \"bare\"");
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=app1&post_logout_redirect_uri=%2F%2F"
                          "evil.com",
                          "no scheme");
    /* the tenant list does not apply to RP-Initiated Logout */
    assert_not_redirected(OL_MODE_OIDC,
                          "client_id=app1&post_logout_redirect_uri="
                          "https://portal.example.com/",
                          "not registered");
    assert_not_redirected(OL_MODE_OIDC, "client_id=nope", "unknown client_id");
}
END_TEST

START_TEST(test_oidc_logged_out_page)
{
    assert_logged_out(OL_MODE_OIDC, "");
    assert_logged_out(OL_MODE_OIDC, "state=only");
    assert_logged_out(OL_MODE_OIDC, "client_id=app1");
    assert_logged_out(OL_MODE_OIDC, "client_id=app1&state=x");
    assert_logged_out(OL_MODE_OIDC, "post_logout_redirect_uri=&x=1&x=2");
    assert_logged_out(OL_MODE_OIDC, "&&=&unknown");
}
END_TEST

START_TEST(test_oidc_long_state_refused)
{
    static char params[8192];
    size_t n = strlen("state=");

    memcpy(params, "state=", n);
    memset(params + n, 'a', 2049);
    params[n + 2049] = '\0';
    strcat(params, "&client_id=app1&post_logout_redirect_uri="
                   "https://app1.example.com/out");
    assert_refused(OL_MODE_OIDC, params, "state longer than 2048 bytes");
}
END_TEST

START_TEST(test_oidc_oversized_params_refused)
{
    size_t n = 70000;
    char *params = malloc(n + 1);

    memset(params, 'x', n);
    params[n] = '\0';
    assert_refused(OL_MODE_OIDC, params, "request parameters longer than");
    free(params);
}
END_TEST

START_TEST(test_auth0_client_list)
{
    assert_redirect(OL_MODE_AUTH0,
                    "client_id=app1&returnTo=https%3A%2F%2Fapp1.example.com"
                    "%2Fbye",
                    "https://app1.example.com/bye");
    /* the query is kept */
    assert_redirect(OL_MODE_AUTH0,
                    "returnTo=https%3A%2F%2Fx.app1.example.com%2Fbye%3Fa%3D1"
                    "&client_id=app1",
                    "https://x.app1.example.com/bye?a=1");
    assert_refused(OL_MODE_AUTH0,
                   "client_id=app1&returnTo=https://app1.example.com/Bye",
                   "not in the allowed_logout_urls of client \"app1\"");
    /* with client_id the tenant list does not apply */
    assert_refused(OL_MODE_AUTH0,
                   "client_id=app1&returnTo=https://portal.example.com/",
                   "not in the allowed_logout_urls");
    assert_refused(OL_MODE_AUTH0,
                   "client_id=app1&returnTo=https://app1.example.com/bye#x",
                   "fragment");
}
END_TEST

START_TEST(test_auth0_tenant_list)
{
    assert_redirect(OL_MODE_AUTH0, "returnTo=https://portal.example.com",
                    "https://portal.example.com");
    assert_redirect(OL_MODE_AUTH0,
                    "returnTo=https://a.tenant.example.com/home?x=%252F",
                    "https://a.tenant.example.com/home?x=%2F");
    assert_refused(OL_MODE_AUTH0, "returnTo=https://tenant.example.com/home",
                   "not in the tenant's allowed URLs");
    /* a client's list does not apply without client_id */
    assert_refused(OL_MODE_AUTH0, "returnTo=https://app1.example.com/bye",
                   "not in the tenant's allowed URLs");
    assert_refused(OL_MODE_AUTH0,
                   "returnTo=https://portal.example.com/&returnTo=x",
                   "sent more than once");
}
END_TEST

START_TEST(test_auth0_client_without_return_to)
{
    /* the client's first allowed URL that is not a wildcard */
    assert_redirect(OL_MODE_AUTH0, "client_id=app1",
                    "https://app1.example.com/bye");
    assert_logged_out(OL_MODE_AUTH0, "client_id=wild");
    assert_logged_out(OL_MODE_AUTH0, "client_id=bare");
    assert_refused(OL_MODE_AUTH0, "client_id=nope", "unknown client_id");
}
END_TEST

START_TEST(test_auth0_logged_out_page)
{
    assert_logged_out(OL_MODE_AUTH0, "");
    assert_logged_out(OL_MODE_AUTH0, "federated");
    /* OIDC parameters mean nothing in this mode */
    assert_logged_out(OL_MODE_AUTH0,
                      "post_logout_redirect_uri=https://evil.example/");
}
END_TEST

START_TEST(test_endpoint_without_registry)
{
    ol_endpoint_conf ep = {.mode = OL_MODE_AUTH0};
    const char *params = "returnTo=https://portal.example.com/";
    ol_logout_state req = {.params = params, .params_len = strlen(params)};
    ol_response *r;

    ck_assert_int_eq(ol_logout_respond(&ep, &req, &r), OL_OK);
    ck_assert_int_eq(ol_response_status(r), 400);
    ol_response_free(r);

    ep.mode = OL_MODE_OIDC;
    params = "client_id=app1&post_logout_redirect_uri=https://a.example/";
    req.params = params;
    req.params_len = strlen(params);
    ck_assert_int_eq(ol_logout_respond(&ep, &req, &r), OL_OK);
    ck_assert_int_eq(ol_response_status(r), 200);
    ol_response_free(r);
}
END_TEST

START_TEST(test_endpoint_page_headers)
{
    ol_response *r = logout(OL_MODE_OIDC, clients, tenant, "");
    char *cc = response_header(r, "Cache-Control");
    char *csp = response_header(r, "Content-Security-Policy");
    size_t len;

    ck_assert_str_eq(cc, "no-store");
    ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_str_eq(ol_response_content_type(r, &len),
                     "text/html; charset=utf-8");
    free(cc);
    free(csp);
    ol_response_free(r);

    r = logout(OL_MODE_OIDC, clients, tenant,
               "client_id=app1&post_logout_redirect_uri="
               "https://app1.example.com/out");
    cc = response_header(r, "Cache-Control");
    ck_assert_str_eq(cc, "no-store");
    free(cc);
    ol_response_free(r);
}
END_TEST

START_TEST(test_endpoint_refuse)
{
    ol_response *r;
    char *log;

    ck_assert_int_eq(ol_logout_refuse("body too large", 14, &r), OL_OK);
    ck_assert_int_eq(ol_response_status(r), 400);
    log = response_log(r);
    ck_assert_str_eq(log, "body too large");
    free(log);
    ol_response_free(r);
}
END_TEST

START_TEST(test_endpoint_log_reason_is_printable)
{
    ol_response *r = logout(OL_MODE_OIDC, clients, tenant,
                            "client_id=%0d%0aforged%00line%ff");
    char *log = response_log(r);
    const char *p;

    for (p = log; *p; p++) {
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in %s", log);
    }
    ck_assert_ptr_nonnull(strstr(log, "\\x0D\\x0Aforged\\x00line\\xFF"));
    free(log);
    ol_response_free(r);
}
END_TEST

Suite *
endpoint_suite(void)
{
    Suite *s = suite_create("endpoint");
    TCase *oidc = tcase_create("oidc");
    TCase *auth0 = tcase_create("auth0");
    TCase *common = tcase_create("common");

    tcase_set_timeout(oidc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(oidc, setup, teardown);
    tcase_add_test(oidc, test_oidc_redirect_with_state);
    tcase_add_test(oidc, test_oidc_redirect_without_state);
    tcase_add_test(oidc, test_oidc_state_after_query);
    tcase_add_test(oidc, test_oidc_state_round_trip);
    tcase_add_test(oidc, test_oidc_state_plus_is_space);
    tcase_add_test(oidc, test_oidc_refusals);
    tcase_add_test(oidc, test_oidc_redirect_not_honoured);
    tcase_add_test(oidc, test_oidc_logged_out_page);
    tcase_add_test(oidc, test_oidc_long_state_refused);
    tcase_add_test(oidc, test_oidc_oversized_params_refused);
    suite_add_tcase(s, oidc);

    tcase_set_timeout(auth0, CHECK_TIMEOUT);
    tcase_add_checked_fixture(auth0, setup, teardown);
    tcase_add_test(auth0, test_auth0_client_list);
    tcase_add_test(auth0, test_auth0_tenant_list);
    tcase_add_test(auth0, test_auth0_client_without_return_to);
    tcase_add_test(auth0, test_auth0_logged_out_page);
    suite_add_tcase(s, auth0);

    tcase_set_timeout(common, CHECK_TIMEOUT);
    tcase_add_checked_fixture(common, setup, teardown);
    tcase_add_test(common, test_endpoint_without_registry);
    tcase_add_test(common, test_endpoint_page_headers);
    tcase_add_test(common, test_endpoint_refuse);
    tcase_add_test(common, test_endpoint_log_reason_is_printable);
    suite_add_tcase(s, common);
    return s;
}
