/*
 * Cluster mode: the zone is one node's cache of the sessions Redis holds.
 * Expiry and eviction only drop a session from the cache; an end made here
 * waits, unpublished, until Redis says which node notifies; sessions go
 * out as records (changes, written) and come back in (import), ends heard
 * of are forgotten or enqueued, and the resync walks the cache.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 10000

static ol_arena arena;
static ol_store *store;
/* another node's zone */
static ol_store *other;
static ol_clients *clients;
static ol_keys *keys;
static ol_notifier_conf conf;

static void
setup(void)
{
    arena = test_arena;
    store = ol_store_create(&arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 100, 1000, 1);
    ol_cluster_enable(store, &arena);
    other = ol_store_create(&arena, 1 << 20);
    ck_assert_ptr_nonnull(other);
    ol_store_configure(other, &arena, 100, 1000, 1);
    ol_cluster_enable(other, &arena);
    clients = clients_from(
        "[{\"client_id\": \"app-a\","
        "  \"backchannel_logout_uri\": \"http://a.example.com/bc\"},"
        " {\"client_id\": \"app-b\","
        "  \"backchannel_logout_uri\": \"http://b.example.com/bc\"},"
        " {\"client_id\": \"app-c\","
        "  \"backchannel_logout_uri\": \"http://c.example.com/bc\"}]");
    keys = ec_signing_keys("e1");
    conf = (ol_notifier_conf){keys, clients, "https://sso.example.com", 23, 0,
                              1000, 3600};
}

static void
teardown(void)
{
    ol_keys_free(keys);
    ol_clients_free(clients);
    test_arena_clear();
}

/* A session of sub in zone s, created at at, with the clients of ids
 * (NULL-ended). */
static ol_login_result
signed_in_at(ol_store *s, const char *sub, const char *const *ids, uint64_t at)
{
    ol_login_result r;

    ck_assert_int_eq(
        ol_session_login(s, &arena, NULL, 0, sub, strlen(sub), at, &r, NULL, 0),
        OL_OK);
    for (; *ids; ids++) {
        ck_assert_int_eq(ol_session_join(s, &arena, r.handle, OL_ID_TEXT_LEN,
                                         *ids, strlen(*ids), at, NULL, NULL),
                         OL_OK);
    }
    return r;
}

static ol_login_result
signed_in(const char *sub, const char *const *ids, uint64_t at)
{
    return signed_in_at(store, sub, ids, at);
}

static ol_store_stats
stats_of(ol_store *s)
{
    ol_store_stats st;

    ol_store_get_stats(s, &arena, &st);
    ck_assert_ptr_null(ol_store_verify(s, &arena));
    return st;
}

static ol_store_stats
stats(void)
{
    return stats_of(store);
}

/* Deliveries ol_pending_take gives at now (freed), at most 8. */
static size_t
taken(uint64_t now)
{
    ol_deliveries *d[8];
    size_t n = ol_pending_take(store, &arena, &conf, now, d, 8), i;

    for (i = 0; i < n; i++) {
        ol_deliveries_free(d[i]);
    }
    return n;
}

/* The sids ol_cluster_unpublished lists, and the cause of sid (-1 when it
 * is not among them). */
static int
unpublished_cause(const char *sid, size_t *count)
{
    char sids[16][OL_ID_TEXT_LEN + 1];
    ol_end_cause causes[16];
    size_t n = ol_cluster_unpublished(store, &arena, sids, causes, 16), i;
    int cause = -1;

    for (i = 0; i < n; i++) {
        if (strcmp(sids[i], sid) == 0) {
            cause = (int)causes[i];
        }
    }
    if (count != NULL) {
        *count = n;
    }
    return cause;
}

/* A record of sid as zone s exports it (changed or not), into out; its
 * length. */
static size_t
record_of(ol_store *s, const char *sid, char *out, size_t size)
{
    ol_cluster_sessions *list = ol_cluster_changes(s, &arena, 0, 0, 4096);
    ol_cluster_session cs;
    size_t i, len = 0;

    ck_assert_ptr_nonnull(list);
    for (i = 0; i < ol_cluster_sessions_count(list); i++) {
        ol_cluster_session_get(list, i, &cs);
        if (strcmp(cs.sid, sid) == 0) {
            ck_assert_uint_le(cs.record_len, size);
            memcpy(out, cs.record, cs.record_len);
            len = cs.record_len;
        }
    }
    ol_cluster_sessions_free(list);
    ck_assert_uint_gt(len, 0);
    return len;
}

/* The export of sid in zone s, changed_only or not; 0 when not listed. */
static int
listed(ol_store *s, const char *sid, uint64_t since, int changed_only,
       ol_cluster_session *out, ol_cluster_sessions **list)
{
    ol_cluster_session cs;
    size_t i;
    int found = 0;

    *list = ol_cluster_changes(s, &arena, since, changed_only, 4096);
    ck_assert_ptr_nonnull(*list);
    for (i = 0; i < ol_cluster_sessions_count(*list); i++) {
        ol_cluster_session_get(*list, i, &cs);
        if (strcmp(cs.sid, sid) == 0) {
            *out = cs;
            found++;
        }
    }
    ck_assert_int_le(found, 1);
    return found;
}

/* Every changed session of st written to Redis (as the glue does once
 * Redis answers its writes). */
static void
all_written(ol_store *st)
{
    ol_cluster_session cs;
    ol_cluster_sessions *list = ol_cluster_changes(st, &arena, 0, 1, 256);
    size_t i;

    ck_assert_ptr_nonnull(list);
    for (i = 0; i < ol_cluster_sessions_count(list); i++) {
        ol_cluster_session_get(list, i, &cs);
        ol_cluster_written(st, &arena, cs.sid, cs.changed, NOW);
    }
    ol_cluster_sessions_free(list);
}

static const char *const two[] = {"app-a", "app-b", NULL};
static const char *const none[] = {NULL};

/* ---- the zone never expires a session: Redis decides ------------------ */

