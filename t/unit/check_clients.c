/*
 * The client registry: loading (every error path) and redirect checks.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char registry_json[] =
    "{\"clients\": ["
    " {\"client_id\": \"app1\","
    "  \"redirect_uris\": [\"https://app1.example.com/cb\"],"
    "  \"post_logout_redirect_uris\": [\"https://app1.example.com/logged-out\","
    "     \"https://app1.example.com/cb?from=logout\"],"
    "  \"allowed_logout_urls\": [\"https://*.app1.example.com/bye\","
    "     \"https://app1.example.com/bye\"],"
    "  \"frontchannel_logout_uri\": \"https://app1.example.com/fc\","
    "  \"frontchannel_logout_session_required\": true,"
    "  \"backchannel_logout_uri\": \"https://app1.example.com/bc\","
    "  \"backchannel_logout_session_required\": false,"
    "  \"skip_logout_confirmation\": null,"
    "  \"client_name\": \"ignored\", \"logo_uri\": 42},"
    " {\"client_id\": \"app2\"}"
    "]}";

static ol_clients *clients;

static void
setup(void)
{
    clients = clients_from(registry_json);
}

static void
teardown(void)
{
    ol_clients_free(clients);
    clients = NULL;
}

START_TEST(test_clients_loads_object_form)
{
    ck_assert_uint_eq(ol_clients_count(clients), 2);
    ck_assert(ol_clients_has(clients, "app1", 4));
    ck_assert(ol_clients_has(clients, "app2", 4));
    ck_assert(!ol_clients_has(clients, "app3", 4));
    ck_assert(!ol_clients_has(clients, "APP1", 4));
}
END_TEST

START_TEST(test_clients_loads_array_form)
{
    ol_clients *c = clients_from("[{\"client_id\": \"a\"}, "
                                 "{\"client_id\": \"b\"}]");

    ck_assert_uint_eq(ol_clients_count(c), 2);
    ol_clients_free(c);
    c = clients_from("[]");
    ck_assert_uint_eq(ol_clients_count(c), 0);
    ol_clients_free(c);
}
END_TEST

START_TEST(test_clients_id_characters)
{
    /* everything else is a client_id: punctuation, spaces, UTF-8 */
    const char id[] = "urn:app-1_x.y~z/@+=%!*(),;$#?[]{}|^ \xc3\xa9";
    char json[256];
    ol_clients *c;

    snprintf(json, sizeof(json), "[{\"client_id\": \"%s\"}]", id);
    c = clients_from(json);
    ck_assert(ol_clients_has(c, id, strlen(id)));
    ol_clients_free(c);
}
END_TEST

static ol_status
post_logout(const char *client, const char *url)
{
    char err[256];

    return ol_clients_check_post_logout(clients, client, strlen(client), url,
                                        strlen(url), err, sizeof(err));
}

static ol_status
allowed_logout(const char *client, const char *url)
{
    char err[256];

    return ol_clients_check_allowed_logout(clients, client, strlen(client), url,
                                           strlen(url), err, sizeof(err));
}

START_TEST(test_clients_post_logout_exact)
{
    ck_assert_int_eq(post_logout("app1", "https://app1.example.com/logged-out"),
                     OL_OK);
    ck_assert_int_eq(post_logout("app1", "HTTPS://App1.Example.com:443"
                                         "/logged-out"),
                     OL_OK);
    ck_assert_int_eq(
        post_logout("app1", "https://app1.example.com/cb?from=logout"), OL_OK);
    /* a query added, removed or changed: no match */
    ck_assert_int_eq(post_logout("app1", "https://app1.example.com/logged-out"
                                         "?foo=bar"),
                     OL_DENIED);
    ck_assert_int_eq(post_logout("app1", "https://app1.example.com/cb"),
                     OL_DENIED);
    ck_assert_int_eq(
        post_logout("app1", "https://app1.example.com/cb?from=Logout"),
        OL_DENIED);
    /* path case, trailing slash, scheme, another client's list */
    ck_assert_int_eq(post_logout("app1", "https://app1.example.com/Logged-out"),
                     OL_DENIED);
    ck_assert_int_eq(
        post_logout("app1", "https://app1.example.com/logged-out/"), OL_DENIED);
    ck_assert_int_eq(post_logout("app1", "http://app1.example.com/logged-out"),
                     OL_DENIED);
    ck_assert_int_eq(post_logout("app2", "https://app1.example.com/logged-out"),
                     OL_DENIED);
    ck_assert_int_eq(post_logout("nope", "https://app1.example.com/logged-out"),
                     OL_DENIED);
    /* allowed_logout_urls do not count for RP-Initiated Logout */
    ck_assert_int_eq(post_logout("app1", "https://app1.example.com/bye"),
                     OL_DENIED);
    ck_assert_int_eq(post_logout("app1", "//app1.example.com/logged-out"),
                     OL_INVALID);
}
END_TEST

