/*
 * The metrics page (ol_metrics_render): the Prometheus text exposition
 * format 0.0.4, its family names and types, the labels of every sample,
 * the escaping of label values, and zeros for every value of an enum.
 */

#include "check_suites.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE "sso"

/* the page of m, a new string */
static char *
render(const ol_metrics *m, const char *zone)
{
    size_t len = 0, again = 0;
    char *text;

    ck_assert_int_eq(ol_metrics_render(m, zone, NULL, 0, &len), OL_INVALID);
    text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(ol_metrics_render(m, zone, text, len + 1, &again), OL_OK);
    ck_assert_uint_eq(again, len);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

static int
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = text;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
        p += n;
    }
    return 0;
}

/* For messages: the line of text that holds needle, or "(none)"; a
 * static buffer. */
static const char *
line_with(const char *text, const char *needle)
{
    static char line[512];
    const char *p = strstr(text, needle), *start, *end;

    if (p == NULL) {
        return "(none)";
    }
    p += *p == '\n'; /* a needle that starts a line */
    for (start = p; start > text && start[-1] != '\n'; start--) {
    }
    end = strchr(p, '\n');
    snprintf(line, sizeof(line), "%.*s", (int)(end - start), start);
    return line;
}

/* The line of text that has the sample of expected (its name and labels,
 * whatever its value). */
static const char *
rendered_as(const char *text, const char *expected)
{
    char sample[512];

    snprintf(sample, sizeof(sample), "\n%.*s",
             (int)(strrchr(expected, ' ') - expected), expected);
    return line_with(text, sample);
}

static size_t
count_samples(const char *text)
{
    size_t n = 0;

    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        n += *p != '#';
    }
    return n;
}

static const struct {
    const char *name;
    const char *type;
} families[] = {
    {"oidc_logout_sessions", "gauge"},
    {"oidc_logout_logins_total", "counter"},
    {"oidc_logout_joins_total", "counter"},
    {"oidc_logout_session_ends_total", "counter"},
    {"oidc_logout_logouts_total", "counter"},
    {"oidc_logout_hint_verifications_total", "counter"},
    {"oidc_logout_upstream_logout_tokens_total", "counter"},
    {"oidc_logout_backchannel_deliveries_total", "counter"},
    {"oidc_logout_backchannel_pending_deliveries", "gauge"},
    {"oidc_logout_backchannel_client_pending_deliveries", "gauge"},
    {"oidc_logout_zone_size_bytes", "gauge"},
    {"oidc_logout_zone_free_bytes", "gauge"},
    {"oidc_logout_zone_repairs_total", "counter"},
};
#define FAMILIES (sizeof(families) / sizeof(families[0]))

static ol_client_metrics two_clients[] = {
    {"app1", {5, 2, 1, 0, 0}, 1},
    {"app2", {3, 0, 0, 1, 4}, 0},
};

/* every counter distinct, so that a sample showing another's value fails */
static ol_metrics
busy(void)
{
    ol_metrics m;

    memset(&m, 0, sizeof(m));
    m.sessions = 2;
    m.logins = 9;
    m.joins = 12;
    for (int i = 0; i < OL_END_CAUSES; i++) {
        m.ends[i] = 100 + i;
    }
    for (int i = 0; i < OL_LOGOUT_OUTCOMES; i++) {
        m.logouts[0][i] = 200 + i;
        m.logouts[1][i] = 210 + i;
    }
    for (int i = 0; i < OL_HINT_RESULTS; i++) {
        m.hints[i] = 300 + i;
    }
    m.upstream[OL_UPSTREAM_ACCEPTED] = 400;
    m.upstream[OL_UPSTREAM_REFUSED] = 401;
    m.pending = 7;
    m.zone_bytes = 10485760;
    m.zone_bytes_free = 10223616;
    m.repaired = 3;
    m.rebuilt = 1;
    m.clients = two_clients;
    m.client_count = 2;
    return m;
}

/* Each family once, HELP then TYPE (naming it as its samples do, _total
 * included), then its samples and nothing else until the next family. */
