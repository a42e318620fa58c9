/*
 * URL parsing and normalisation (ol_url_canonicalize).
 */

#include "check_suites.h"

#include <string.h>

static const struct {
    const char *in;
    const char *canonical;
} canonical_cases[] = {
    {"https://example.com/a", "https://example.com/a"},
    {"HTTPS://Example.COM/a", "https://example.com/a"},
    {"https://example.com:443/a", "https://example.com/a"},
    {"http://example.com:80/", "http://example.com/"},
    {"http://example.com", "http://example.com/"},
    {"http://example.com?x=1", "http://example.com/?x=1"},
    {"https://example.com:8443/a", "https://example.com:8443/a"},
    {"http://example.com:443/", "http://example.com:443/"},
    {"https://example.com/A/b", "https://example.com/A/b"},
    {"https://example.com/%7euser", "https://example.com/~user"},
    {"https://example.com/a%2fb", "https://example.com/a%2Fb"},
    {"https://example.com/a%c3%a9", "https://example.com/a%C3%A9"},
    {"https://example.com/a?", "https://example.com/a?"},
    {"https://example.com/a?b=C&d=%41", "https://example.com/a?b=C&d=A"},
    {"https://[::1]:8443/x", "https://[::1]:8443/x"},
    {"https://127.0.0.1/x", "https://127.0.0.1/x"},
    {"com.example.app://callback/", "com.example.app://callback/"},
    {"https://a.example.com/@user/x", "https://a.example.com/@user/x"},
};

START_TEST(test_url_canonical_form)
{
    char out[8192], err[256] = "";
    size_t len = 0;
    const char *in = canonical_cases[_i].in;

    ck_assert_msg(ol_url_canonicalize(in, strlen(in), out, sizeof(out), &len,
                                      err, sizeof(err)) == OL_OK,
                  "%s refused: %s", in, err);
    out[len] = '\0';
    ck_assert_str_eq(out, canonical_cases[_i].canonical);
}
END_TEST

static const struct {
    const char *in;
    const char *reason; /* a part of the reason given */
} refused_cases[] = {
    {"", "empty URL"},
    {"/logged-out", "no scheme"},
    {"logged-out", "no scheme"},
    {"//evil.example/", "no scheme"},
    {"https:/evil.example/", "no host"},
    {"https:evil.example", "no host"},
    {"javascript:alert(1)", "no host"},
    {"https:///evil.example", "empty host"},
    {"https://", "empty host"},
    {"https://:443/", "empty host"},
    {"https://user@good.example/", "userinfo"},
    {"https://good.example@evil.example/", "userinfo"},
    {"https://good.example\\@evil.example/", "backslash"},
    {"https:\\\\evil.example", "backslash"},
    {"https://good.example/\\evil", "backslash"},
    {"https://good .example/", "control character or space"},
    {"https://good.example/\t", "control character or space"},
    {"https://good.example/\r\nSet-Cookie:x", "control character or space"},
    {" https://good.example/", "control character or space"},
    {"https://good.example/%0d%0aX:y", "percent-encoded control"},
    {"https://good.example/%20", "percent-encoded control character or space"},
    {"https://good.example/?a=%09", "percent-encoded control"},
    {"https://good.example/%5c", "percent-encoded backslash"},
    {"https://good.example/%zz", "bad percent-encoding"},
    {"https://good.example/%4", "bad percent-encoding"},
    {"https://good.example/%", "bad percent-encoding"},
    {"https://go%6fd.example/", "percent-encoded host"},
    {"https://g\xc3\xb6od.example/", "non-ASCII"},
    {"https://good.example/\x7f", "control character"},
    {"https://.good.example/", "empty label"},
    {"https://good..example/", "empty label"},
    {"https://good.example./", "empty label"},
    {"https://good!.example/", "not allowed in the host"},
    {"https://*.good.example/", "not allowed in the host"},
    {"https://good.example:/", "malformed port"},
    {"https://good.example:0/", "port out of range"},
    {"https://good.example:65536/", "port out of range"},
    {"https://good.example:44a/", "malformed port"},
    {"https://good.example:123456/", "malformed port"},
    {"https://[::1/", "malformed IP literal"},
    {"https://[zz::1]/", "malformed IP literal"},
    {"https://[::1]x/", "malformed authority"},
    {"https://good.example/a/../b", "dot segment"},
    {"https://good.example/..", "dot segment"},
    {"https://good.example/./a", "dot segment"},
    {"https://good.example/%2e%2e/a", "dot segment"},
    {"https://good.example/.%2E/a", "dot segment"},
    {"https://good.example/a#frag", "fragment"},
    {"https://good.example/a<script>", "not allowed in the path"},
    {"https://good.example/a?b=\"x\"", "not allowed in the query"},
    {"https://good.example/a?b=`x`", "not allowed in the query"},
    {"https://good.example/a|b", "not allowed in the path"},
    {"1https://good.example/", "no scheme"},
};

START_TEST(test_url_refused)
{
    char out[8192], err[256] = "";
    size_t len = 0;
    const char *in = refused_cases[_i].in;
    ol_status rc = ol_url_canonicalize(in, strlen(in), out, sizeof(out), &len,
                                       err, sizeof(err));

    ck_assert_msg(rc == OL_INVALID, "%s accepted", in);
    ck_assert_msg(strstr(err, refused_cases[_i].reason) != NULL,
                  "%s: reason \"%s\" does not say \"%s\"", in, err,
                  refused_cases[_i].reason);
}
END_TEST

START_TEST(test_url_length_limit)
{
    static char url[4200];
    char out[8192], err[256];
    size_t len;
    const char *prefix = "https://good.example/";
    size_t plen = strlen(prefix);

    memcpy(url, prefix, plen);
    memset(url + plen, 'a', 4096 - plen);
    ck_assert_int_eq(ol_url_canonicalize(url, 4096, out, sizeof(out), &len, err,
                                         sizeof(err)),
                     OL_OK);
    url[4096] = 'a';
    ck_assert_int_eq(ol_url_canonicalize(url, 4097, out, sizeof(out), &len, err,
                                         sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "longer than 4096"));
}
END_TEST

START_TEST(test_url_embedded_nul)
{
    char out[256], err[256];
    size_t len;
    const char url[] = "https://good.example/\0.evil.example/";

    ck_assert_int_eq(ol_url_canonicalize(url, sizeof(url) - 1, out, sizeof(out),
                                         &len, err, sizeof(err)),
                     OL_INVALID);
}
END_TEST

START_TEST(test_url_small_output_buffer)
{
    char out[8], err[256];
    size_t len;
    const char *url = "https://good.example/";

    ck_assert_int_eq(ol_url_canonicalize(url, strlen(url), out, sizeof(out),
                                         &len, err, sizeof(err)),
                     OL_NOMEM);
}
END_TEST

Suite *
url_suite(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("parse");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_loop_test(tc, test_url_canonical_form, 0,
                        sizeof(canonical_cases) / sizeof(canonical_cases[0]));
    tcase_add_loop_test(tc, test_url_refused, 0,
                        sizeof(refused_cases) / sizeof(refused_cases[0]));
    tcase_add_test(tc, test_url_length_limit);
    tcase_add_test(tc, test_url_embedded_nul);
    tcase_add_test(tc, test_url_small_output_buffer);
    suite_add_tcase(s, tc);
    return s;
}
