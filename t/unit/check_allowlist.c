/*
 * Allowed logout URLs (Auth0 semantics): ol_allowlist_*.
 */

#include "check_suites.h"

#include <stdio.h>
#include <string.h>

static ol_allowlist *list;

static void
setup(void)
{
    static const char *urls[] = {
        "https://app.example.com/bye",
        "https://*.tenant.example.com/bye",
        "http://plain.example.com:8080/Logged/Out",
        "https://query.example.com/bye?ignored=1",
        "https://[::1]:8443/bye",
    };
    char err[256];
    size_t i;

    ck_assert_int_eq(ol_allowlist_new(&list), OL_OK);
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        ck_assert_msg(ol_allowlist_add(list, urls[i], strlen(urls[i]), err,
                                       sizeof(err)) == OL_OK,
                      "%s: %s", urls[i], err);
    }
}

static void
teardown(void)
{
    ol_allowlist_free(list);
    list = NULL;
}

static ol_status
check(const char *url)
{
    char err[256];

    return ol_allowlist_check(list, url, strlen(url), err, sizeof(err));
}

static const char *const allowed[] = {
    "https://app.example.com/bye",
    "HTTPS://APP.EXAMPLE.COM/bye",
    "https://App.Example.Com:443/bye",
    "https://app.example.com/bye?next=%2Fhome&x=1",
    "https://app.example.com/bye?",
    "https://a.tenant.example.com/bye",
    "https://A-1.Tenant.Example.com/bye?q=1",
    "http://plain.example.com:8080/Logged/Out",
    "https://query.example.com/bye",
    "https://query.example.com/bye?other=2",
    "https://[::1]:8443/bye",
    "https://app.example.com/%62ye",
};

START_TEST(test_allowlist_allows)
{
    ck_assert_msg(check(allowed[_i]) == OL_OK, "%s refused", allowed[_i]);
}
END_TEST

static const char *const denied[] = {
    "https://app.example.com/Bye",          /* path is case-sensitive */
    "https://app.example.com/bye/",         /* trailing slash differs */
    "https://app.example.com/bye/x",        /* no prefix matching */
    "https://app.example.com/by",           /* nor prefix of the path */
    "http://app.example.com/bye",           /* scheme differs */
    "https://app.example.com:8443/bye",     /* port differs */
    "https://app.example.com.evil.com/bye", /* another host */
    "https://evil.com/bye",                 /* another host */
    "https://tenant.example.com/bye",       /* wildcard never bare domain */
    "https://a.b.tenant.example.com/bye",   /* wildcard is one label */
    "https://atenant.example.com/bye",      /* not a label boundary */
    "https://a.tenant.example.com/bye2",    /* path differs */
    "http://plain.example.com:8080/logged/out",
    "http://plain.example.com/Logged/Out", /* port 80 is not 8080 */
    "https://[::2]:8443/bye",
};

START_TEST(test_allowlist_denies)
{
    ck_assert_msg(check(denied[_i]) == OL_DENIED, "%s not denied", denied[_i]);
}
END_TEST

START_TEST(test_allowlist_malformed_candidate)
{
    ck_assert_int_eq(check("//app.example.com/bye"), OL_INVALID);
    ck_assert_int_eq(check("https://app.example.com/bye#x"), OL_INVALID);
}
END_TEST

static const struct {
    const char *url;
    const char *reason;
} bad_patterns[] = {
    {"https://*.com/", "at least two labels"},
    {"https://*/", "not allowed in the host"},
    {"https://a.*.example.com/", "not allowed in the host"},
    {"https://*example.com/", "not allowed in the host"},
    {"https://**.example.com/", "not allowed in the host"},
    {"javascript://example.com/", "scheme \"javascript\" is not allowed"},
    {"DATA://example.com/", "scheme \"data\" is not allowed"},
    {"https://example.com/#x", "fragment"},
    {"/relative", "no scheme"},
    {"https://user@example.com/", "userinfo"},
};

START_TEST(test_allowlist_bad_pattern)
{
    char err[256] = "";
    ol_allowlist *l;
    const char *url = bad_patterns[_i].url;

    ck_assert_int_eq(ol_allowlist_new(&l), OL_OK);
    ck_assert_msg(ol_allowlist_add(l, url, strlen(url), err, sizeof(err)) ==
                      OL_INVALID,
                  "%s accepted", url);
    ck_assert_msg(strstr(err, bad_patterns[_i].reason) != NULL,
                  "%s: \"%s\" does not say \"%s\"", url, err,
                  bad_patterns[_i].reason);
    ck_assert_uint_eq(ol_allowlist_size(l), 0);
    ol_allowlist_free(l);
}
END_TEST

START_TEST(test_allowlist_many_urls)
{
    /* many registered URLs: every one matches, near misses do not */
    char url[128], err[256];
    ol_allowlist *l;
    int i;

    ck_assert_int_eq(ol_allowlist_new(&l), OL_OK);
    for (i = 0; i < 20000; i++) {
        snprintf(url, sizeof(url), "https://h%d.example.com/p%d", i, i);
        ck_assert_int_eq(
            ol_allowlist_add(l, url, strlen(url), err, sizeof(err)), OL_OK);
    }
    ck_assert_uint_eq(ol_allowlist_size(l), 20000);
    for (i = 0; i < 20000; i += 997) {
        snprintf(url, sizeof(url), "https://h%d.example.com/p%d", i, i);
        ck_assert_int_eq(
            ol_allowlist_check(l, url, strlen(url), err, sizeof(err)), OL_OK);
        snprintf(url, sizeof(url), "https://h%d.example.com/p%d", i, i + 1);
        ck_assert_int_eq(
            ol_allowlist_check(l, url, strlen(url), err, sizeof(err)),
            OL_DENIED);
    }
    ol_allowlist_free(l);
}
END_TEST

START_TEST(test_allowlist_null_and_empty)
{
    char err[64];
    ol_allowlist *l;

    ck_assert_int_eq(
        ol_allowlist_check(NULL, "https://a.example/", 18, err, sizeof(err)),
        OL_DENIED);
    ck_assert_int_eq(ol_allowlist_new(&l), OL_OK);
    ck_assert_int_eq(
        ol_allowlist_check(l, "https://a.example/", 18, err, sizeof(err)),
        OL_DENIED);
    ol_allowlist_free(l);
    ol_allowlist_free(NULL);
}
END_TEST

Suite *
allowlist_suite(void)
{
    Suite *s = suite_create("allowlist");
    TCase *tc = tcase_create("match");
    TCase *tc_add = tcase_create("add");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_allowlist_allows, 0,
                        sizeof(allowed) / sizeof(allowed[0]));
    tcase_add_loop_test(tc, test_allowlist_denies, 0,
                        sizeof(denied) / sizeof(denied[0]));
    tcase_add_test(tc, test_allowlist_malformed_candidate);
    suite_add_tcase(s, tc);

    tcase_set_timeout(tc_add, CHECK_TIMEOUT);
    tcase_add_loop_test(tc_add, test_allowlist_bad_pattern, 0,
                        sizeof(bad_patterns) / sizeof(bad_patterns[0]));
    tcase_add_test(tc_add, test_allowlist_many_urls);
    tcase_add_test(tc_add, test_allowlist_null_and_empty);
    suite_add_tcase(s, tc_add);
    return s;
}