START_TEST(test_metrics_type_before_samples)
{
    ol_metrics m = busy();
    char *text = render(&m, ZONE), *line, *save = NULL;
    char family[128] = "";
    size_t seen = 0, samples = 0;

    ck_assert(text[strlen(text) - 1] == '\n');
    ck_assert_ptr_null(strstr(text, "\n\n"));
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char help[160], type[160];

        if (strncmp(line, "# HELP ", 7) == 0) {
            ck_assert_msg(seen < FAMILIES, "a family too many: %s", line);
            /* busy() gives every family samples */
            ck_assert_msg(seen == 0 || samples > 0, "%s: none before it", line);
            snprintf(help, sizeof(help), "# HELP %s ", families[seen].name);
            ck_assert_msg(strncmp(line, help, strlen(help)) == 0,
                          "\"%s\" is not the HELP of %s", line,
                          families[seen].name);
            ck_assert_uint_gt(strlen(line), strlen(help));
            line = strtok_r(NULL, "\n", &save);
            snprintf(type, sizeof(type), "# TYPE %s %s", families[seen].name,
                     families[seen].type);
            ck_assert_msg(line != NULL && strcmp(line, type) == 0,
                          "\"%s\" after the HELP of %s", line ? line : "",
                          families[seen].name);
            snprintf(family, sizeof(family), "%s{", families[seen].name);
            seen++;
            samples = 0;
            continue;
        }
        ck_assert_msg(line[0] != '#', "a comment: %s", line);
        ck_assert_msg(family[0] != '\0', "a sample before any TYPE: %s", line);
        ck_assert_msg(strncmp(line, family, strlen(family)) == 0,
                      "%s is not a sample of %s", line, family);
        samples++;
    }
    ck_assert_uint_eq(seen, FAMILIES);
    ck_assert_uint_gt(samples, 0);
    free(text);
}
END_TEST

/* The zone label first on every sample, then the family's own labels. */
START_TEST(test_metrics_zone_on_every_sample)
{
    ol_metrics m = busy();
    char *text = render(&m, ZONE), *line, *save = NULL;
    size_t samples = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '#') {
            ck_assert_msg(strstr(line, "{zone=\"" ZONE "\"") ==
                              strchr(line, '{'),
                          "no zone label first: %s", line);
            samples++;
        }
    }
    /* 1+1+1 + 7 causes + 2x4 logouts + 3 hints + 2 upstream + 2x5
     * deliveries + 1 + 2 pending + 2 sizes + 2 repairs */
    ck_assert_uint_eq(samples, 40);
    free(text);
}
END_TEST

/* Each counter under its own labels. */
START_TEST(test_metrics_labels)
{
    static const char *const lines[] = {
        "oidc_logout_sessions{zone=\"sso\"} 2",
        "oidc_logout_logins_total{zone=\"sso\"} 9",
        "oidc_logout_joins_total{zone=\"sso\"} 12",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"logout\"} 100",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"idle\"} 101",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"lifetime\"} 102",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"evicted\"} 103",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"admin\"} 104",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"upstream\"} 105",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"replaced\"} 106",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"redirected\"} 200",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"page\"} 201",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"confirmation\"} 202",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"refused\"} 203",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"redirected\"} 210",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"refused\"} 213",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"verified\"} 300",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"refused\"} 301",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"unknown_key\"} 302",
        "oidc_logout_upstream_logout_tokens_total{zone=\"sso\","
        "result=\"accepted\"} 400",
        "oidc_logout_upstream_logout_tokens_total{zone=\"sso\","
        "result=\"refused\"} 401",
        "oidc_logout_backchannel_deliveries_total{zone=\"sso\","
        "client=\"app1\",outcome=\"delivered\"} 5",
        "oidc_logout_backchannel_deliveries_total{zone=\"sso\","
        "client=\"app1\",outcome=\"retried\"} 2",
        "oidc_logout_backchannel_deliveries_total{zone=\"sso\","
        "client=\"app1\",outcome=\"failed\"} 1",
        "oidc_logout_backchannel_deliveries_total{zone=\"sso\","
        "client=\"app2\",outcome=\"given_up\"} 1",
        "oidc_logout_backchannel_deliveries_total{zone=\"sso\","
        "client=\"app2\",outcome=\"dropped\"} 4",
        "oidc_logout_backchannel_pending_deliveries{zone=\"sso\"} 7",
        "oidc_logout_backchannel_client_pending_deliveries{zone=\"sso\","
        "client=\"app1\"} 1",
        "oidc_logout_backchannel_client_pending_deliveries{zone=\"sso\","
        "client=\"app2\"} 0",
        "oidc_logout_zone_size_bytes{zone=\"sso\"} 10485760",
        "oidc_logout_zone_free_bytes{zone=\"sso\"} 10223616",
        "oidc_logout_zone_repairs_total{zone=\"sso\",kind=\"undone\"} 3",
        "oidc_logout_zone_repairs_total{zone=\"sso\",kind=\"emptied\"} 1",
    };
    ol_metrics m = busy();
    char *text = render(&m, ZONE);

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        ck_assert_msg(has_line(text, lines[i]), "no line %s: %s", lines[i],
                      rendered_as(text, lines[i]));
    }
    free(text);
}
END_TEST