START_TEST(test_cluster_sweep_ends_nothing)
{
    ol_login_result idle = signed_in("idle-user", two, NOW);
    ol_store_stats st;
    size_t i;

    ck_assert_uint_eq(ol_store_sweep(store, &arena, NOW + 1000, 1 << 20), 0);
    st = stats();
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_uint_eq(st.ends[OL_END_IDLE], 0);
    ck_assert_uint_eq(st.ends[OL_END_LIFETIME], 0);
    ck_assert_uint_eq(taken(NOW + 2000), 0);
    ck_assert_int_eq(unpublished_cause(idle.sid, &i), -1);
    ck_assert_uint_eq(i, 0);
}
END_TEST

START_TEST(test_cluster_lookup_past_idle_still_finds)
{
    /* other nodes may have used it: only the stream of ends, or a
     * logout, ends it here */
    ol_login_result r = signed_in("idle-user", two, NOW);

    ck_assert_int_eq(ol_session_find(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     NOW + 5000, 1, NULL),
                     OL_OK);
    ck_assert_int_eq(
        ol_cluster_knows(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW + 5000),
        1);
    all_written(store);
    ck_assert_int_eq(
        ol_cluster_forget(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW + 5000), 1);
    ck_assert_int_eq(
        ol_cluster_knows(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW + 5000),
        0);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_uint_eq(taken(NOW + 5000), 0);
}
END_TEST

START_TEST(test_cluster_expiry_notifies_without_cluster)
{
    ol_store_stats st;

    /* configure again, as a reload does: not a cluster any more */
    ol_store_configure(store, &arena, 100, 1000, 1);
    signed_in("idle-user", two, NOW);
    ck_assert_uint_eq(ol_store_sweep(store, &arena, NOW + 1000, 1 << 20), 1);
    st = stats();
    ck_assert_uint_eq(st.ends[OL_END_IDLE], 1);
    ck_assert_uint_eq(st.pending, 2);
    ck_assert_uint_eq(taken(NOW + 1000), 1);
}
END_TEST

START_TEST(test_cluster_eviction_is_a_cache_drop)
{
    ol_login_result first;
    ol_store_stats st;
    int i;

    ol_store_configure(store, &arena, 0, 0, 1);
    ol_cluster_enable(store, &arena);
    first = signed_in("user-first", two, NOW);
    for (i = 0; stats().slots_free > 0 && i < 100000; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "user-%d", i);
        signed_in(sub, two, NOW + 1 + (uint64_t)i);
    }
    ck_assert_int_eq(ol_session_find(store, &arena, first.handle,
                                     OL_ID_TEXT_LEN, NOW + 100000, 0, NULL),
                     OL_OK);
    signed_in("one-more", two, NOW + 100000);
    st = stats();
    ck_assert_int_eq(ol_session_find(store, &arena, first.handle,
                                     OL_ID_TEXT_LEN, NOW + 100000, 0, NULL),
                     OL_DENIED);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_uint_eq(taken(NOW + 100000), 0);
    ck_assert_int_eq(unpublished_cause(first.sid, NULL), -1);
    /* the record is not refused: it lives on in Redis */
    {
        char rec[2048];
        size_t len;
        ol_login_result again = signed_in_at(other, "user-again", two, NOW);
        len = record_of(other, again.sid, rec, sizeof(rec));
        ck_assert_int_eq(
            ol_cluster_import(store, &arena, rec, len, NOW + 100001), OL_OK);
    }
}
END_TEST

/* ---- an end made here waits for Redis ------------------------------------ */

START_TEST(test_cluster_end_waits_unpublished)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_login_result quiet = signed_in("bob", none, NOW);
    size_t n;

    ck_assert_int_eq(ol_session_end_by_sid(store, &arena, r.sid, OL_ID_TEXT_LEN,
                                           NOW, OL_END_ADMIN),
                     OL_OK);
    ck_assert_int_eq(ol_session_end_for(store, &arena, quiet.handle,
                                        OL_ID_TEXT_LEN, NOW, OL_END_LOGOUT,
                                        NULL, 0),
                     OL_OK);
    /* both, also the one without clients, with their causes */
    ck_assert_int_eq(unpublished_cause(r.sid, &n), OL_END_ADMIN);
    ck_assert_int_eq(unpublished_cause(quiet.sid, NULL), OL_END_LOGOUT);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(stats().pending, 2);
    ck_assert_uint_eq(stats().ends[OL_END_ADMIN], 1);
    ck_assert_uint_eq(stats().ends[OL_END_LOGOUT], 1);
    ck_assert_uint_eq(stats().sessions, 0);

    /* the publish hold: Redis may say another node notifies */
    ck_assert_uint_eq(taken(NOW), 0);
    ck_assert_uint_eq(taken(NOW + 2), 0);
    /* Redis down: this node notifies after the hold */
    ck_assert_uint_eq(taken(NOW + 3), 1);
    /* and it stays unpublished until Redis hears */
    ck_assert_int_eq(unpublished_cause(r.sid, NULL), OL_END_ADMIN);
}
END_TEST

START_TEST(test_cluster_published_won_releases_at_once)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_login_result quiet = signed_in("bob", none, NOW);
    size_t n;

    ol_session_end_by_sid(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW,
                          OL_END_ADMIN);
    ol_session_end_by_sid(store, &arena, quiet.sid, OL_ID_TEXT_LEN, NOW,
                          OL_END_ADMIN);
    ck_assert_int_eq(
        ol_cluster_published(store, &arena, r.sid, 1, NULL, 0, NOW + 1), 1);
    ck_assert_int_eq(
        ol_cluster_published(store, &arena, quiet.sid, 1, NULL, 0, NOW + 1), 1);
    ck_assert_int_eq(unpublished_cause(r.sid, &n), -1);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(stats().pending, 2);
    ck_assert_uint_eq(taken(NOW + 1), 1);
    /* heard twice (two workers published it): nothing more */
    ck_assert_int_eq(
        ol_cluster_published(store, &arena, r.sid, 1, NULL, 0, NOW + 1), 0);
    ck_assert_uint_eq(taken(NOW + 1), 0);
}
END_TEST

