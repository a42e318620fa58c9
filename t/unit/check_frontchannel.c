/*
 * The front-channel logout page: which clients get an iframe, how their
 * URLs are built, its Content-Security-Policy and nonce, where it goes
 * next, and hostile values that must stay inside their attributes.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com/tenant?a=1&b=2"
#define SID "sid-\"><b>x</b>&"

static ol_clients *clients;

static void
setup(void)
{
    clients = clients_from(
        "[{\"client_id\": \"app1\","
        "  \"redirect_uris\": [\"https://app1.example.com/cb\"],"
        "  \"post_logout_redirect_uris\": [\"https://app1.example.com/bye\"],"
        "  \"frontchannel_logout_uri\": "
        "\"https://APP1.example.com:443/fc?t=a\","
        "  \"frontchannel_logout_session_required\": true},"
        " {\"client_id\": \"app2\","
        "  \"redirect_uris\": [\"http://app2.example.com:8080/cb\"],"
        "  \"frontchannel_logout_uri\": \"http://app2.example.com:8080/fc\"},"
        " {\"client_id\": \"app2b\","
        "  \"redirect_uris\": [\"http://app2.example.com:8080/cb\"],"
        "  \"frontchannel_logout_uri\": \"http://app2.example.com:8080/fc2\","
        "  \"frontchannel_logout_session_required\": false},"
        " {\"client_id\": \"x\","
        "  \"redirect_uris\": [\"https://x.example.com/cb\"],"
        "  \"frontchannel_logout_uri\":"
        "     \"https://x.example.com/o'n(e)?a='b'&c=%22%3C\","
        "  \"frontchannel_logout_session_required\": true},"
        " {\"client_id\": \"quiet\","
        "  \"post_logout_redirect_uris\": "
        "[\"https://quiet.example.com/bye\"]}]");
}

static void
teardown(void)
{
    ol_clients_free(clients);
}

/* The page that replaces resp, or NULL when it is left alone. */
static int
page(ol_response *resp, const ol_session_info *info, const char *next)
{
    int replaced = -1;
    ol_endpoint_conf ep = {.mode = OL_MODE_OIDC,
                           .clients = clients,
                           .issuer = ISSUER,
                           .issuer_len = strlen(ISSUER)};

    ck_assert_int_eq(ol_frontchannel_page(resp, &ep, info, 2500, next,
                                          strlen(next), &replaced),
                     OL_OK);
    ck_assert_int_ne(replaced, -1);
    return replaced;
}

static size_t
count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* The nonce of the page's script; a static buffer. */
static const char *
script_nonce(const char *body)
{
    static char nonce[64];
    const char *p = strstr(body, "<script nonce=\"");

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(p, "<script nonce=\"%63[^\"]\"", nonce), 1);
    return nonce;
}