/* A zone that has counted nothing yet: every value of every enum label is
 * there, with 0. */
START_TEST(test_metrics_zeros_present)
{
    static const char *const zeros[] = {
        "oidc_logout_sessions{zone=\"sso\"} 0",
        "oidc_logout_logins_total{zone=\"sso\"} 0",
        "oidc_logout_joins_total{zone=\"sso\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"logout\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"idle\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"lifetime\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"evicted\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"admin\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"upstream\"} 0",
        "oidc_logout_session_ends_total{zone=\"sso\",cause=\"replaced\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"redirected\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"page\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"confirmation\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"oidc\","
        "outcome=\"refused\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"redirected\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"page\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"confirmation\"} 0",
        "oidc_logout_logouts_total{zone=\"sso\",mode=\"auth0\","
        "outcome=\"refused\"} 0",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"verified\"} 0",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"refused\"} 0",
        "oidc_logout_hint_verifications_total{zone=\"sso\","
        "result=\"unknown_key\"} 0",
        "oidc_logout_upstream_logout_tokens_total{zone=\"sso\","
        "result=\"accepted\"} 0",
        "oidc_logout_upstream_logout_tokens_total{zone=\"sso\","
        "result=\"refused\"} 0",
        "oidc_logout_backchannel_pending_deliveries{zone=\"sso\"} 0",
        "oidc_logout_zone_size_bytes{zone=\"sso\"} 0",
        "oidc_logout_zone_free_bytes{zone=\"sso\"} 0",
        "oidc_logout_zone_repairs_total{zone=\"sso\",kind=\"undone\"} 0",
        "oidc_logout_zone_repairs_total{zone=\"sso\",kind=\"emptied\"} 0",
    };
    static const ol_client_metrics quiet[] = {{"app1", {0}, 0}};
    ol_metrics m;
    char *text;

    memset(&m, 0, sizeof(m));
    text = render(&m, ZONE);
    for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
        ck_assert_msg(has_line(text, zeros[i]), "no line %s: %s", zeros[i],
                      rendered_as(text, zeros[i]));
    }
    ck_assert_uint_eq(count_samples(text), sizeof(zeros) / sizeof(zeros[0]));
    /* the per-client families have their HELP and TYPE all the same */
    ck_assert(has_line(text, "# TYPE oidc_logout_backchannel_deliveries_total "
                             "counter"));
    free(text);

    /* a client that has sent nothing has every outcome */
    m.clients = quiet;
    m.client_count = 1;
    text = render(&m, ZONE);
    ck_assert(has_line(text, "oidc_logout_backchannel_deliveries_total"
                             "{zone=\"sso\",client=\"app1\","
                             "outcome=\"delivered\"} 0"));
    ck_assert(has_line(text, "oidc_logout_backchannel_deliveries_total"
                             "{zone=\"sso\",client=\"app1\","
                             "outcome=\"dropped\"} 0"));
    ck_assert(has_line(text, "oidc_logout_backchannel_client_pending_"
                             "deliveries{zone=\"sso\",client=\"app1\"} 0"));
    ck_assert_uint_eq(count_samples(text),
                      sizeof(zeros) / sizeof(zeros[0]) + OL_SENT_OUTCOMES + 1);
    free(text);
}
END_TEST

/* A client id holding ", \ and a line feed stays one label value on one
 * line; so does such a zone name. */
