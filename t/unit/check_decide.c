/*
 * A logout decided whole (ol_logout_decide) over a real store: the session
 * ends, the cookie is cleared, the front-channel page, the federated step,
 * the back-channel deliveries with their targets and the delivery policy
 * counted in the zone; and joins that ask the registry.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000

static ol_store *store;
static ol_clients *clients;
static ol_keys *keys;
static ol_endpoint *endpoint;
static char handle[OL_ID_TEXT_LEN + 1];

/* oidc_logout_federated_url as the glue would evaluate it */
static char return_to[1024];
static char federated[2048];

static ol_status
federated_url(void *data, const char *back, size_t len, const char **url,
              size_t *url_len)
{
    if (data != NULL) {
        return OL_NOMEM; /* the evaluation fails */
    }
    snprintf(return_to, sizeof(return_to), "%.*s", (int)len, back);
    snprintf(federated, sizeof(federated),
             "https://idp.example/logout?returnTo=%s", return_to);
    *url = federated;
    *url_len = strlen(federated);
    return OL_OK;
}

static void
make_endpoint(int federated_step)
{
    char err[256];
    ol_endpoint_conf conf = {.mode = OL_MODE_AUTH0,
                             .clients = clients,
                             .keys = keys,
                             .issuer = ISSUER,
                             .issuer_len = strlen(ISSUER),
                             .federated = federated_step,
                             .sessions = 1,
                             .frontchannel_timeout_ms = 2500,
                             .backchannel_retries = 2};

    ol_endpoint_free(endpoint);
    ck_assert_msg(ol_endpoint_new(&conf, &endpoint, err, sizeof(err)) == OL_OK,
                  "%s", err);
}

/* A session of alice joined by the given clients; its cookie in handle. */
static void
signed_in(const char *const *ids)
{
    char err[256];
    unsigned evicted;
    ol_login_result r;

    ck_assert_int_eq(ol_session_login(store, &test_arena, NULL, 0, "alice", 5,
                                      NOW, &r, err, sizeof(err)),
                     OL_OK);
    memcpy(handle, r.handle, sizeof(handle));
    for (; *ids; ids++) {
        ck_assert_msg(ol_session_join_client(store, &test_arena, clients,
                                             handle, OL_ID_TEXT_LEN, *ids,
                                             strlen(*ids), NOW, &evicted, err,
                                             sizeof(err)) == OL_OK,
                      "%s", err);
    }
}

static ol_response *
decide(const char *params, void *fail_federated)
{
    char err[256];
    ol_response *resp = NULL;
    ol_logout_request rq = {.params = params,
                            .params_len = strlen(params),
                            .action = "/v2/logout",
                            .action_len = 10,
                            .store = store,
                            .arena = &test_arena,
                            .handle = handle,
                            .handle_len = strlen(handle),
                            .now = NOW + 10,
                            .federated_url = federated_url,
                            .data = fail_federated};

    ck_assert_msg(ol_logout_decide(endpoint, &rq, &resp, err, sizeof(err)) ==
                      OL_OK,
                  "%s", err);
    return resp;
}

static void
setup(void)
{
    keys = ec_signing_keys("e1");

    clients = clients_from(
        "[{\"client_id\": \"front\","
        "  \"redirect_uris\": [\"https://front.example.com/cb\"],"
        "  \"frontchannel_logout_uri\": \"https://front.example.com/fc\"},"
        " {\"client_id\": \"back\","
        "  \"backchannel_logout_uri\": "
        "\"http://back.example.com:8080/bc?x=1\"},"
        " {\"client_id\": \"quiet\"}]");
    store = ol_store_create(&test_arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &test_arena, 1800, 8 * 3600, 1);
    endpoint = NULL;
    make_endpoint(0);
}

static void
teardown(void)
{
    ol_endpoint_free(endpoint);
    ol_clients_free(clients);
    ol_keys_free(keys);
    test_arena_clear();
}