START_TEST(test_clients_allowed_logout)
{
    ck_assert_int_eq(allowed_logout("app1", "https://app1.example.com/bye"),
                     OL_OK);
    ck_assert_int_eq(allowed_logout("app1", "https://x.app1.example.com/bye"
                                            "?q=1"),
                     OL_OK);
    ck_assert_int_eq(allowed_logout("app1", "https://x.y.app1.example.com/bye"),
                     OL_DENIED);
    ck_assert_int_eq(allowed_logout("app1", "https://app1.example.com/Bye"),
                     OL_DENIED);
    ck_assert_int_eq(allowed_logout("app2", "https://app1.example.com/bye"),
                     OL_DENIED);
    ck_assert_int_eq(allowed_logout("nope", "https://app1.example.com/bye"),
                     OL_DENIED);
}
END_TEST

static const struct {
    const char *json;
    const char *error; /* a part of the message */
} bad_registries[] = {
    {"", "\"test.json\": line 1, column 0"},
    {"[{\"client_id\": \"a\",}]", "\"test.json\": line 1, column"},
    {"[{\"client_id\": \"a\", \"client_id\": \"b\"}]", "duplicate"},
    {"{\"apps\": []}", "must have a \"clients\" array"},
    {"{\"clients\": {}}", "expected an array of clients"},
    {"42", "line 1, column 2: '[' or '{' expected"},
    {"[42]", "client #1: must be a JSON object"},
    {"[{\"client_id\": \"a\"}, {}]", "client #2: client_id: missing"},
    {"[{\"client_id\": 7}]", "client #1: client_id: must be a non-empty"},
    {"[{\"client_id\": \"\"}]", "client #1: client_id: must be a non-empty"},
    {"[{\"client_id\": \"a\"}, {\"client_id\": \"a\"}]",
     "client \"a\": client_id: duplicate client_id"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": \"https://a/\"}]",
     "client \"a\": post_logout_redirect_uris: must be an array of strings"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": [1]}]",
     "client \"a\": post_logout_redirect_uris[0]: must be a string"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": "
     "[\"https://a.example/\", \"/relative\"]}]",
     "client \"a\": post_logout_redirect_uris[1] \"/relative\": no scheme"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": "
     "[\"https://a.example/x#frag\"]}]",
     "post_logout_redirect_uris[0] \"https://a.example/x#frag\": a fragment"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": "
     "[\"https://*.a.example/x\"]}]",
     "post_logout_redirect_uris[0] \"https://*.a.example/x\": character '*'"},
    {"[{\"client_id\": \"a\", \"post_logout_redirect_uris\": "
     "[\"javascript://a.example/x\"]}]",
     "scheme \"javascript\" is not allowed"},
    {"[{\"client_id\": \"a\", \"allowed_logout_urls\": "
     "[\"https://*.com/\"]}]",
     "client \"a\": allowed_logout_urls[0] \"https://*.com/\": a wildcard"},
    {"[{\"client_id\": \"a\", \"allowed_logout_urls\": [\"x\"]}]",
     "allowed_logout_urls[0] \"x\": no scheme"},
    {"[{\"client_id\": \"a\", \"frontchannel_logout_uri\": \"/fc\"}]",
     "client \"a\": frontchannel_logout_uri \"/fc\": no scheme"},
    {"[{\"client_id\": \"a\", \"frontchannel_logout_uri\": "
     "\"https://a.example/fc#x\"}]",
     "frontchannel_logout_uri \"https://a.example/fc#x\": a fragment"},
    {"[{\"client_id\": \"a\", \"frontchannel_logout_uri\": "
     "\"https://a.example/fc\"}]",
     "client \"a\": frontchannel_logout_uri \"https://a.example/fc\": its "
     "scheme, host and port match none of the client's redirect_uris"},
    {"[{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.example/cb\"],"
     " \"frontchannel_logout_uri\": \"http://a.example/fc\"}]",
     "match none of the client's redirect_uris"},
    {"[{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.example/cb\"],"
     " \"frontchannel_logout_uri\": \"https://a.example:8443/fc\"}]",
     "match none of the client's redirect_uris"},
    {"[{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.example/cb\","
     " \"com.example.app:/cb\"],"
     " \"frontchannel_logout_uri\": \"https://evil.example/fc\"}]",
     "match none of the client's redirect_uris"},
    {"[{\"client_id\": \"a\", \"backchannel_logout_uri\": \"a.example/bc\"}]",
     "client \"a\": backchannel_logout_uri \"a.example/bc\": no scheme"},
    {"[{\"client_id\": \"a\", \"backchannel_logout_uri\": 5}]",
     "client \"a\": backchannel_logout_uri: must be a string"},
    {"[{\"client_id\": \"a\", \"skip_logout_confirmation\": \"yes\"}]",
     "client \"a\": skip_logout_confirmation: must be true or false"},
    {"[{\"client_id\": \"a\", \"frontchannel_logout_session_required\": 1}]",
     "frontchannel_logout_session_required: must be true or false"},
    {"[{\"client_id\": \"a\", \"redirect_uris\": \"https://a/\"}]",
     "client \"a\": redirect_uris: must be an array of strings"},
    /* a client_id holds no control characters and no markup; the
     * message shows it quoted, and names the client by its position */
    {"[{\"client_id\": \"a\\u0001\\\"\", \"redirect_uris\": 1}]",
     "client #1: client_id \"a\\x01\\\"\": character \"\\x01\" is not "
     "allowed (no control characters, nor < > \" ' & `)"},
    {"[{\"client_id\": \"ok\"}, {\"client_id\": \"x\\\"><script>\"}]",
     "client #2: client_id \"x\\\"><script>\": character \"\\\"\" is not"},
    {"[{\"client_id\": \"a<b\"}]", "client_id \"a<b\": character \"<\" is not"},
    {"[{\"client_id\": \"a>b\"}]", "client_id \"a>b\": character \">\" is not"},
    {"[{\"client_id\": \"a'b\"}]", "client_id \"a'b\": character \"'\" is not"},
    {"[{\"client_id\": \"a&b\"}]", "client_id \"a&b\": character \"&\" is not"},
    {"[{\"client_id\": \"a`b\"}]", "client_id \"a`b\": character \"`\" is not"},
    {"[{\"client_id\": \"a\\tb\"}]", "character \"\\x09\" is not"},
    {"[{\"client_id\": \"a\\nb\"}]", "character \"\\x0A\" is not"},
    {"[{\"client_id\": \"a\\u001fb\"}]", "character \"\\x1F\" is not"},
    {"[{\"client_id\": \"a\\u007fb\"}]", "character \"\\x7F\" is not"},
};