START_TEST(test_frontchannel_page_of_a_redirect)
{
    ol_session_info info;
    ol_response *resp =
        logout(OL_MODE_OIDC, clients, NULL,
               "client_id=app1&post_logout_redirect_uri="
               "https%3A%2F%2Fapp1.example.com%2Fbye&state=s%261");
    char *body, *csp, csp_expected[512];
    const char *nonce;

    ck_assert_int_eq(ol_response_status(resp), 302);
    session_info(&info, SID, "alice", IDS("app1\0quiet\0app2"), 3);
    ck_assert_int_eq(page(resp, &info, "/logout"), 1);

    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_ptr_null(response_header(resp, "Location"));
    ck_assert_int_eq(ol_response_ends_session(resp), 1);
    body = response_body(resp);

    /* goes on to the redirect, state included */
    ck_assert_ptr_nonnull(strstr(
        body, "<html lang=\"en\" data-next=\"https://app1.example.com/bye?"
              "state=s%261\" data-frames=\"2\" data-timeout=\"2500\">"));
    ck_assert_ptr_nonnull(
        strstr(body, "<noscript><meta http-equiv=\"refresh\" content=\"0; "
                     "url=https://app1.example.com/bye?state=s%261\">"));
    ck_assert_ptr_nonnull(
        strstr(body, "<a href=\"https://app1.example.com/bye?state=s%261\">"));

    /* one iframe per client with a front-channel URI, in session order */
    ck_assert_uint_eq(count(body, "<iframe "), 2);
    ck_assert_ptr_nonnull(strstr(
        body, "<iframe src=\"https://APP1.example.com:443/fc?t=a&amp;iss="
              "https%3A%2F%2Fsso.example.com%2Ftenant%3Fa%3D1%26b%3D2&amp;"
              "sid=sid-%22%3E%3Cb%3Ex%3C%2Fb%3E%26\" title=\"Signing out of "
              "app1\""));
    ck_assert_ptr_nonnull(
        strstr(body, "<iframe src=\"http://app2.example.com:8080/fc\" "
                     "title=\"Signing out of app2\""));
    ck_assert(strstr(body, "APP1.example.com") <
              strstr(body, "app2.example.com:8080/fc\""));
    ck_assert_ptr_null(strstr(body, "quiet"));
    ck_assert_ptr_null(strstr(body, "display:none"));

    /* frames only those origins; scripts and styles only with the nonce */
    nonce = script_nonce(body);
    ck_assert_uint_eq(strlen(nonce), 22);
    ck_assert_uint_eq(strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                    "opqrstuvwxyz0123456789-_"),
                      22);
    snprintf(csp_expected, sizeof(csp_expected),
             "default-src 'none'; frame-src https://app1.example.com "
             "http://app2.example.com:8080; script-src 'nonce-%s'; "
             "style-src 'nonce-%s'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'",
             nonce, nonce);
    csp = response_header(resp, "Content-Security-Policy");
    ck_assert_str_eq(csp, csp_expected);
    free(csp);
    csp = response_header(resp, "Cache-Control");
    ck_assert_str_eq(csp, "no-store");
    free(csp);
    ck_assert_uint_eq(count(body, "<script"), 1);
    ck_assert_uint_eq(count(body, "<style"), 1);

    free(body);
    ol_response_free(resp);
}
END_TEST

START_TEST(test_frontchannel_without_uris_no_page)
{
    ol_session_info info;
    ol_response *resp = logout(OL_MODE_OIDC, clients, NULL,
                               "client_id=quiet&post_logout_redirect_uri="
                               "https%3A%2F%2Fquiet.example.com%2Fbye");
    char *location;

    session_info(&info, SID, "alice", IDS("quiet\0gone"), 2);
    ck_assert_int_eq(page(resp, &info, "/logout"), 0);
    ck_assert_int_eq(ol_response_status(resp), 302);
    location = response_header(resp, "Location");
    ck_assert_str_eq(location, "https://quiet.example.com/bye");
    free(location);

    session_info(&info, SID, "alice", IDS(""), 0);
    ck_assert_int_eq(page(resp, &info, "/logout"), 0);
    ck_assert_int_eq(ol_response_status(resp), 302);
    ol_response_free(resp);
}
END_TEST

START_TEST(test_frontchannel_signed_out_page_goes_to_next)
{
    ol_session_info info;
    ol_response *resp = logout(OL_MODE_OIDC, clients, NULL, "");
    char *body;

    ck_assert_int_eq(ol_response_status(resp), 200);
    session_info(&info, SID, "alice", IDS("app2"), 1);
    ck_assert_int_eq(page(resp, &info, "/sso/logout?x=\"<&"), 1);
    body = response_body(resp);
    ck_assert_ptr_nonnull(strstr(body,
                                 "data-next=\"/sso/logout?x=&quot;&lt;&amp;\" "
                                 "data-frames=\"1\""));
    ck_assert_ptr_null(strstr(body, "x=\"<"));
    free(body);
    ol_response_free(resp);
}
END_TEST

START_TEST(test_frontchannel_nonce_changes)
{
    ol_session_info info;
    ol_response *a = logout(OL_MODE_OIDC, clients, NULL, "");
    ol_response *b = logout(OL_MODE_OIDC, clients, NULL, "");
    char *body_a, *body_b, nonce_a[64];

    session_info(&info, SID, "alice", IDS("app1"), 1);
    ck_assert_int_eq(page(a, &info, "/logout"), 1);
    ck_assert_int_eq(page(b, &info, "/logout"), 1);
    body_a = response_body(a);
    body_b = response_body(b);
    snprintf(nonce_a, sizeof(nonce_a), "%s", script_nonce(body_a));
    ck_assert_str_ne(nonce_a, script_nonce(body_b));
    ck_assert_uint_eq(count(body_a, nonce_a), 2); /* script and style */
    free(body_a);
    free(body_b);
    ol_response_free(a);
    ol_response_free(b);
}
END_TEST