START_TEST(test_cluster_published_lost_removes)
{
    ol_login_result r = signed_in("alice", two, NOW);

    ol_session_end_by_sid(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW,
                          OL_END_ADMIN);
    ck_assert_uint_eq(stats().pending, 2);
    ol_cluster_published(store, &arena, r.sid, 0, NULL, 0, NOW + 1);
    ck_assert_int_eq(unpublished_cause(r.sid, NULL), -1);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_uint_eq(taken(NOW + 10), 0);
}
END_TEST

/* The session of r is copied to the other node, which adds client; an
 * admin ends it here, and Redis says this node won, with the other's
 * copy. */
static void
ended_joined_elsewhere(const ol_login_result *r, const char *client)
{
    char rec[2048];
    size_t len = record_of(store, r->sid, rec, sizeof(rec));

    ck_assert_int_eq(ol_cluster_import(other, &arena, rec, len, NOW), OL_OK);
    ck_assert_int_eq(ol_session_join(other, &arena, r->handle, OL_ID_TEXT_LEN,
                                     client, strlen(client), NOW, NULL, NULL),
                     OL_OK);
    len = record_of(other, r->sid, rec, sizeof(rec));
    ol_session_end_by_sid(store, &arena, r->sid, OL_ID_TEXT_LEN, NOW,
                          OL_END_ADMIN);
    ol_cluster_published(store, &arena, r->sid, 1, rec, len, NOW + 1);
}

START_TEST(test_cluster_published_record_adds_clients)
{
    ol_login_result r = signed_in("alice", two, NOW);
    size_t i;
    uint64_t refs[4];
    ol_session_info infos[4];
    int seen_known = 0, seen_extra = 0;

    ended_joined_elsewhere(&r, "app-c");
    ck_assert_uint_eq(stats().pending, 3);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 1, 30, 0, 4, refs, NULL, infos),
        2);
    for (i = 0; i < 2; i++) {
        ck_assert_str_eq(infos[i].sid, r.sid);
        ck_assert_str_eq(infos[i].sub, "alice");
        if (infos[i].client_count == 2) {
            ck_assert_int_eq(memcmp(infos[i].clients, "app-a\0app-b", 12), 0);
            seen_known++;
        } else {
            ck_assert_uint_eq(infos[i].client_count, 1);
            ck_assert_str_eq(infos[i].clients, "app-c");
            seen_extra++;
        }
    }
    ck_assert_int_eq(seen_known, 1);
    ck_assert_int_eq(seen_extra, 1);

    /* a session without clients here, with one in Redis's copy */
    r = signed_in("carol", none, NOW);
    ended_joined_elsewhere(&r, "app-a");
    ck_assert_uint_eq(stats().pending, 4);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 1, 30, 0, 4, refs, NULL, infos),
        1);
    ck_assert_str_eq(infos[0].sid, r.sid);
    ck_assert_str_eq(infos[0].clients, "app-a");
    ck_assert_int_eq(unpublished_cause(r.sid, NULL), -1);
}
END_TEST

/* ---- records out --------------------------------------------------------- */

START_TEST(test_cluster_changes_and_written)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_cluster_sessions *list;
    ol_cluster_session cs;
    uint32_t changed;
    int i;

    ck_assert_int_eq(listed(store, r.sid, NOW, 1, &cs, &list), 1);
    ck_assert_uint_ne(cs.changed, 0);
    ck_assert_str_eq(cs.handle, r.handle);
    ck_assert_uint_eq(cs.sub_len, 5);
    ck_assert_int_eq(memcmp(cs.sub, "alice", 5), 0);
    ck_assert_uint_gt(cs.record_len, 0);
    ck_assert_uint_eq(cs.provider_sid_count, 0);
    /* idle first: min(last_used + idle, created + lifetime) */
    ck_assert_uint_eq(cs.deadline, NOW + 100);
    ck_assert_uint_eq(cs.lifetime_end, NOW + 1000);
    changed = cs.changed;
    ol_cluster_sessions_free(list);

    /* a join after the export: the old write does not clear it */
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app-c", 5, NOW, NULL, NULL),
                     OL_OK);
    ol_cluster_written(store, &arena, r.sid, changed, NOW);
    ck_assert_int_eq(listed(store, r.sid, NOW, 1, &cs, &list), 1);
    ck_assert_uint_ne(cs.changed, changed);
    changed = cs.changed;
    ol_cluster_sessions_free(list);
    ol_cluster_written(store, &arena, r.sid, changed, NOW);
    ck_assert_int_eq(listed(store, r.sid, NOW, 1, &cs, &list), 0);
    ol_cluster_sessions_free(list);

    /* touches: listed when asked for touched sessions, from since */
    for (i = 1; i <= 10; i++) {
        ck_assert_int_eq(ol_session_find(store, &arena, r.handle,
                                         OL_ID_TEXT_LEN, NOW + i * 95, 1, NULL),
                         OL_OK);
    }
    ck_assert_int_eq(listed(store, r.sid, NOW + 950, 1, &cs, &list), 0);
    ol_cluster_sessions_free(list);
    ck_assert_int_eq(listed(store, r.sid, NOW + 951, 0, &cs, &list), 0);
    ol_cluster_sessions_free(list);
    ck_assert_int_eq(listed(store, r.sid, NOW + 950, 0, &cs, &list), 1);
    ck_assert_uint_eq(cs.changed, 0);
    /* lifetime first now */
    ck_assert_uint_eq(cs.deadline, NOW + 1000);
    ol_cluster_sessions_free(list);
}
END_TEST

/* The change number of the session of sid, which must be changed and
 * hold clients clients. */
static uint32_t
changed_with(const char *sid, unsigned clients)
{
    ol_cluster_sessions *list;
    ol_cluster_session cs;
    uint32_t changed;

    ck_assert_int_eq(listed(store, sid, NOW, 1, &cs, &list), 1);
    ck_assert_uint_eq((unsigned char)cs.record[38], clients);
    ck_assert_uint_ne(cs.changed, 0);
    changed = cs.changed;
    ol_cluster_sessions_free(list);
    return changed;
}

