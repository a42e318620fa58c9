/*
 * Every session end reaches the clients: ended sessions wait in the zone's
 * outbox until each of their clients has its logout token.  Expiry found
 * by the sweep, eviction, a logout, an admin or the upstream provider put
 * them there; workers take them (one at a time), settle what got through,
 * and what did not waits for another round, or is given up or dropped.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 10000

static int reports;
static char last_report[256];

static void
count_report(void *data, int damaged, const char *what)
{
    (void)data;
    ck_assert_int_eq(damaged, 0);
    reports++;
    snprintf(last_report, sizeof(last_report), "%s", what);
}

static ol_arena arena;
static ol_store *store;

static void
setup(void)
{
    arena = test_arena;
    arena.report = count_report;
    reports = 0;
    last_report[0] = '\0';
    store = ol_store_create(&arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 100, 1000, 1);
}

static void
teardown(void)
{
    test_arena_clear();
}

/* A session of sub, created at at, with the clients of ids (NULL-ended). */
static ol_login_result
signed_in(const char *sub, const char *const *ids, uint64_t at)
{
    ol_login_result r;

    ck_assert_int_eq(ol_session_login(store, &arena, NULL, 0, sub, strlen(sub),
                                      at, &r, NULL, 0),
                     OL_OK);
    for (; *ids; ids++) {
        ck_assert_int_eq(ol_session_join(store, &arena, r.handle,
                                         OL_ID_TEXT_LEN, *ids, strlen(*ids), at,
                                         NULL, NULL),
                         OL_OK);
    }
    return r;
}

static ol_store_stats
stats(void)
{
    ol_store_stats st;

    ol_store_get_stats(store, &arena, &st);
    ck_assert_ptr_null(ol_store_verify(store, &arena));
    return st;
}

static const char *const two[] = {"app-a", "app-b", NULL};

START_TEST(test_outbox_logout_waits_until_settled)
{
    ol_login_result r = signed_in("alice", two, NOW);
    uint64_t claimed = 0, refs[4], untils[4];
    ol_session_info infos[4];
    const char *done[] = {"app-a"};

    ck_assert_int_eq(ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                        NOW + 1, OL_END_LOGOUT, &claimed, 30),
                     OL_OK);
    ck_assert_uint_ne(claimed, 0);
    ck_assert_uint_eq(stats().pending, 2);
    ck_assert_uint_eq(stats().ends[OL_END_LOGOUT], 1);

    /* held by the worker that ended it, for its lease */
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 2, 30, 0, 4, refs, NULL, infos),
        0);

    /* app-a got its token; app-b waits for the next round */
    ol_pending_settle(store, &arena, claimed, 0, r.sid, done, 1, NOW + 10);
    ck_assert_uint_eq(stats().pending, 1);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 9, 30, 0, 4, refs, NULL, infos),
        0);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 10, 30, 0, 4, refs, NULL, infos),
        1);
    ck_assert_str_eq(infos[0].sid, r.sid);
    ck_assert_str_eq(infos[0].sub, "alice");
    ck_assert_uint_eq(infos[0].client_count, 1);
    ck_assert_str_eq(infos[0].clients, "app-b");

    /* a worker too slow for its lease (or dead): another takes it once
     * the lease is over, and the first one's late settle changes nothing */
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 39, 30, 0, 4, refs, NULL, infos),
        0);
    ck_assert_uint_eq(ol_pending_claim(store, &arena, NOW + 40, 30, 0, 4, refs,
                                       untils, infos),
                      1);
    done[0] = "app-b";
    ol_pending_settle(store, &arena, refs[0], NOW + 40, r.sid, done, 1,
                      NOW + 100);
    ck_assert_uint_eq(stats().pending, 1);
    ck_assert_uint_eq(ol_pending_claim(store, &arena, NOW + 41, 30, 0, 4,
                                       refs + 1, NULL, infos),
                      0);

    ol_pending_settle(store, &arena, refs[0], untils[0], r.sid, done, 1,
                      NOW + 100);
    ck_assert_uint_eq(stats().pending, 0);
    /* settled twice (a lease taken over): nothing happens */
    ol_pending_settle(store, &arena, refs[0], 0, r.sid, done, 1, NOW + 100);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_int_eq(reports, 0);
}
END_TEST