START_TEST(test_frontchannel_hostile_uri_stays_in_attributes)
{
    ol_session_info info;
    ol_response *resp = logout(OL_MODE_OIDC, clients, NULL, "");
    char *body;

    /* (a client_id with markup is refused by the registry: check_clients) */
    session_info(&info, SID, "alice", IDS("x"), 1);
    ck_assert_int_eq(page(resp, &info, "/logout"), 1);
    body = response_body(resp);
    ck_assert_uint_eq(count(body, "<script"), 1);
    ck_assert_ptr_nonnull(strstr(body, "title=\"Signing out of x\""));
    /* the URI's own query is kept, quotes escaped for the attribute */
    ck_assert_ptr_nonnull(strstr(
        body, "src=\"https://x.example.com/o&#39;n(e)?a=&#39;b&#39;&amp;c=%22"
              "%3C&amp;iss="));
    free(body);
    ol_response_free(resp);
}
END_TEST

START_TEST(test_frontchannel_federated_goes_to_next)
{
    ol_session_info info;
    ol_allowlist *tenant;
    char e[256];
    const char *url = "https://portal.example.com/";
    ol_endpoint_conf ep = {.mode = OL_MODE_AUTH0,
                           .clients = clients,
                           .issuer = ISSUER,
                           .issuer_len = strlen(ISSUER),
                           .federated = 1};
    ol_logout_state req = {
        .params = "returnTo=https%3A%2F%2Fportal.example.com%2F&federated",
        .action = "/v2/logout"};
    ol_response *resp = NULL;
    size_t len;
    char *body;

    req.params_len = strlen(req.params);
    req.action_len = strlen(req.action);
    ck_assert_int_eq(ol_allowlist_new(&tenant), OL_OK);
    ck_assert_int_eq(ol_allowlist_add(tenant, url, strlen(url), e, sizeof(e)),
                     OL_OK);
    ep.tenant_urls = tenant;
    ck_assert_int_eq(ol_logout_respond(&ep, &req, &resp), OL_OK);
    ck_assert_ptr_nonnull(ol_response_federated_return(resp, &len));

    session_info(&info, SID, "alice", IDS("app2"), 1);
    ck_assert_int_eq(page(resp, &info, "https://idp.example.com/logout?r=1"),
                     1);
    /* the page goes through the federated URL; the glue sets no Location */
    ck_assert_ptr_null(ol_response_federated_return(resp, &len));
    body = response_body(resp);
    ck_assert_ptr_nonnull(
        strstr(body, "data-next=\"https://idp.example.com/logout?r=1\""));
    free(body);
    ol_response_free(resp);
    ol_allowlist_free(tenant);
}
END_TEST

START_TEST(test_frontchannel_clients_needing_issuer)
{
    ol_clients *none = clients_from(
        "[{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.example/cb\"],"
        "  \"frontchannel_logout_uri\": \"https://a.example/fc\"}]");
    ol_clients *one = clients_from(
        "[{\"client_id\": \"a\"}, {\"client_id\": \"b\", \"redirect_uris\":"
        "  [\"https://b.example/cb\"], \"frontchannel_logout_uri\":"
        "  \"https://b.example/fc\","
        "  \"frontchannel_logout_session_required\": true}]");

    ck_assert_ptr_null(ol_clients_needing_issuer(none));
    ck_assert_str_eq(ol_clients_needing_issuer(one), "b");
    ol_clients_free(none);
    ol_clients_free(one);
}
END_TEST

Suite *
frontchannel_suite(void)
{
    Suite *s = suite_create("frontchannel");
    TCase *tc = tcase_create("page");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_frontchannel_page_of_a_redirect);
    tcase_add_test(tc, test_frontchannel_without_uris_no_page);
    tcase_add_test(tc, test_frontchannel_signed_out_page_goes_to_next);
    tcase_add_test(tc, test_frontchannel_nonce_changes);
    tcase_add_test(tc, test_frontchannel_hostile_uri_stays_in_attributes);
    tcase_add_test(tc, test_frontchannel_federated_goes_to_next);
    tcase_add_test(tc, test_frontchannel_clients_needing_issuer);
    suite_add_tcase(s, tc);
    return s;
}