/* A write of the login in flight when the provider's answer makes a new
 * copy of the session: the write's reply does not pass for the new
 * copy's. */
START_TEST(test_cluster_new_copy_after_a_write_in_flight)
{
    ol_login_result r = signed_in("carol", none, NOW);
    uint32_t login = changed_with(r.sid, 0);

    ck_assert_int_eq(ol_session_learn(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                      "app-a", 5, "op-sid-1", 8, "carol", 5,
                                      NOW),
                     OL_OK);
    ol_cluster_written(store, &arena, r.sid, login, NOW);
    ck_assert_uint_ne(changed_with(r.sid, 1), login);
}
END_TEST

/* Two writes of the same change in flight (two workers'), a join after
 * the first one's reply: the second one's reply does not pass for the
 * join's write. */
START_TEST(test_cluster_change_after_two_writes_in_flight)
{
    ol_login_result r = signed_in("dave", none, NOW);
    uint32_t login = changed_with(r.sid, 0);

    ol_cluster_written(store, &arena, r.sid, login, NOW); /* the first reply */
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app-a", 5, NOW, NULL, NULL),
                     OL_OK);
    ol_cluster_written(store, &arena, r.sid, login, NOW); /* the second */
    ck_assert_uint_ne(changed_with(r.sid, 1), login);
}
END_TEST

/* The session of one cookie, when it changed since written: what a login
 * or a join writes before its answer. */
START_TEST(test_cluster_change_of_one_cookie)
{
    ol_login_result r = signed_in("erin", two, NOW);
    ol_login_result other = signed_in("frank", none, NOW);
    ol_cluster_sessions *list;
    ol_cluster_session cs;

    list = ol_cluster_change_of(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW);
    ck_assert_uint_eq(ol_cluster_sessions_count(list), 1);
    ol_cluster_session_get(list, 0, &cs);
    ck_assert_str_eq(cs.sid, r.sid);
    ck_assert_str_eq(cs.handle, r.handle);
    ck_assert_uint_eq((unsigned char)cs.record[38], 2);
    ol_cluster_written(store, &arena, cs.sid, cs.changed, NOW);
    ol_cluster_sessions_free(list);

    /* written: nothing to write; the other session is not this cookie's */
    list = ol_cluster_change_of(store, &arena, r.handle, OL_ID_TEXT_LEN, NOW);
    ck_assert_uint_eq(ol_cluster_sessions_count(list), 0);
    ol_cluster_sessions_free(list);
    ck_assert_uint_ne(changed_with(other.sid, 0), 0);
    /* no cookie, or a garbled one */
    list = ol_cluster_change_of(store, &arena, NULL, 0, NOW);
    ck_assert_ptr_nonnull(list);
    ck_assert_uint_eq(ol_cluster_sessions_count(list), 0);
    ol_cluster_sessions_free(list);
    list = ol_cluster_change_of(store, &arena, "not a cookie", 12, NOW);
    ck_assert_uint_eq(ol_cluster_sessions_count(list), 0);
    ol_cluster_sessions_free(list);
}
END_TEST

START_TEST(test_cluster_changes_provider_sids_once)
{
    static const char *const learnt[][2] = {
        {"app-a", "psid-1"}, {"app-b", "psid-1"}, {"app-c", "psid-2"}};
    ol_login_result r = signed_in("alice", none, NOW);
    ol_cluster_sessions *list;
    ol_cluster_session cs;
    char handle[OL_ID_TEXT_LEN + 1];
    size_t i;

    memcpy(handle, r.handle, sizeof(handle));
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(ol_session_learn(store, &arena, handle, OL_ID_TEXT_LEN,
                                          learnt[i][0], 5, learnt[i][1], 6,
                                          "alice", 5, NOW),
                         OL_OK);
        /* a learn may give a fresh handle: the export says which */
        ck_assert_int_eq(listed(store, r.sid, NOW, 1, &cs, &list), 1);
        memcpy(handle, cs.handle, sizeof(handle));
        if (i < 2) {
            ol_cluster_sessions_free(list);
        }
    }
    ck_assert_uint_eq(cs.provider_sid_count, 2);
    ck_assert_str_eq(cs.provider_sids[0], "psid-1");
    ck_assert_str_eq(cs.provider_sids[1], "psid-2");
    ol_cluster_sessions_free(list);
}
END_TEST

/* ---- records in ---------------------------------------------------------- */

/* The bytes of count NUL-terminated strings, one after another. */
static size_t
ids_len(const char *ids, size_t count)
{
    size_t len = 0;

    while (count-- > 0) {
        len += strlen(ids + len) + 1;
    }
    return len;
}

static void
assert_same_session(const char *handle)
{
    ol_session_info mine, theirs;

    ck_assert_int_eq(ol_session_find(store, &arena, handle, OL_ID_TEXT_LEN,
                                     NOW + 1, 0, &mine),
                     OL_OK);
    ck_assert_int_eq(ol_session_find(other, &arena, handle, OL_ID_TEXT_LEN,
                                     NOW + 1, 0, &theirs),
                     OL_OK);
    ck_assert_str_eq(mine.sid, theirs.sid);
    ck_assert_uint_eq(mine.sub_len, theirs.sub_len);
    ck_assert_str_eq(mine.sub, theirs.sub);
    ck_assert_uint_eq(mine.created, theirs.created);
    ck_assert_uint_eq(mine.client_count, theirs.client_count);
    ck_assert_int_eq(memcmp(mine.clients, theirs.clients,
                            ids_len(mine.clients, mine.client_count)),
                     0);
    ck_assert_int_eq(memcmp(mine.provider_sids, theirs.provider_sids,
                            ids_len(mine.provider_sids, mine.client_count)),
                     0);
}