START_TEST(test_clients_bad_registry)
{
    char err[1024] = "";
    ol_clients *c = NULL;
    const char *json = bad_registries[_i].json;

    ck_assert_msg(ol_clients_parse(json, strlen(json), "test.json", &c, err,
                                   sizeof(err)) == OL_INVALID,
                  "accepted: %s", json);
    ck_assert_ptr_null(c);
    ck_assert_msg(strncmp(err, "\"test.json\": ", 13) == 0,
                  "%s: message does not name the file: %s", json, err);
    ck_assert_msg(strstr(err, bad_registries[_i].error) != NULL,
                  "%s: \"%s\" does not say \"%s\"", json, err,
                  bad_registries[_i].error);
}
END_TEST

START_TEST(test_clients_load_file)
{
    char err[1024] = "";
    ol_clients *c = NULL;
    const char *path = temp_file(registry_json);

    ck_assert_int_eq(ol_clients_load(path, &c, err, sizeof(err)), OL_OK);
    ck_assert_uint_eq(ol_clients_count(c), 2);
    ol_clients_free(c);
    unlink(path);
}
END_TEST

START_TEST(test_clients_load_file_syntax_error)
{
    char err[1024] = "", want[128];
    ol_clients *c = NULL;
    const char *path =
        temp_file("[\n  {\"client_id\": \"a\"},\n  {\"client_id\""
                  " \"b\"}\n]\n");

    ck_assert_int_eq(ol_clients_load(path, &c, err, sizeof(err)), OL_INVALID);
    snprintf(want, sizeof(want), "\"%s\": line 3, column ", path);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    unlink(path);
}
END_TEST

START_TEST(test_clients_load_missing_file)
{
    char err[1024] = "";
    ol_clients *c = NULL;

    ck_assert_int_eq(
        ol_clients_load("/nonexistent/clients.json", &c, err, sizeof(err)),
        OL_INVALID);
    ck_assert_msg(
        strstr(err, "\"/nonexistent/clients.json\": unable to open") != NULL,
        "%s", err);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_clients_error_truncated)
{
    char err[16];
    ol_clients *c = NULL;

    ck_assert_int_eq(
        ol_clients_parse("[1]", 3, "test.json", &c, err, sizeof(err)),
        OL_INVALID);
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

Suite *
clients_suite(void)
{
    Suite *s = suite_create("clients");
    TCase *tc = tcase_create("registry");
    TCase *tc_load = tcase_create("load");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_clients_loads_object_form);
    tcase_add_test(tc, test_clients_post_logout_exact);
    tcase_add_test(tc, test_clients_allowed_logout);
    suite_add_tcase(s, tc);

    tcase_set_timeout(tc_load, CHECK_TIMEOUT);
    tcase_add_test(tc_load, test_clients_loads_array_form);
    tcase_add_test(tc_load, test_clients_id_characters);
    tcase_add_loop_test(tc_load, test_clients_bad_registry, 0,
                        sizeof(bad_registries) / sizeof(bad_registries[0]));
    tcase_add_test(tc_load, test_clients_load_file);
    tcase_add_test(tc_load, test_clients_load_file_syntax_error);
    tcase_add_test(tc_load, test_clients_load_missing_file);
    tcase_add_test(tc_load, test_clients_error_truncated);
    suite_add_tcase(s, tc_load);
    return s;
}