START_TEST(test_decide_ends_notifies_and_pages)
{
    const char *ids[] = {"front", "back", "quiet", NULL};
    const ol_target *target;
    const char *body;
    unsigned attempt;
    uint64_t delay;
    size_t len;
    char err[256];
    ol_store_stats st;
    ol_deliveries *d;
    ol_response *resp;
    char *page;

    signed_in(ids);
    resp = decide("", NULL);

    /* ended in the zone, cookie cleared */
    ck_assert_int_eq(ol_session_find(store, &test_arena, handle, OL_ID_TEXT_LEN,
                                     NOW + 11, 0, NULL),
                     OL_DENIED);
    ck_assert_int_eq(ol_response_clears_cookie(resp), 1);

    /* the front-channel page is the response, going on to the endpoint */
    ck_assert_int_eq(ol_response_status(resp), 200);
    page = response_body(resp);
    ck_assert_ptr_nonnull(strstr(page, "src=\"https://front.example.com/fc\""));
    ck_assert_ptr_nonnull(strstr(page, "data-next=\"/v2/logout\""));
    ck_assert_ptr_nonnull(strstr(page, "data-timeout=\"2500\""));
    free(page);

    /* one delivery, to its target as the registry parsed it */
    d = ol_response_take_deliveries(resp);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(ol_response_take_deliveries(resp));
    ol_response_free(resp);
    ck_assert_msg(ol_deliveries_sign(d, err, sizeof(err)) == OL_OK, "%s", err);
    ck_assert_uint_eq(ol_deliveries_count(d), 1);
    ol_delivery_get(d, 0, &target, &body, &len);
    ck_assert_str_eq(target->client_id, "back");
    ck_assert_int_eq(target->https, 0);
    ck_assert_uint_eq(target->port, 8080);
    ck_assert_str_eq(target->authority, "back.example.com:8080");
    ck_assert_str_eq(target->target, "/bc?x=1");
    ck_assert_int_eq(strncmp(body, "logout_token=", 13), 0);

    /* the policy, attempt after attempt, counted in the zone */
    ck_assert_int_eq(
        ol_delivery_attempted(d, 0, OL_ATTEMPT_FAILED, 0, 0, &attempt, &delay),
        OL_DELIVERY_RETRIED);
    ck_assert_uint_eq(attempt, 1);
    ck_assert_uint_eq(delay, 1000);
    ck_assert_int_eq(ol_delivery_attempted(d, 0, OL_ATTEMPT_ANSWERED, 503, 0,
                                           &attempt, &delay),
                     OL_DELIVERY_RETRIED);
    ck_assert_uint_eq(delay, 2000);
    ck_assert_int_eq(ol_delivery_attempted(d, 0, OL_ATTEMPT_ANSWERED, 204, 0,
                                           &attempt, &delay),
                     OL_DELIVERY_DELIVERED);
    ck_assert_uint_eq(attempt, 3);
    ol_store_get_stats(store, &test_arena, &st);
    ck_assert_uint_eq(st.backchannel_retried, 2);
    ck_assert_uint_eq(st.backchannel_delivered, 1);
    ol_deliveries_free(d);

    /* the same cookie again: nothing left to end, nobody notified twice */
    resp = decide("", NULL);
    ck_assert_int_eq(ol_response_status(resp), 200);
    ck_assert_ptr_null(ol_response_take_deliveries(resp));
    ol_response_free(resp);
}
END_TEST

START_TEST(test_decide_exiting_worker_gives_up)
{
    const char *ids[] = {"back", NULL};
    unsigned attempt;
    uint64_t delay;
    ol_deliveries *d;
    ol_response *resp;

    signed_in(ids);
    resp = decide("", NULL);
    d = ol_response_take_deliveries(resp);
    ol_response_free(resp);
    ck_assert_int_eq(ol_deliveries_sign(d, NULL, 0), OL_OK);
    ck_assert_int_eq(
        ol_delivery_attempted(d, 0, OL_ATTEMPT_FAILED, 0, 1, &attempt, &delay),
        OL_DELIVERY_FAILED);
    ol_deliveries_free(d);
}
END_TEST

START_TEST(test_decide_federated_step)
{
    const char *ids[] = {"back", NULL};
    ol_deliveries *d;
    ol_response *resp;
    char *location, *reason;

    make_endpoint(1);
    signed_in(ids);
    resp = decide("federated", NULL);
    ck_assert_int_eq(ol_response_status(resp), 302);
    location = response_header(resp, "Location");
    ck_assert_str_eq(location, federated);
    /* the way back: the endpoint's path on the issuer's origin */
    ck_assert_str_eq(return_to, "https%3A%2F%2Fsso.example.com%2Fv2%2Flogout");
    free(location);
    d = ol_response_take_deliveries(resp);
    ck_assert_ptr_nonnull(d);
    ol_deliveries_free(d);
    ol_response_free(resp);

    /* an evaluation that fails: a 500 with its reason; the session has
     * ended all the same and its clients hear of it */
    signed_in(ids);
    resp = decide("federated", (void *)1);
    ck_assert_int_eq(ol_response_status(resp), 500);
    reason = response_log(resp);
    ck_assert_ptr_nonnull(strstr(reason, "oidc_logout_federated_url"));
    free(reason);
    ck_assert_int_eq(ol_response_clears_cookie(resp), 1);
    d = ol_response_take_deliveries(resp);
    ck_assert_ptr_nonnull(d);
    ol_deliveries_free(d);
    ol_response_free(resp);
}
END_TEST

START_TEST(test_join_asks_the_registry)
{
    const char *none[] = {NULL};
    char err[256];
    unsigned evicted;

    signed_in(none);
    ck_assert_int_eq(ol_session_join_client(store, &test_arena, clients, handle,
                                            OL_ID_TEXT_LEN, "nope", 4, NOW,
                                            &evicted, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_str_eq(err, "unknown client \"nope\"");
    ck_assert_int_eq(ol_session_join_client(store, &test_arena, NULL, handle,
                                            OL_ID_TEXT_LEN, "back", 4, NOW,
                                            &evicted, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_int_eq(ol_session_join_client(store, &test_arena, clients,
                                            "AAAAAAAAAAAAAAAAAAAAAA",
                                            OL_ID_TEXT_LEN, "back", 4, NOW,
                                            &evicted, err, sizeof(err)),
                     OL_DENIED);
    ck_assert_str_eq(err, "no live session");
}
END_TEST

Suite *
decide_suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("decide");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_decide_ends_notifies_and_pages);
    tcase_add_test(tc, test_decide_exiting_worker_gives_up);
    tcase_add_test(tc, test_decide_federated_step);
    tcase_add_test(tc, test_join_asks_the_registry);
    suite_add_tcase(s, tc);
    return s;
}