START_TEST(test_cluster_import_makes_a_live_session)
{
    ol_login_result r = signed_in_at(other, "alice", two, NOW - 50);
    char rec[2048];
    size_t len;

    ck_assert_int_eq(ol_session_learn(other, &arena, r.handle, OL_ID_TEXT_LEN,
                                      "app-a", 5, "psid-1", 6, "alice", 5, NOW),
                     OL_OK);
    len = record_of(other, r.sid, rec, sizeof(rec));
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW), OL_OK);
    {
        /* the learn changed the handle: the record has the new one */
        ol_cluster_sessions *list;
        ol_cluster_session cs;
        char handle[OL_ID_TEXT_LEN + 1];

        ck_assert_int_eq(listed(other, r.sid, 0, 0, &cs, &list), 1);
        memcpy(handle, cs.handle, sizeof(handle));
        ol_cluster_sessions_free(list);
        ck_assert_int_eq(
            ol_cluster_knows(store, &arena, handle, OL_ID_TEXT_LEN, NOW), 1);
        assert_same_session(handle);
    }
    ck_assert_uint_eq(stats().sessions, 1);
    /* imported again (a newer copy): still one */
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW + 1),
                     OL_OK);
    ck_assert_uint_eq(stats().sessions, 1);
    /* not a change of this node's: nothing to write back */
    {
        ol_cluster_sessions *list;
        ol_cluster_session cs;
        ck_assert_int_eq(listed(store, r.sid, 0, 1, &cs, &list), 0);
        ol_cluster_sessions_free(list);
    }
}
END_TEST

START_TEST(test_cluster_import_refuses_ended)
{
    ol_login_result ended = signed_in("alice", two, NOW);
    ol_login_result forgotten = signed_in("bob", two, NOW);
    char rec1[2048], rec2[2048];
    size_t len1 = record_of(store, ended.sid, rec1, sizeof(rec1));
    size_t len2 = record_of(store, forgotten.sid, rec2, sizeof(rec2));

    ck_assert_int_eq(ol_session_end_for(store, &arena, ended.handle,
                                        OL_ID_TEXT_LEN, NOW, OL_END_LOGOUT,
                                        NULL, 0),
                     OL_OK);
    all_written(store);
    ck_assert_int_eq(
        ol_cluster_forget(store, &arena, forgotten.sid, OL_ID_TEXT_LEN, NOW),
        1);
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec1, len1, NOW + 1),
                     OL_DENIED);
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec2, len2, NOW + 1),
                     OL_DENIED);
    /* also once Redis heard of the end */
    ol_cluster_published(store, &arena, ended.sid, 1, NULL, 0, NOW + 2);
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec1, len1, NOW + 3),
                     OL_DENIED);
    ck_assert_uint_eq(stats().sessions, 0);
    /* another node's zone has not heard of them */
    ck_assert_int_eq(ol_cluster_import(other, &arena, rec1, len1, NOW + 3),
                     OL_OK);
}
END_TEST

/* Imports bytes that are not a record: refused, the store unharmed. */
static void
assert_refused(const char *rec, size_t len)
{
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW),
                     OL_INVALID);
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_IDLE, NOW),
        OL_INVALID);
}

START_TEST(test_cluster_import_refuses_garbage)
{
    ol_login_result r = signed_in_at(other, "alice", two, NOW);
    char rec[2048], bad[2048];
    size_t len, i, data;

    len = record_of(other, r.sid, rec, sizeof(rec));
    /* version, handle, sid, created, sub_len, count, length: 41 bytes */
    ck_assert_uint_eq(len, 41 + 5 + 2 * (1 + 5 + 1));
    for (i = 0; i < len; i++) {
        assert_refused(rec, i);
    }
    memcpy(bad, rec, len);
    bad[len] = 'x';
    assert_refused(bad, len + 1);
    bad[0] = 'T';
    assert_refused(bad, len);

    /* the lengths inside */
    memcpy(bad, rec, len);
    bad[37] = 60; /* sub_len past the data */
    assert_refused(bad, len);
    memcpy(bad, rec, len);
    bad[38] = 3; /* more clients than the data holds */
    assert_refused(bad, len);
    memcpy(bad, rec, len);
    bad[38] = 1; /* fewer */
    assert_refused(bad, len);
    memcpy(bad, rec, len);
    bad[41 + 5] = 0; /* an empty client id */
    assert_refused(bad, len);
    memcpy(bad, rec, len);
    bad[41 + 5] = 40; /* a client id past the end */
    assert_refused(bad, len);
    memcpy(bad, rec, len);
    bad[41 + 5 + 1 + 5] = 9; /* a provider sid past the next entry */
    assert_refused(bad, len);

    /* oversized: more data than a session holds, consistently */
    data = OL_SESSION_DATA_MAX + 1;
    memcpy(bad, rec, 41);
    bad[37] = 0;
    bad[38] = 0;
    bad[39] = (char)(data & 0xff);
    bad[40] = (char)(data >> 8);
    memset(bad + 41, 'a', data);
    assert_refused(bad, 41 + data);
    ck_assert_uint_eq(stats().sessions, 0);

    /* the whole record is fine */
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW), OL_OK);
}
END_TEST

START_TEST(test_cluster_import_random_flips)
{
    const char *const three[] = {"app-a", "app-b", "app-c", NULL};
    ol_login_result r = signed_in_at(other, "alice", three, NOW);
    char rec[2048], bad[2048];
    size_t len, i;
    unsigned seed = 12345, flips = 0, ok = 0;

    ck_assert_int_eq(ol_session_learn(other, &arena, r.handle, OL_ID_TEXT_LEN,
                                      "app-b", 5, "psid-b", 6, "alice", 5, NOW),
                     OL_OK);
    len = record_of(other, r.sid, rec, sizeof(rec));
    for (i = 0; i < 3000; i++) {
        size_t at, n = 1 + rand_r(&seed) % 3, k;
        ol_status rc;

        memcpy(bad, rec, len);
        for (k = 0; k < n; k++) {
            at = (size_t)rand_r(&seed) % len;
            bad[at] ^= (char)(1 + rand_r(&seed) % 255);
        }
        if (getenv("FLIPDBG")) {
            fprintf(stderr, "flip %zu\n", i);
        }
        rc = ol_cluster_import(store, &arena, bad, len, NOW);
        ck_assert(rc == OL_OK || rc == OL_INVALID || rc == OL_DENIED);
        ok += rc == OL_OK;
        flips++;
        {
            const char *why = ol_store_verify(store, &arena);
            ck_assert_msg(why == NULL, "flip %zu (rc %d): %s", i, rc, why);
        }
    }
    ck_assert_ptr_null(ol_store_verify(store, &arena));
    ck_assert_uint_eq(flips, 3000);
    /* flips in the ids and times still make records */
    ck_assert_uint_gt(ok, 0);
    ck_assert_uint_lt(ok, flips);
}
END_TEST