START_TEST(test_outbox_expiry_found_by_the_sweep)
{
    ol_login_result idle = signed_in("idle-user", two, NOW);
    ol_login_result old = signed_in("old-user", two, NOW);
    ol_login_result quiet = signed_in("no-clients", two + 2, NOW);
    uint64_t refs[4];
    ol_session_info infos[4];
    size_t i;
    int seen_idle = 0, seen_old = 0;

    /* old is used all along: only its lifetime ends it */
    for (i = 1; i <= 10; i++) {
        ck_assert_int_eq(ol_session_find(store, &arena, old.handle,
                                         OL_ID_TEXT_LEN, NOW + i * 99, 1, NULL),
                         OL_OK);
    }
    ck_assert_uint_eq(stats().pending, 0);
    /* nobody looks the sessions up: the sweep finds them */
    ol_store_sweep(store, &arena, NOW + 1000, 1 << 20);
    ck_assert_uint_eq(stats().ends[OL_END_IDLE], 2); /* with no-clients */
    ck_assert_uint_eq(stats().ends[OL_END_LIFETIME], 1);
    ck_assert_uint_eq(stats().pending, 4);
    ck_assert_uint_eq(stats().sessions, 0);

    ck_assert_uint_eq(ol_pending_claim(store, &arena, NOW + 1000, 30, 0, 4,
                                       refs, NULL, infos),
                      2);
    for (i = 0; i < 2; i++) {
        seen_idle += strcmp(infos[i].sid, idle.sid) == 0;
        seen_old += strcmp(infos[i].sid, old.sid) == 0;
        ck_assert_uint_eq(infos[i].client_count, 2);
    }
    ck_assert_int_eq(seen_idle, 1);
    ck_assert_int_eq(seen_old, 1);
    (void)quiet;
}
END_TEST

START_TEST(test_outbox_sweep_goes_round_in_steps)
{
    static char handles[200][OL_ID_TEXT_LEN + 1];
    uint64_t total = 0;
    int i, sweeps = 0;

    ol_store_configure(store, &arena, 0, 1000, 1);
    for (i = 0; i < 200; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "user-%d", i);
        memcpy(handles[i], signed_in(sub, two, NOW).handle, sizeof(handles[i]));
    }
    /* the least recently used session is a young one: the sweep's look at
     * the oldest end stops there, its walk of the index finds the rest */
    signed_in("young", two, NOW + 900);
    for (i = 0; i < 200; i++) {
        ck_assert_int_eq(ol_session_find(store, &arena, handles[i],
                                         OL_ID_TEXT_LEN, NOW + 950, 1, NULL),
                         OL_OK);
    }
    while (total < 200 && sweeps < 10000) {
        total += ol_store_sweep(store, &arena, NOW + 1000, 8);
        sweeps++;
    }
    ck_assert_uint_eq(total, 200);
    ck_assert_int_gt(sweeps, 1);
    ck_assert_uint_eq(stats().ends[OL_END_LIFETIME], 200);
    ck_assert_uint_eq(stats().sessions, 1);
}
END_TEST

START_TEST(test_outbox_notify_off_keeps_expiry_quiet)
{
    ol_login_result r;

    ol_store_configure(store, &arena, 100, 1000, 0);
    signed_in("idle-user", two, NOW);
    r = signed_in("leaving", two, NOW);
    ol_store_sweep(store, &arena, NOW + 200, 1 << 20);
    ck_assert_uint_eq(stats().ends[OL_END_IDLE], 2);
    ck_assert_uint_eq(stats().pending, 0);
    /* a logout still notifies */
    r = signed_in("leaving", two, NOW + 200);
    ck_assert_int_eq(ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                        NOW + 201, OL_END_LOGOUT, NULL, 0),
                     OL_OK);
    ck_assert_uint_eq(stats().pending, 2);
}
END_TEST

