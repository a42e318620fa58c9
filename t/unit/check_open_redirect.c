/*
 * Open redirects: the shared payload corpus and crafted URLs that aim at
 * another host must all be refused, by every check and by the endpoint.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read from the repository root, where the runner starts. */
#define CORPUS "../shared/data/open-redirect-payloads.txt"
/* 835 payloads: the last line has no newline, so "wc -l" says 834 */
#define CORPUS_LINES 835

static ol_clients *clients;
static ol_allowlist *tenant;

static void
setup(void)
{
    const char *wild = "https://*.whitelisteddomain.tld/";
    char err[256];

    clients = clients_from(
        "[{\"client_id\": \"app\","
        "  \"post_logout_redirect_uris\": "
        "     [\"https://www.whitelisteddomain.tld/\"],"
        "  \"allowed_logout_urls\": [\"https://*.whitelisteddomain.tld/\","
        "     \"https://www.whitelisteddomain.tld/\"]}]");
    ck_assert_int_eq(ol_allowlist_new(&tenant), OL_OK);
    ck_assert_int_eq(
        ol_allowlist_add(tenant, wild, strlen(wild), err, sizeof(err)), OL_OK);
}

static void
teardown(void)
{
    ol_clients_free(clients);
    ol_allowlist_free(tenant);
}

/* Fails the test unless url is refused everywhere. */
static void
assert_refused_everywhere(const char *url, size_t len)
{
    char err[256], params[16384];
    char *enc, *copy, *loc;
    ol_response *r;

    ck_assert_msg(ol_clients_check_post_logout(clients, "app", 3, url, len, err,
                                               sizeof(err)) != OL_OK,
                  "post_logout_redirect_uris accepted %s", url);
    ck_assert_msg(ol_clients_check_allowed_logout(clients, "app", 3, url, len,
                                                  err, sizeof(err)) != OL_OK,
                  "allowed_logout_urls accepted %s", url);
    ck_assert_msg(ol_allowlist_check(tenant, url, len, err, sizeof(err)) !=
                      OL_OK,
                  "tenant list accepted %s", url);

    copy = strndup(url, len);
    enc = url_encode(copy);
    snprintf(params, sizeof(params),
             "client_id=app&post_logout_redirect_uri=%s", enc);
    r = logout(OL_MODE_OIDC, clients, tenant, params);
    ck_assert_msg(ol_response_status(r) != 302, "oidc endpoint redirected %s",
                  url);
    loc = response_header(r, "Location");
    ck_assert_msg(loc == NULL, "oidc endpoint: Location for %s", url);
    ol_response_free(r);
    snprintf(params, sizeof(params), "client_id=app&returnTo=%s", enc);
    r = logout(OL_MODE_AUTH0, clients, tenant, params);
    ck_assert_msg(ol_response_status(r) == 400, "auth0 endpoint: %d for %s",
                  ol_response_status(r), url);
    ol_response_free(r);
    snprintf(params, sizeof(params), "returnTo=%s", enc);
    r = logout(OL_MODE_AUTH0, clients, tenant, params);
    ck_assert_msg(ol_response_status(r) == 400, "auth0 tenant: %d for %s",
                  ol_response_status(r), url);
    ol_response_free(r);
    free(enc);
    free(copy);
}

START_TEST(test_open_redirect_corpus)
{
    FILE *f = fopen(CORPUS, "r");
    char line[8192];
    int n = 0;

    if (f == NULL) {
        /* the corpus lives beside the repository; CI always has it */
        ck_assert_msg(getenv("CI") == NULL, "%s is missing", CORPUS);
        printf("open-redirect corpus: skipped (%s absent)\n", CORPUS);
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        assert_refused_everywhere(line, len);
        n++;
    }
    fclose(f);
    ck_assert_int_eq(n, CORPUS_LINES);
}
END_TEST

static const char *const crafted[] = {
    "https://www.whitelisteddomain.tld.evil.com/",
    "https://www.whitelisteddomain.tld@evil.com/",
    "https://evil.com#@www.whitelisteddomain.tld/",
    "https://evil.com?@www.whitelisteddomain.tld/",
    "https://evil.com\\@www.whitelisteddomain.tld/",
    "https://evil.com/www.whitelisteddomain.tld/",
    "https://whitelisteddomain.tld/",
    "https://a.www.whitelisteddomain.tld/",
    "https://evilwhitelisteddomain.tld/",
    "http://www.whitelisteddomain.tld/",
    "https://www.whitelisteddomain.tld:8443/",
    "https://www.whitelisteddomain.tld/evil",
    "https://www.whitelisteddomain.tld/%2e%2e/",
    "https://www.whitelisteddomain.tld./",
    "https://www.whitelisteddomain.tld%2f.evil.com/",
    "https://www.whitelisteddomain.tld%00.evil.com/",
    "https://www.whitelisteddomain.tld\t.evil.com/",
    "https:www.whitelisteddomain.tld",
    "https:/www.whitelisteddomain.tld/",
    "//www.whitelisteddomain.tld/",
    "/\\www.whitelisteddomain.tld/",
    "javascript://www.whitelisteddomain.tld/%0aalert(1)",
    "javascript://www.whitelisteddomain.tld/",
    "data://www.whitelisteddomain.tld/",
    ("https://www.whitelisteddomain.tld/\xe3\x80\x82"
     "evil.com"),
    "https://www\xe3\x80\x82whitelisteddomain.tld/",
    "https://[::ffff:7f00:1]/",
    "https://0x7f.1/",
};

START_TEST(test_open_redirect_crafted)
{
    assert_refused_everywhere(crafted[_i], strlen(crafted[_i]));
}
END_TEST

START_TEST(test_open_redirect_control)
{
    /* the registered URL itself is accepted: the refusals above are real */
    char err[256];
    const char *ok = "https://www.whitelisteddomain.tld/";

    ck_assert_int_eq(ol_clients_check_post_logout(clients, "app", 3, ok,
                                                  strlen(ok), err, sizeof(err)),
                     OL_OK);
    ck_assert_int_eq(
        ol_allowlist_check(tenant, ok, strlen(ok), err, sizeof(err)), OL_OK);
}
END_TEST

Suite *
open_redirect_suite(void)
{
    Suite *s = suite_create("open_redirect");
    TCase *tc = tcase_create("payloads");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_redirect_corpus);
    tcase_add_loop_test(tc, test_open_redirect_crafted, 0,
                        sizeof(crafted) / sizeof(crafted[0]));
    tcase_add_test(tc, test_open_redirect_control);
    suite_add_tcase(s, tc);
    return s;
}