/* A session cached here (used on other nodes meanwhile) comes back from
 * Redis with the same handle. */
START_TEST(test_cluster_import_over_a_cached_copy)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_cluster_sessions *list;
    ol_cluster_session cs;
    char rec[2048];
    size_t len;

    ck_assert_int_eq(listed(store, r.sid, NOW, 1, &cs, &list), 1);
    len = cs.record_len;
    memcpy(rec, cs.record, len);
    ol_cluster_written(store, &arena, r.sid, cs.changed, NOW);
    ol_cluster_sessions_free(list);

    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW + 150),
                     OL_OK);
    ck_assert_msg(ol_store_verify(store, &arena) == NULL, "%s",
                  ol_store_verify(store, &arena));
    ck_assert_uint_eq(stats().sessions, 1);
    ck_assert_int_eq(ol_session_find(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     NOW + 151, 0, NULL),
                     OL_OK);
}
END_TEST

/* ---- ends heard of ------------------------------------------------------- */

START_TEST(test_cluster_forget)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_login_result q;
    size_t n;

    /* changed here and not yet written: kept until its write is answered
     * (a join Redis has not heard of would be told by nobody) */
    ck_assert_int_eq(
        ol_cluster_forget(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW + 1), 0);
    ck_assert_int_eq(ol_session_find(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     NOW + 1, 0, NULL),
                     OL_OK);
    /* Redis took the write (before the end, which told the clients): it
     * leaves then, telling nobody here */
    all_written(store);
    ck_assert_int_eq(ol_session_find(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     NOW + 1, 0, NULL),
                     OL_DENIED);
    ck_assert_int_eq(ol_cluster_handle_ended(store, &arena, r.handle,
                                             OL_ID_TEXT_LEN, NOW + 1),
                     1);

    /* written already: it leaves at once */
    q = signed_in("bob", two, NOW);
    all_written(store);
    ck_assert_int_eq(
        ol_cluster_forget(store, &arena, q.sid, OL_ID_TEXT_LEN, NOW + 1), 1);
    ck_assert_int_eq(ol_session_find(store, &arena, q.handle, OL_ID_TEXT_LEN,
                                     NOW + 1, 0, NULL),
                     OL_DENIED);
    ck_assert_uint_eq(stats().sessions, 0);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_uint_eq(stats().ended, 0);
    ck_assert_int_eq(unpublished_cause(r.sid, &n), -1);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(unpublished_cause(q.sid, &n), -1);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(taken(NOW + 10), 0);
    /* not there (any more) */
    ck_assert_int_eq(
        ol_cluster_forget(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW + 1), 0);
    ck_assert_int_eq(ol_cluster_forget(store, &arena, "short", 5, NOW + 1), 0);
}
END_TEST

START_TEST(test_cluster_enqueue)
{
    ol_login_result live = signed_in("alice", two, NOW);
    ol_login_result ended = signed_in("bob", two, NOW);
    ol_login_result quiet = signed_in("carol", none, NOW);
    char rec[2048];
    size_t len;
    uint64_t refs[4];
    ol_session_info infos[4];

    /* ended by Redis while cached here: it leaves the cache, its clients
     * wait */
    len = record_of(store, live.sid, rec, sizeof(rec));
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_IDLE, NOW + 5),
        OL_OK);
    ck_assert_int_eq(ol_session_find(store, &arena, live.handle, OL_ID_TEXT_LEN,
                                     NOW + 5, 0, NULL),
                     OL_DENIED);
    ck_assert_uint_eq(stats().ends[OL_END_IDLE], 1);
    ck_assert_uint_eq(stats().pending, 2);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 5, 30, 0, 4, refs, NULL, infos),
        1);
    ck_assert_str_eq(infos[0].sid, live.sid);
    ck_assert_str_eq(infos[0].sub, "alice");
    ck_assert_int_eq(memcmp(infos[0].clients, "app-a\0app-b", 12), 0);
    ck_assert_uint_eq(taken(NOW + 100), 1);
    /* and no record brings it back */
    ck_assert_int_eq(ol_cluster_import(store, &arena, rec, len, NOW + 6),
                     OL_DENIED);
    /* told again: once is enough */
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_IDLE, NOW + 6),
        OL_OK);
    ck_assert_uint_eq(stats().pending, 2);
    ck_assert_uint_eq(stats().ends[OL_END_IDLE], 1);

    /* ended here too, waiting: that end notifies */
    len = record_of(store, ended.sid, rec, sizeof(rec));
    ol_session_end_by_sid(store, &arena, ended.sid, OL_ID_TEXT_LEN, NOW + 7,
                          OL_END_ADMIN);
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_LIFETIME, NOW + 7),
        OL_OK);
    ck_assert_uint_eq(stats().pending, 4);
    ck_assert_uint_eq(stats().ends[OL_END_LIFETIME], 0);

    /* nobody to tell */
    len = record_of(store, quiet.sid, rec, sizeof(rec));
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_IDLE, NOW + 8),
        OL_OK);
    ck_assert_uint_eq(stats().pending, 4);
    ck_assert_uint_eq(stats().sessions, 0);
    ck_assert_int_eq(
        ol_cluster_enqueue(store, &arena, rec, len, OL_END_CAUSES, NOW + 8),
        OL_INVALID);
}
END_TEST

/* ---- the resync walk, the flags ------------------------------------------ */