START_TEST(test_outbox_ends_by_admin_and_upstream)
{
    ol_login_result a1 = signed_in("alice", two, NOW);
    ol_login_result a2 = signed_in("alice", two, NOW);
    ol_login_result b = signed_in("bob", two, NOW);
    ol_login_result c = signed_in("carol", two, NOW);
    ol_session_info info;

    /* the provider's sids, as its traffic taught them */
    ck_assert_int_eq(ol_session_learn(store, &arena, a1.handle, OL_ID_TEXT_LEN,
                                      "app-a", 5, "psid-1", 6, "alice", 5, NOW),
                     OL_OK);
    ck_assert_int_eq(ol_session_learn(store, &arena, c.handle, OL_ID_TEXT_LEN,
                                      "app-b", 5, "psid-c", 6, "carol", 5, NOW),
                     OL_OK);
    /* a learn gives the session a fresh handle; the sid stays */
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, a1.sid,
                                            OL_ID_TEXT_LEN, NOW, &info),
                     OL_OK);

    /* sub and sid: only the session of alice holding it */
    ck_assert_uint_eq(ol_session_end_by_sub(store, &arena, "alice", 5, "psid-1",
                                            6, NOW + 1, OL_END_UPSTREAM),
                      1);
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, a1.sid,
                                            OL_ID_TEXT_LEN, NOW + 1, &info),
                     OL_DENIED);
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, a2.sid,
                                            OL_ID_TEXT_LEN, NOW + 1, &info),
                     OL_OK);
    /* sid alone: found among every session */
    ck_assert_uint_eq(ol_session_end_by_provider_sid(store, &arena, "psid-c", 6,
                                                     NOW + 1, OL_END_UPSTREAM),
                      1);
    ck_assert_uint_eq(ol_session_end_by_provider_sid(store, &arena, "psid-c", 6,
                                                     NOW + 1, OL_END_UPSTREAM),
                      0);
    /* an admin: by sid, then every session of a subject */
    ck_assert_int_eq(ol_session_end_by_sid(store, &arena, b.sid, OL_ID_TEXT_LEN,
                                           NOW + 2, OL_END_ADMIN),
                     OL_OK);
    ck_assert_uint_eq(ol_session_end_by_sub(store, &arena, "alice", 5, NULL, 0,
                                            NOW + 2, OL_END_ADMIN),
                      1);
    ck_assert_uint_eq(stats().ends[OL_END_UPSTREAM], 2);
    ck_assert_uint_eq(stats().ends[OL_END_ADMIN], 2);
    ck_assert_uint_eq(stats().sessions, 0);
    ck_assert_uint_eq(stats().pending, 8);
}
END_TEST

START_TEST(test_outbox_gives_up_and_drops_the_oldest)
{
    ol_login_result r = signed_in("alice", two, NOW);
    uint64_t refs[64];
    ol_session_info *infos = calloc(64, sizeof(*infos));
    ol_store_stats st;
    int i;

    ck_assert_ptr_nonnull(infos);
    ck_assert_int_eq(ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                        NOW, OL_END_LOGOUT, NULL, 0),
                     OL_OK);
    /* ended 3600 s ago: given up, not delivered */
    ck_assert_uint_eq(ol_pending_claim(store, &arena, NOW + 3600, 30, 3600, 64,
                                       refs, NULL, infos),
                      0);
    st = stats();
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_uint_eq(st.pending_given_up, 2);
    ck_assert_int_eq(reports, 1);
    ck_assert_ptr_nonnull(strstr(last_report, "gave up"));
    ck_assert_ptr_nonnull(strstr(last_report, r.sid));

    /* a full pending area (1/16 of the zone) drops its oldest first */
    for (i = 0; stats().pending_dropped == 0 && i < 10000; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "user-%d", i);
        r = signed_in(sub, two, NOW);
        ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW,
                           OL_END_LOGOUT, NULL, 0);
    }
    st = stats();
    ck_assert_uint_eq(st.pending_dropped, 2);
    ck_assert_ptr_nonnull(strstr(last_report, "dropped"));
    /* the newest is there */
    ck_assert_uint_gt(
        ol_pending_claim(store, &arena, NOW, 30, 0, 64, refs, NULL, infos), 0);
    free(infos);
}
END_TEST

START_TEST(test_outbox_eviction_notifies)
{
    ol_store_stats st;
    int i;

    ol_store_configure(store, &arena, 0, 0, 1);
    for (i = 0; stats().ends[OL_END_EVICTED] == 0 && i < 100000; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "user-%d", i);
        signed_in(sub, two, NOW + (uint64_t)i);
    }
    st = stats();
    ck_assert_uint_eq(st.ends[OL_END_EVICTED], 1);
    ck_assert_uint_eq(st.pending, 2);
}
END_TEST

START_TEST(test_outbox_replay_memory)
{
    ck_assert_int_eq(
        ol_store_remember_once(store, &arena, "jti-1", 5, NOW + 600, NOW), 1);
    ck_assert_int_eq(
        ol_store_remember_once(store, &arena, "jti-1", 5, NOW + 600, NOW + 1),
        0);
    ck_assert_int_eq(
        ol_store_remember_once(store, &arena, "jti-2", 5, NOW + 600, NOW + 1),
        1);
    /* forgotten once it could no longer be accepted anyway */
    ck_assert_int_eq(ol_store_remember_once(store, &arena, "jti-1", 5,
                                            NOW + 1200, NOW + 600),
                     1);
}
END_TEST

/* ---- rounds of deliveries ------------------------------------------------ */