START_TEST(test_metrics_label_escaping)
{
    static const ol_client_metrics odd[] = {
        {"a\"b\\c\nd", {1, 0, 0, 0, 0}, 2},
        {NULL, {0}, 0},
    };
    ol_metrics m;
    char *text;

    memset(&m, 0, sizeof(m));
    m.clients = odd;
    m.client_count = 2;
    text = render(&m, ZONE);
    ck_assert_msg(has_line(text, "oidc_logout_backchannel_deliveries_total"
                                 "{zone=\"sso\",client=\"a\\\"b\\\\c\\nd\","
                                 "outcome=\"delivered\"} 1"),
                  "%s", line_with(text, "outcome=\"delivered\"} 1"));
    ck_assert(has_line(text, "oidc_logout_backchannel_client_pending_"
                             "deliveries{zone=\"sso\","
                             "client=\"a\\\"b\\\\c\\nd\"} 2"));
    /* no client id: an empty value */
    ck_assert(has_line(text, "oidc_logout_backchannel_client_pending_"
                             "deliveries{zone=\"sso\",client=\"\"} 0"));
    ck_assert_ptr_null(strstr(text, "\nd\""));
    free(text);

    memset(&m, 0, sizeof(m));
    text = render(&m, "z\"o\\n\ne");
    ck_assert_msg(has_line(text, "oidc_logout_sessions"
                                 "{zone=\"z\\\"o\\\\n\\ne\"} 0"),
                  "%s", line_with(text, "oidc_logout_sessions{"));
    free(text);
    text = render(&m, NULL);
    ck_assert(has_line(text, "oidc_logout_sessions{zone=\"\"} 0"));
    free(text);
}
END_TEST

/* The format is UTF-8: a label value's bytes that are not become U+FFFD,
 * UTF-8 is kept. */
static const struct {
    const char *in;
    const char *out;
} utf8_cases[] = {
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80"},
    {"a\xff", "a\xef\xbf\xbd"},
    {"\xc3", "\xef\xbf\xbd"},                                 /* cut short */
    {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* cut short */
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    {"\xc3(", "\xef\xbf\xbd("},
};

START_TEST(test_metrics_label_not_utf8)
{
    ol_client_metrics client = {utf8_cases[_i].in, {0}, 9};
    char expect[128];
    ol_metrics m;
    char *text;

    memset(&m, 0, sizeof(m));
    m.clients = &client;
    m.client_count = 1;
    text = render(&m, ZONE);
    snprintf(expect, sizeof(expect),
             "oidc_logout_backchannel_client_pending_deliveries"
             "{zone=\"sso\",client=\"%s\"} 9",
             utf8_cases[_i].out);
    ck_assert_msg(has_line(text, expect), "case %d: %s", _i,
                  line_with(text, "client="));
    free(text);
}
END_TEST

/* Counters are 64-bit and printed whole. */
START_TEST(test_metrics_large_values)
{
    ol_metrics m;
    char *text;

    memset(&m, 0, sizeof(m));
    m.logins = UINT64_MAX;
    m.zone_bytes = (uint64_t)1 << 40;
    text = render(&m, ZONE);
    ck_assert(has_line(text, "oidc_logout_logins_total{zone=\"sso\"} "
                             "18446744073709551615"));
    ck_assert(has_line(text, "oidc_logout_zone_size_bytes{zone=\"sso\"} "
                             "1099511627776"));
    free(text);
}
END_TEST

/* Too small a buffer: OL_INVALID and the size needed; one byte more than
 * the text (its NUL) is enough. */
START_TEST(test_metrics_buffer_size)
{
    ol_metrics m = busy();
    size_t len = 0, got = 0;
    char *out;

    ck_assert_int_eq(ol_metrics_render(&m, ZONE, NULL, 0, &len), OL_INVALID);
    ck_assert_uint_gt(len, 1000);
    out = malloc(len + 1);
    ck_assert_ptr_nonnull(out);
    memset(out, 'x', len + 1);
    ck_assert_int_eq(ol_metrics_render(&m, ZONE, out, len, &got), OL_INVALID);
    ck_assert_uint_eq(got, len);
    ck_assert_int_eq(ol_metrics_render(&m, ZONE, out, len + 1, &got), OL_OK);
    ck_assert_uint_eq(got, len);
    ck_assert_int_eq(out[len], '\0');
    ck_assert(strncmp(out, "# HELP oidc_logout_sessions ", 28) == 0);
    free(out);
}
END_TEST

Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_test(tc, test_metrics_type_before_samples);
    tcase_add_test(tc, test_metrics_zone_on_every_sample);
    tcase_add_test(tc, test_metrics_labels);
    tcase_add_test(tc, test_metrics_zeros_present);
    tcase_add_test(tc, test_metrics_label_escaping);
    tcase_add_loop_test(tc, test_metrics_label_not_utf8, 0,
                        sizeof(utf8_cases) / sizeof(utf8_cases[0]));
    tcase_add_test(tc, test_metrics_large_values);
    tcase_add_test(tc, test_metrics_buffer_size);
    suite_add_tcase(s, tc);
    return s;
}