static int
compare_sids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Walks the cache max sids a call; every live sid is seen exactly once. */
static void
walk_cache(char (*sids)[OL_ID_TEXT_LEN + 1], size_t count, size_t max)
{
    char(*got)[OL_ID_TEXT_LEN + 1] = calloc(max, sizeof(*got));
    int *seen = calloc(count, sizeof(int));
    uint64_t cursor = 0;
    size_t n, i, total = 0, calls = 0;
    int over = 0;

    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(seen);
    while (!over && calls < 100000) {
        over = ol_cluster_cached(store, &arena, &cursor, got, max, &n);
        ck_assert_uint_le(n, max);
        for (i = 0; i < n; i++) {
            char(*hit)[OL_ID_TEXT_LEN + 1] =
                bsearch(got[i], sids, count, sizeof(*sids), compare_sids);
            ck_assert_ptr_nonnull(hit);
            seen[hit - sids]++;
        }
        total += n;
        calls++;
    }
    ck_assert_int_eq(over, 1);
    for (i = 0; i < count; i++) {
        ck_assert_msg(seen[i] == 1, "max %zu: sid %zu seen %d times", max, i,
                      seen[i]);
    }
    ck_assert_uint_eq(total, count);
    free(seen);
    free(got);
}

static char cached_sids[1500][OL_ID_TEXT_LEN + 1];

/* 1500 live sessions, their sids sorted in cached_sids. */
static void
many_sessions(void)
{
    size_t i;

    for (i = 0; i < 1500; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "user-%zu", i);
        memcpy(cached_sids[i], signed_in(sub, none, NOW).sid,
               sizeof(cached_sids[i]));
    }
    qsort(cached_sids, 1500, sizeof(cached_sids[0]), compare_sids);
}

START_TEST(test_cluster_cached_walks_in_large_steps)
{
    many_sessions();
    walk_cache(cached_sids, 1500, 4096);
}
END_TEST

/* A call that stops inside a bucket's chain must not lose the rest of
 * the chain (about two sessions a bucket in a full zone). */
START_TEST(test_cluster_cached_walks_every_sid_once)
{
    many_sessions();
    walk_cache(cached_sids, 1500, 100);
    walk_cache(cached_sids, 1500, 1);
}
END_TEST

START_TEST(test_cluster_flags_position_node)
{
    uint64_t ms, seq;
    char name[17], name2[17];
    size_t i;

    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, -1), 0);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, 1), 1);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, 1), 0);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, -1), 1);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_STALE, -1), 0);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, 0), 1);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, -1), 0);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_STALE, 1), 1);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_DOWN, -1), 0);
    ck_assert_int_eq(ol_cluster_flag(store, &arena, OL_CLUSTER_STALE, -1), 1);

    ol_cluster_stream_position(store, &arena, &ms, &seq);
    ck_assert_uint_eq(ms, 0);
    ck_assert_uint_eq(seq, 0);
    ol_cluster_set_stream_position(store, &arena, 1700000000000, 3);
    ol_cluster_set_stream_position(store, &arena, 1700000000000, 2);
    ol_cluster_stream_position(store, &arena, &ms, &seq);
    ck_assert_uint_eq(ms, 1700000000000);
    ck_assert_uint_eq(seq, 3);
    ol_cluster_set_stream_position(store, &arena, 1699999999999, 9);
    ol_cluster_stream_position(store, &arena, &ms, &seq);
    ck_assert_uint_eq(ms, 1700000000000);
    ck_assert_uint_eq(seq, 3);
    ol_cluster_set_stream_position(store, &arena, 1700000000001, 0);
    ol_cluster_stream_position(store, &arena, &ms, &seq);
    ck_assert_uint_eq(ms, 1700000000001);
    ck_assert_uint_eq(seq, 0);

    ol_cluster_node(store, &arena, name);
    ol_cluster_node(other, &arena, name2);
    ck_assert_uint_eq(strlen(name), 16);
    for (i = 0; i < 16; i++) {
        ck_assert_ptr_nonnull(strchr("0123456789abcdef", name[i]));
    }
    ck_assert_str_ne(name, name2);
}
END_TEST

/* The anti-CSRF token of a confirmation page for handle. */
static void
csrf_token(ol_endpoint *ep, const char *handle, char *out, size_t size)
{
    ol_logout_request rq = {.action = "/logout",
                            .action_len = 7,
                            .store = store,
                            .arena = &arena,
                            .handle = handle,
                            .handle_len = OL_ID_TEXT_LEN,
                            .now = NOW};
    ol_response *resp;
    char err[256], *body, *at, *end;

    ck_assert_int_eq(ol_logout_decide(ep, &rq, &resp, err, sizeof(err)), OL_OK);
    body = response_body(resp);
    at = strstr(body, "name=\"confirm\" value=\"");
    ck_assert_msg(at != NULL, "%s", body);
    at += strlen("name=\"confirm\" value=\"");
    end = strchr(at, '"');
    ck_assert_ptr_nonnull(end);
    ck_assert_uint_lt((size_t)(end - at), size);
    snprintf(out, size, "%.*s", (int)(end - at), at);
    free(body);
    ol_response_free(resp);
}

START_TEST(test_cluster_secret_changes_the_csrf_token)
{
    ol_login_result r = signed_in("alice", two, NOW);
    ol_endpoint_conf ec = {.mode = OL_MODE_OIDC, .sessions = 1};
    ol_endpoint *ep;
    uint8_t secret[32];
    char err[256], before[128], after[128], again[128];

    ck_assert_int_eq(ol_endpoint_new(&ec, &ep, err, sizeof(err)), OL_OK);
    csrf_token(ep, r.handle, before, sizeof(before));
    memset(secret, 7, sizeof(secret));
    ol_cluster_set_secret(store, &arena, secret, 31); /* not a secret */
    csrf_token(ep, r.handle, after, sizeof(after));
    ck_assert_str_eq(after, before);
    ol_cluster_set_secret(store, &arena, secret, sizeof(secret));
    csrf_token(ep, r.handle, after, sizeof(after));
    ck_assert_str_ne(after, before);
    ol_cluster_set_secret(store, &arena, secret, sizeof(secret));
    csrf_token(ep, r.handle, again, sizeof(again));
    ck_assert_str_eq(again, after);
    ol_endpoint_free(ep);
}
END_TEST