START_TEST(test_outbox_rounds_fresh_tokens_and_count)
{
    const char *const three[] = {"app-a", "app-b", "no-backchannel", NULL};
    ol_clients *clients = clients_from(
        "[{\"client_id\": \"app-a\","
        "  \"backchannel_logout_uri\": \"http://a.example.com/bc\"},"
        " {\"client_id\": \"app-b\","
        "  \"backchannel_logout_uri\": \"http://b.example.com/bc\"},"
        " {\"client_id\": \"no-backchannel\"}]");
    ol_keys *keys = ec_signing_keys("e1");
    ol_notifier_conf conf = {keys, clients, "https://sso.example.com", 23, 0,
                             1000, 3600};
    ol_login_result r = signed_in("alice", three, NOW);
    ol_deliveries *d[4];
    const ol_target *target;
    const char *body, *a = NULL;
    size_t len, i;
    unsigned attempt;
    uint64_t delay;
    char err[256], first_a[4096];
    ol_response *resp;
    char *page;

    ck_assert_int_eq(ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                        NOW, OL_END_ADMIN, NULL, 0),
                     OL_OK);
    ck_assert_uint_eq(ol_pending_take(store, &arena, &conf, NOW, d, 4), 1);
    ck_assert_uint_eq(ol_pending_take(store, &arena, &conf, NOW, d + 1, 3), 0);
    ck_assert_int_eq(ol_deliveries_sign(d[0], err, sizeof(err)), OL_OK);
    ck_assert_uint_eq(ol_deliveries_count(d[0]), 2);
    for (i = 0; i < 2; i++) {
        ol_delivery_get(d[0], i, &target, &body, &len);
        if (strcmp(target->client_id, "app-a") == 0) {
            a = body;
            snprintf(first_a, sizeof(first_a), "%s", body);
            /* app-a answers 503: the round fails for it */
            ck_assert_int_eq(ol_delivery_attempted(d[0], i, OL_ATTEMPT_ANSWERED,
                                                   503, 0, &attempt, &delay),
                             OL_DELIVERY_FAILED);
        } else {
            ck_assert_int_eq(ol_delivery_attempted(d[0], i, OL_ATTEMPT_ANSWERED,
                                                   204, 0, &attempt, &delay),
                             OL_DELIVERY_DELIVERED);
        }
    }
    ck_assert_ptr_nonnull(a);
    /* app-b's token is saved as delivered at once, before the round ends
     * (a worker killed now leaves it through): app-a and no-backchannel
     * wait, until the round's end settles the one with nothing to get */
    ck_assert_uint_eq(stats().pending, 2);
    ol_deliveries_settle(d[0], NOW + 1);
    ol_deliveries_free(d[0]);
    /* only app-a waits, 5 s after the round, as the metrics show */
    ck_assert_uint_eq(stats().pending, 1);
    ck_assert_int_eq(ol_metrics_respond(store, &arena, clients, "sso", 1 << 20,
                                        &resp, err, sizeof(err)),
                     OL_OK);
    page = response_body(resp);
    ck_assert_ptr_nonnull(strstr(page, "oidc_logout_backchannel_client_pending_"
                                       "deliveries{zone=\"sso\",client=\"app-"
                                       "a\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(page, "oidc_logout_backchannel_client_pending_"
                                       "deliveries{zone=\"sso\",client=\"app-"
                                       "b\"} 0\n"));
    free(page);
    ol_response_free(resp);
    ck_assert_uint_eq(ol_pending_take(store, &arena, &conf, NOW + 5, d, 4), 0);
    ck_assert_uint_eq(ol_pending_take(store, &arena, &conf, NOW + 6, d, 4), 1);
    ck_assert_int_eq(ol_deliveries_sign(d[0], err, sizeof(err)), OL_OK);
    ck_assert_uint_eq(ol_deliveries_count(d[0]), 1);
    ol_delivery_get(d[0], 0, &target, &body, &len);
    ck_assert_str_eq(target->client_id, "app-a");
    /* a fresh token: new jti and iat */
    ck_assert_str_ne(body, first_a);
    /* a 4xx is final: nothing waits any more */
    ck_assert_int_eq(ol_delivery_attempted(d[0], 0, OL_ATTEMPT_ANSWERED, 400, 0,
                                           &attempt, &delay),
                     OL_DELIVERY_FAILED);
    ol_deliveries_settle(d[0], NOW + 7);
    ol_deliveries_free(d[0]);
    ck_assert_uint_eq(stats().pending, 0);

    /* counted per client, and shown */
    ck_assert_int_eq(ol_metrics_respond(store, &arena, clients, "sso", 1 << 20,
                                        &resp, err, sizeof(err)),
                     OL_OK);
    page = response_body(resp);
    ck_assert_ptr_nonnull(
        strstr(page, "client=\"app-b\",outcome=\"delivered\"} 1"));
    ck_assert_ptr_nonnull(
        strstr(page, "client=\"app-a\",outcome=\"failed\"} 2"));
    ck_assert_ptr_nonnull(strstr(page, "cause=\"admin\"} 1"));
    free(page);
    ol_response_free(resp);
    ol_keys_free(keys);
    ol_clients_free(clients);
}
END_TEST

START_TEST(test_outbox_nobody_delivers)
{
    ol_notifier_conf conf = {NULL, NULL, NULL, 0, 0, 1000, 3600};
    ol_login_result r = signed_in("alice", two, NOW);
    ol_deliveries *d[1];

    ol_session_end_for(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW,
                       OL_END_LOGOUT, NULL, 0);
    ck_assert_uint_eq(ol_pending_take(store, &arena, &conf, NOW, d, 1), 0);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_uint_eq(stats().pending_dropped, 0);
}
END_TEST

/* ---- the admin API ------------------------------------------------------- */

static char *
admin(const char *method, const char *path, const char *args, int *status)
{
    ol_admin_request rq = {method, strlen(method), path,   strlen(path),
                           args,   strlen(args),   NOW + 5};
    ol_response *resp;
    char err[256], *body;

    ck_assert_int_eq(
        ol_admin_decide(store, &arena, &rq, &resp, err, sizeof(err)), OL_OK);
    *status = ol_response_status(resp);
    body = response_body(resp);
    ol_response_free(resp);
    return body;
}

START_TEST(test_outbox_admin_api)
{
    ol_login_result a1 = signed_in("alice", two, NOW);
    ol_login_result a2 = signed_in("alice", two + 1, NOW);
    char *body, query[64];
    int status;

    body = admin("GET", "/admin/sessions", "sub=alice", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(strstr(body, a1.sid));
    ck_assert_ptr_nonnull(strstr(body, a2.sid));
    ck_assert_ptr_nonnull(strstr(body, "{\"client_id\":\"app-a\"}"));
    free(body);

    snprintf(query, sizeof(query), "sid=%s", a2.sid);
    body = admin("DELETE", "/admin/sessions", query, &status);
    ck_assert_str_eq(body, "{\"ended\":1}");
    free(body);
    body = admin("DELETE", "/admin/sessions", "sub=alice", &status);
    ck_assert_str_eq(body, "{\"ended\":1}");
    free(body);
    body = admin("GET", "/admin/sessions", "sub=alice", &status);
    ck_assert_str_eq(body, "{\"sessions\":[]}");
    free(body);

    body = admin("GET", "/admin/deliveries/", "", &status);
    ck_assert_ptr_nonnull(
        strstr(body, "\"client_id\":\"app-a\",\"deliveries\":1"));
    ck_assert_ptr_nonnull(
        strstr(body, "\"client_id\":\"app-b\",\"deliveries\":2"));
    free(body);

    body = admin("GET", "/admin/sessions", "", &status);
    ck_assert_int_eq(status, 400);
    free(body);
    body = admin("GET", "/admin/sessions", "sub=a%zz", &status);
    ck_assert_int_eq(status, 400);
    free(body);
    body = admin("POST", "/admin/sessions", "sub=alice", &status);
    ck_assert_int_eq(status, 405);
    free(body);
    body = admin("GET", "/admin/nothing", "", &status);
    ck_assert_int_eq(status, 404);
    ck_assert_ptr_nonnull(strstr(body, "\"error\":\"not_found\""));
    free(body);
}
END_TEST

Suite *
store_outbox_suite(void)
{
    Suite *s = suite_create("store_outbox");
    TCase *tc = tcase_create("outbox");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_outbox_logout_waits_until_settled);
    tcase_add_test(tc, test_outbox_expiry_found_by_the_sweep);
    tcase_add_test(tc, test_outbox_sweep_goes_round_in_steps);
    tcase_add_test(tc, test_outbox_notify_off_keeps_expiry_quiet);
    tcase_add_test(tc, test_outbox_ends_by_admin_and_upstream);
    tcase_add_test(tc, test_outbox_gives_up_and_drops_the_oldest);
    tcase_add_test(tc, test_outbox_eviction_notifies);
    tcase_add_test(tc, test_outbox_replay_memory);
    tcase_add_test(tc, test_outbox_rounds_fresh_tokens_and_count);
    tcase_add_test(tc, test_outbox_nobody_delivers);
    tcase_add_test(tc, test_outbox_admin_api);
    suite_add_tcase(s, tc);
    return s;
}