/* ---- exactly once, after an outage ------------------------------------- */

/* Redis is down when an admin ends a session: after the hold this node
 * notifies its clients, and they get their tokens.  Redis comes back; the
 * end is published, this node won, and Redis's copy of the session names
 * the same clients: they must not be told twice. */
START_TEST(test_cluster_published_after_delivery)
{
    ol_login_result r = signed_in("alice", two, NOW);
    const char *done[] = {"app-a", "app-b"};
    uint64_t refs[4];
    ol_session_info infos[4];
    char rec[2048];
    size_t len = record_of(store, r.sid, rec, sizeof(rec));

    ol_session_end_by_sid(store, &arena, r.sid, OL_ID_TEXT_LEN, NOW,
                          OL_END_ADMIN);
    ck_assert_uint_eq(
        ol_pending_claim(store, &arena, NOW + 3, 30, 0, 4, refs, NULL, infos),
        1);
    ol_pending_settle(store, &arena, refs[0], 0, r.sid, done, 2, NOW + 4);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_int_eq(unpublished_cause(r.sid, NULL), OL_END_ADMIN);

    ol_cluster_published(store, &arena, r.sid, 1, rec, len, NOW + 60);
    ck_assert_int_eq(unpublished_cause(r.sid, NULL), -1);
    ck_assert_uint_eq(stats().pending, 0);
    ck_assert_uint_eq(taken(NOW + 60), 0);
}
END_TEST

/* ---- remembered values reach the other nodes --------------------------- */

START_TEST(test_cluster_memos_replicate)
{
    ol_cluster_memo memos[8];
    uint64_t upto;
    size_t n, i;
    uint8_t secret[32];

    /* the nodes share the secret (Redis's): their keyed hashes match */
    memset(secret, 7, sizeof(secret));
    ol_cluster_set_secret(store, &arena, secret, sizeof(secret));
    ol_cluster_set_secret(other, &arena, secret, sizeof(secret));

    ck_assert_int_eq(
        ol_store_remember_once(store, &arena, "jti-1", 5, NOW + 600, NOW), 1);
    n = ol_cluster_memos(store, &arena, memos, 8, &upto);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(memos[0].table, OL_MEMO_JTIS);
    ck_assert_uint_eq(memos[0].expires, NOW + 600);

    /* not published: listed again */
    ck_assert_uint_eq(ol_cluster_memos(store, &arena, memos, 8, &upto), 1);
    ol_cluster_memos_published(store, &arena, upto);
    ck_assert_uint_eq(ol_cluster_memos(store, &arena, memos + 1, 7, &upto), 0);

    /* the other node takes it as its own: the replay is refused there */
    for (i = 0; i < n; i++) {
        ol_cluster_memo_apply(other, &arena, &memos[i], NOW);
    }
    ck_assert_int_eq(
        ol_store_remember_once(other, &arena, "jti-1", 5, NOW + 600, NOW + 1),
        0);
    /* and does not list it as its own */
    ck_assert_uint_eq(ol_cluster_memos(other, &arena, memos, 8, &upto), 0);
    ck_assert_ptr_null(ol_store_verify(other, &arena));
}
END_TEST

START_TEST(test_cluster_memos_without_cluster_are_not_logged)
{
    ol_cluster_memo memos[2];
    uint64_t upto;

    ol_store_configure(store, &arena, 100, 1000, 1);
    ck_assert_int_eq(
        ol_store_remember_once(store, &arena, "jti-2", 5, NOW + 600, NOW), 1);
    ck_assert_uint_eq(ol_cluster_memos(store, &arena, memos, 2, &upto), 0);
}
END_TEST

Suite *
store_cluster_suite(void)
{
    Suite *s = suite_create("store_cluster");
    TCase *tc = tcase_create("cluster");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cluster_sweep_ends_nothing);
    tcase_add_test(tc, test_cluster_lookup_past_idle_still_finds);
    tcase_add_test(tc, test_cluster_expiry_notifies_without_cluster);
    tcase_add_test(tc, test_cluster_eviction_is_a_cache_drop);
    tcase_add_test(tc, test_cluster_end_waits_unpublished);
    tcase_add_test(tc, test_cluster_published_won_releases_at_once);
    tcase_add_test(tc, test_cluster_published_lost_removes);
    tcase_add_test(tc, test_cluster_published_record_adds_clients);
    tcase_add_test(tc, test_cluster_changes_and_written);
    tcase_add_test(tc, test_cluster_new_copy_after_a_write_in_flight);
    tcase_add_test(tc, test_cluster_change_after_two_writes_in_flight);
    tcase_add_test(tc, test_cluster_change_of_one_cookie);
    tcase_add_test(tc, test_cluster_changes_provider_sids_once);
    tcase_add_test(tc, test_cluster_import_makes_a_live_session);
    tcase_add_test(tc, test_cluster_import_refuses_ended);
    tcase_add_test(tc, test_cluster_import_refuses_garbage);
    tcase_add_test(tc, test_cluster_forget);
    tcase_add_test(tc, test_cluster_enqueue);
    tcase_add_test(tc, test_cluster_cached_walks_in_large_steps);
    tcase_add_test(tc, test_cluster_flags_position_node);
    tcase_add_test(tc, test_cluster_secret_changes_the_csrf_token);
    tcase_add_test(tc, test_cluster_import_over_a_cached_copy);
    tcase_add_test(tc, test_cluster_import_random_flips);
    tcase_add_test(tc, test_cluster_cached_walks_every_sid_once);
    tcase_add_test(tc, test_cluster_published_after_delivery);
    tcase_add_test(tc, test_cluster_memos_replicate);
    tcase_add_test(tc, test_cluster_memos_without_cluster_are_not_logged);
    suite_add_tcase(s, tc);
    return s;
}
