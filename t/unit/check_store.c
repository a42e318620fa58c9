/*
 * The session store over a heap arena: create, join, lookups by every
 * index, expiry, eviction order, a full arena.
 */

#include "check_suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A malloc arena with a byte budget; alloc and free must hold the lock. */
typedef struct {
    size_t used;
    size_t budget;
    int locked;
    int misuse;
} heap_arena;

static void *
heap_alloc(void *data, size_t size)
{
    heap_arena *h = data;
    size_t *p;

    h->misuse += !h->locked;
    if (h->used + size > h->budget) {
        return NULL;
    }
    p = malloc(sizeof(size_t) * 2 + size);
    ck_assert_ptr_nonnull(p);
    p[0] = size;
    h->used += size;
    return p + 2;
}

static void
heap_free(void *data, void *ptr)
{
    heap_arena *h = data;
    size_t *p = (size_t *)ptr - 2;

    h->misuse += !h->locked;
    h->used -= p[0];
    free(p);
}

static void
heap_lock(void *data)
{
    heap_arena *h = data;

    h->misuse += h->locked;
    h->locked = 1;
}

static void
heap_unlock(void *data)
{
    heap_arena *h = data;

    h->misuse += !h->locked;
    h->locked = 0;
}

static heap_arena heap;
static ol_arena arena = {&heap,     heap_alloc,  heap_free,
                         heap_lock, heap_unlock, NULL};
static ol_store *store;

static void
setup(void)
{
    memset(&heap, 0, sizeof(heap));
    heap.budget = 1 << 20;
    store = ol_store_create(&arena, 1 << 20);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 1800, 8 * 3600, 1);
}

static void
teardown(void)
{
    /* every call balanced its lock and allocated only under it */
    ck_assert_int_eq(heap.misuse, 0);
    ck_assert_int_eq(heap.locked, 0);
    ck_assert_ptr_null(ol_store_verify(store, &arena));
}

static ol_login_result
login(const char *handle, const char *sub, uint64_t now)
{
    ol_login_result r;

    ck_assert_int_eq(ol_session_login(store, &arena, handle,
                                      handle ? strlen(handle) : 0, sub,
                                      strlen(sub), now, &r, NULL, 0),
                     OL_OK);
    return r;
}

static ol_status
find(const char *handle, uint64_t now, ol_session_info *info)
{
    return ol_session_find(store, &arena, handle, strlen(handle), now, 1, info);
}

/* A store of exactly slots slots (a session of a short subject and a few
 * clients takes one). */
static void
make_store(size_t slots)
{
    ol_store_stats st;

    memset(&heap, 0, sizeof(heap));
    heap.budget = (size_t)1 << 30;
    store = ol_store_create(&arena, slots * 256);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 1800, 8 * 3600, 1);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.slots, slots);
    ck_assert_uint_eq(st.slots_free, slots);
}

START_TEST(test_store_login_creates_session)
{
    ol_session_info info;
    ol_login_result r = login(NULL, "alice", 1000);

    ck_assert_int_eq(r.created, 1);
    ck_assert_uint_eq(strlen(r.handle), OL_ID_TEXT_LEN);
    ck_assert_uint_eq(strlen(r.sid), OL_ID_TEXT_LEN);
    ck_assert_str_ne(r.handle, r.sid);
    ck_assert_int_eq(find(r.handle, 1001, &info), OL_OK);
    ck_assert_str_eq(info.sid, r.sid);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_uint_eq(info.client_count, 0);
    ck_assert_uint_eq(info.created, 1000);
    /* the sid is public: it never opens the session */
    ck_assert_int_eq(find(r.sid, 1001, NULL), OL_DENIED);
}
END_TEST

START_TEST(test_store_login_same_subject_keeps_session)
{
    ol_session_info info;
    ol_login_result a = login(NULL, "alice", 1000);
    ol_login_result b;

    ck_assert_int_eq(ol_session_join(store, &arena, a.handle, OL_ID_TEXT_LEN,
                                     "app1", 4, 1001, NULL, NULL),
                     OL_OK);
    b = login(a.handle, "alice", 1010);

    /* the session and its clients stay, under a fresh cookie handle */
    ck_assert_int_eq(b.created, 0);
    ck_assert_str_ne(b.handle, a.handle);
    ck_assert_str_eq(b.sid, a.sid);
    ck_assert_int_eq(find(a.handle, 1011, NULL), OL_DENIED);
    ck_assert_int_eq(find(b.handle, 1011, &info), OL_OK);
    ck_assert_str_eq(info.sid, a.sid);
    ck_assert_uint_eq(info.client_count, 1);
}
END_TEST

START_TEST(test_store_login_result_always_set)
{
    ol_login_result r;
    char sub[OL_SUB_MAX + 1];

    memset(&r, 0x5a, sizeof(r));
    memset(sub, 's', sizeof(sub));
    ck_assert_int_eq(ol_session_login(store, &arena, NULL, 0, sub, sizeof(sub),
                                      1, &r, NULL, 0),
                     OL_INVALID);
    ck_assert_uint_eq(r.evicted, 0);
    ck_assert_int_eq(r.created, 0);
}
END_TEST

START_TEST(test_store_many_sessions_of_one_subject)
{
    enum { N = 3000 };
    static ol_login_result r[N];
    ol_store_stats st;
    int i;

    make_store(N);
    for (i = 0; i < N; i++) {
        r[i] = login(NULL, "shared-account", 1000);
    }
    /* ending them from the oldest (the far end of the subject's chain) */
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(ol_session_end(store, &arena, r[i].handle,
                                        OL_ID_TEXT_LEN, 1001, NULL),
                         OL_OK);
        if (i % 500 == 0) {
            ck_assert_ptr_null(ol_store_verify(store, &arena));
        }
    }
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, 0);
}
END_TEST

START_TEST(test_store_login_other_subject_replaces_session)
{
    ol_login_result a = login(NULL, "alice", 1000);
    ol_login_result b = login(a.handle, "bob", 1010);
    ol_store_stats st;

    ck_assert_int_eq(b.created, 1);
    ck_assert_int_eq(b.previous_ended, 1);
    ck_assert_str_ne(b.handle, a.handle);
    ck_assert_str_ne(b.sid, a.sid);
    ck_assert_int_eq(find(a.handle, 1011, NULL), OL_DENIED);
    ck_assert_int_eq(find(b.handle, 1011, NULL), OL_OK);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_uint_eq(st.ended, 1);
}
END_TEST

START_TEST(test_store_login_fresh_ids_every_time)
{
    /* no fixation: a login without a live session never reuses ids */
    ol_login_result a = login("AAAAAAAAAAAAAAAAAAAAAA", "alice", 1000);
    ol_login_result b = login(NULL, "alice", 1000);

    ck_assert_int_eq(a.created, 1);
    ck_assert_str_ne(a.handle, "AAAAAAAAAAAAAAAAAAAAAA");
    ck_assert_str_ne(a.handle, b.handle);
    ck_assert_str_ne(a.sid, b.sid);
}
END_TEST

START_TEST(test_store_login_bad_subject)
{
    char sub[OL_SUB_MAX + 2];
    ol_login_result r;

    ck_assert_int_eq(
        ol_session_login(store, &arena, NULL, 0, "", 0, 1, &r, NULL, 0),
        OL_INVALID);
    memset(sub, 's', sizeof(sub));
    ck_assert_int_eq(ol_session_login(store, &arena, NULL, 0, sub,
                                      OL_SUB_MAX + 1, 1, &r, NULL, 0),
                     OL_INVALID);
    ck_assert_int_eq(ol_session_login(store, &arena, NULL, 0, sub, OL_SUB_MAX,
                                      1, &r, NULL, 0),
                     OL_OK);
}
END_TEST

START_TEST(test_store_login_subject_is_utf8)
{
    /* it goes into JSON logout tokens */
    static const char *const bad[] = {"caf\xe9",          /* Latin-1 */
                                      "\xc0\xaf",         /* overlong "/" */
                                      "\xed\xa0\x80",     /* a surrogate */
                                      "x\xe2\x82",        /* cut short */
                                      "\xf4\x90\x80\x80", /* beyond U+10FFFF */
                                      "\xff"};
    static const char *const good[] = {"caf\xc3\xa9", "\xe2\x82\xac",
                                       "\xf0\x9f\x94\x91", "plain"};
    ol_login_result r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ol_session_login(store, &arena, NULL, 0, bad[i],
                                       strlen(bad[i]), 1, &r, NULL,
                                       0) == OL_INVALID,
                      "bad subject #%zu accepted", i);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(ol_session_login(store, &arena, NULL, 0, good[i],
                                       strlen(good[i]), 1, &r, NULL,
                                       0) == OL_OK,
                      "good subject #%zu refused", i);
    }
}
END_TEST

START_TEST(test_store_join_records_clients)
{
    ol_session_info info;
    ol_login_result r = login(NULL, "alice", 1000);
    const char *c;

    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app1", 4, 1001, NULL, NULL),
                     OL_OK);
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app2", 4, 1002, NULL, NULL),
                     OL_OK);
    /* joining twice records the client once */
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app1", 4, 1003, &info, NULL),
                     OL_OK);
    ck_assert_uint_eq(info.client_count, 2);
    c = info.clients;
    ck_assert_str_eq(c, "app1");
    c += strlen(c) + 1;
    ck_assert_str_eq(c, "app2");
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_str_eq(info.sid, r.sid);
    ck_assert_uint_eq(info.last_used, 1003);
}
END_TEST

START_TEST(test_store_join_without_session)
{
    ol_login_result r = login(NULL, "alice", 1000);

    ck_assert_int_eq(
        ol_session_join(store, &arena, "nope", 4, "app1", 4, 1001, NULL, NULL),
        OL_DENIED);
    ck_assert_int_eq(
        ol_session_end(store, &arena, r.handle, OL_ID_TEXT_LEN, 1002, NULL),
        OL_OK);
    /* an ended session is never revived by a join */
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app1", 4, 1003, NULL, NULL),
                     OL_DENIED);
    ck_assert_int_eq(find(r.handle, 1004, NULL), OL_DENIED);
}
END_TEST

START_TEST(test_store_join_limits)
{
    char client[OL_CLIENT_ID_MAX + 1];
    ol_login_result r = login(NULL, "alice", 1000);
    int i, ok = 0;

    memset(client, 'c', sizeof(client));
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     client, OL_CLIENT_ID_MAX + 1, 1, NULL,
                                     NULL),
                     OL_INVALID);
    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "", 0, 1, NULL, NULL),
                     OL_INVALID);
    /* a session holds at most OL_SESSION_DATA_MAX bytes of ids */
    for (i = 0; i < 100; i++) {
        client[0] = (char)('A' + i % 26);
        client[1] = (char)('A' + i / 26);
        ok += ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN, client,
                              50, 1, NULL, NULL) == OL_OK;
    }
    ck_assert_int_eq(ok, (OL_SESSION_DATA_MAX - 5) / 51);
}
END_TEST

START_TEST(test_store_lookup_by_sid_and_sub)
{
    ol_session_info info, list[4];
    ol_login_result a = login(NULL, "alice", 1000);
    ol_login_result b = login(NULL, "alice", 1001);
    ol_login_result c = login(NULL, "carol", 1002);

    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, b.sid,
                                            OL_ID_TEXT_LEN, 1003, &info),
                     OL_OK);
    ck_assert_str_eq(info.sub, "alice");
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, b.handle,
                                            OL_ID_TEXT_LEN, 1003, NULL),
                     OL_DENIED);
    ck_assert_uint_eq(
        ol_session_list_by_sub(store, &arena, "alice", 5, 1003, list, 4), 2);
    ck_assert(strcmp(list[0].sid, a.sid) == 0 ||
              strcmp(list[1].sid, a.sid) == 0);
    ck_assert_uint_eq(
        ol_session_list_by_sub(store, &arena, "carol", 5, 1003, list, 4), 1);
    ck_assert_str_eq(list[0].sid, c.sid);
    ck_assert_uint_eq(
        ol_session_list_by_sub(store, &arena, "dave", 4, 1003, list, 4), 0);
    ck_assert_uint_eq(
        ol_session_list_by_sub(store, &arena, "alice", 5, 1003, list, 1), 1);
}
END_TEST

START_TEST(test_store_end_once)
{
    ol_session_info info;
    ol_login_result r = login(NULL, "alice", 1000);

    ck_assert_int_eq(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     "app1", 4, 1001, NULL, NULL),
                     OL_OK);
    ck_assert_int_eq(
        ol_session_end(store, &arena, r.handle, OL_ID_TEXT_LEN, 1002, &info),
        OL_OK);
    ck_assert_str_eq(info.sid, r.sid);
    ck_assert_uint_eq(info.client_count, 1);
    ck_assert_int_eq(
        ol_session_end(store, &arena, r.handle, OL_ID_TEXT_LEN, 1003, &info),
        OL_DENIED);
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, r.sid,
                                            OL_ID_TEXT_LEN, 1003, NULL),
                     OL_DENIED);
}
END_TEST

START_TEST(test_store_counts_deliveries)
{
    ol_store_stats st;

    ol_store_count_delivery(store, &arena, OL_DELIVERY_DELIVERED);
    ol_store_count_delivery(store, &arena, OL_DELIVERY_DELIVERED);
    ol_store_count_delivery(store, &arena, OL_DELIVERY_RETRIED);
    ol_store_count_delivery(store, &arena, OL_DELIVERY_FAILED);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.backchannel_delivered, 2);
    ck_assert_uint_eq(st.backchannel_retried, 1);
    ck_assert_uint_eq(st.backchannel_failed, 1);
    ck_assert_uint_eq(st.sessions, 0);
}
END_TEST

START_TEST(test_store_idle_expiry)
{
    ol_login_result r = login(NULL, "alice", 1000);
    ol_store_stats st;

    /* use refreshes the idle timer */
    ck_assert_int_eq(find(r.handle, 1000 + 1799, NULL), OL_OK);
    ck_assert_int_eq(find(r.handle, 1000 + 1799 + 1799, NULL), OL_OK);
    ck_assert_int_eq(find(r.handle, 1000 + 1799 + 1799 + 1800, NULL),
                     OL_DENIED);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.expired, 1);
    ck_assert_uint_eq(st.sessions, 0);
}
END_TEST

START_TEST(test_store_lookup_without_touch)
{
    ol_login_result r = login(NULL, "alice", 1000);

    ck_assert_int_eq(ol_session_find(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                     1000 + 1700, 0, NULL),
                     OL_OK);
    ck_assert_int_eq(find(r.handle, 1000 + 1800, NULL), OL_DENIED);
}
END_TEST

START_TEST(test_store_lifetime_expiry)
{
    ol_login_result r = login(NULL, "alice", 1000);
    uint64_t t;

    for (t = 1000; t < 1000 + 8 * 3600; t += 1500) {
        ck_assert_int_eq(find(r.handle, t, NULL), OL_OK);
    }
    ck_assert_int_eq(find(r.handle, 1000 + 8 * 3600, NULL), OL_DENIED);
    ck_assert_int_eq(ol_session_find_by_sid(store, &arena, r.sid,
                                            OL_ID_TEXT_LEN, 1000 + 8 * 3600,
                                            NULL),
                     OL_DENIED);
}
END_TEST

START_TEST(test_store_no_timeouts)
{
    ol_login_result r;

    ol_store_configure(store, &arena, 0, 0, 1);
    r = login(NULL, "alice", 1000);
    ck_assert_int_eq(find(r.handle, 1000 + 365 * 86400, NULL), OL_OK);
}
END_TEST

START_TEST(test_store_full_evicts_least_recently_used)
{
    ol_login_result first, second, r;
    ol_store_stats st;
    int i;

    make_store(32);
    first = login(NULL, "user-first", 1000);
    second = login(NULL, "user-secnd", 1001);
    for (i = 0; i < 30; i++) {
        login(NULL, "user-fillr", 1002);
    }
    /* full; the first is used again, so the second is the oldest */
    ck_assert_int_eq(find(first.handle, 1003, NULL), OL_OK);
    r = login(NULL, "user-newer", 1004);
    ck_assert_int_eq(r.created, 1);
    ck_assert_uint_eq(r.evicted, 1);
    ck_assert_int_eq(find(second.handle, 1005, NULL), OL_DENIED);
    ck_assert_int_eq(find(first.handle, 1005, NULL), OL_OK);
    ck_assert_int_eq(find(r.handle, 1005, NULL), OL_OK);

    for (i = 0; i < 200; i++) {
        r = login(NULL, "user-later", 1006);
        ck_assert_int_eq(r.created, 1);
    }
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.alloc_failures, 0);
    ck_assert_uint_eq(st.sessions, 32);
    ck_assert_uint_eq(st.sessions + st.evicted + st.ended + st.expired,
                      st.created);
}
END_TEST

/* Logins and uses of sessions of mixed sizes in a small store: every
 * eviction takes the least recently used session, whatever its size, as a
 * model of the LRU order predicts. */
START_TEST(test_store_eviction_is_least_recently_used)
{
    enum { SLOTS = 40, LOGINS = 1200 };
    static char handles[LOGINS][OL_ID_TEXT_LEN + 1];
    static int order[LOGINS]; /* model: logins by last use, oldest first */
    static int slots_of[LOGINS];
    int live = 0, used = 0, i, k;
    unsigned seed = 7;
    char sub[256];
    ol_store_stats st;

    make_store(SLOTS);
    ol_store_configure(store, &arena, 0, 0, 1);
    for (i = 0; i < LOGINS; i++) {
        /* one session in five has a subject that takes two slots */
        size_t len = (seed = seed * 1103515245u + 12345u, (seed >> 8) % 5 == 0)
                         ? 200
                         : 5 + (size_t)(seed >> 12) % 40;
        memset(sub, 'a' + i % 26, len);
        sub[len] = '\0';
        slots_of[i] = len > 151 ? 2 : 1;
        /* the model forces out the oldest until the new one fits */
        while (used + slots_of[i] > SLOTS) {
            used -= slots_of[order[0]];
            memmove(order, order + 1, (size_t)--live * sizeof(order[0]));
        }
        memcpy(handles[i], login(NULL, sub, 1000 + (uint64_t)i).handle,
               OL_ID_TEXT_LEN + 1);
        order[live++] = i;
        used += slots_of[i];
        /* use a random live session again: it becomes the newest */
        if (i % 3 == 0 && live > 1) {
            k = (int)((seed >> 4) % (unsigned)(live - 1));
            int used_again = order[k];
            ck_assert_int_eq(
                find(handles[used_again], 1000 + (uint64_t)i, NULL), OL_OK);
            memmove(order + k, order + k + 1,
                    (size_t)(live - k - 1) * sizeof(order[0]));
            order[live - 1] = used_again;
        }
    }
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, (uint64_t)live);
    ck_assert_uint_eq(st.alloc_failures, 0);
    for (k = 0; k < live; k++) {
        ck_assert_int_eq(ol_session_find(store, &arena, handles[order[k]],
                                         OL_ID_TEXT_LEN, 5000, 0, NULL),
                         OL_OK);
    }
    /* and every other one is gone */
    for (i = 0, k = 0; i < LOGINS; i++) {
        k += ol_session_find(store, &arena, handles[i], OL_ID_TEXT_LEN, 5000, 0,
                             NULL) == OL_OK;
    }
    ck_assert_int_eq(k, live);
}
END_TEST

START_TEST(test_store_full_drops_expired_first)
{
    ol_login_result old, live[31], r;
    ol_store_stats st;
    int i;

    make_store(32);
    ol_store_configure(store, &arena, 100, 0, 1);
    old = login(NULL, "user-older", 1000);
    for (i = 0; i < 31; i++) {
        live[i] = login(NULL, "user-alive", 1150);
    }
    r = login(NULL, "user-newer", 1160);
    ck_assert_int_eq(r.created, 1);
    ck_assert_uint_eq(r.evicted, 0);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.expired, 1);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_int_eq(find(old.handle, 1161, NULL), OL_DENIED);
    for (i = 0; i < 31; i++) {
        ck_assert_int_eq(find(live[i].handle, 1161, NULL), OL_OK);
    }
}
END_TEST

START_TEST(test_store_full_join_reports_evictions)
{
    ol_login_result r[8];
    ol_store_stats st;
    unsigned evicted = 0;
    char client[201];
    int i;

    /* room for eight sessions; a long client id outgrows the allocation
     * of a session, which must then grow into room made for it */
    make_store(8);
    for (i = 0; i < 8; i++) {
        r[i] = login(NULL, "user-abcde", 1000 + (uint64_t)i);
    }
    memset(client, 'c', sizeof(client));
    ck_assert_int_eq(ol_session_join(store, &arena, r[7].handle, OL_ID_TEXT_LEN,
                                     client, 200, 1010, NULL, &evicted),
                     OL_OK);
    ck_assert_uint_ge(evicted, 1);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.evicted, evicted);
    /* the oldest went, the joined one stays */
    ck_assert_int_eq(find(r[0].handle, 1011, NULL), OL_DENIED);
    ck_assert_int_eq(find(r[7].handle, 1011, NULL), OL_OK);
}
END_TEST

START_TEST(test_store_join_in_place)
{
    /* joins that fit the session's slot take no other */
    ol_login_result r = login(NULL, "alice", 1000);
    ol_store_stats before, after;
    int i;
    char client[16];

    ol_store_get_stats(store, &arena, &before);
    for (i = 0; i < 10; i++) {
        snprintf(client, sizeof(client), "app%d", i);
        ck_assert_int_eq(ol_session_join(store, &arena, r.handle,
                                         OL_ID_TEXT_LEN, client, strlen(client),
                                         1001, NULL, NULL),
                         OL_OK);
    }
    ol_store_get_stats(store, &arena, &after);
    ck_assert_uint_eq(after.slots_free, before.slots_free);
}
END_TEST

START_TEST(test_store_full_join_keeps_own_session)
{
    ol_login_result r;
    ol_store_stats st;
    int i, ok = 0;
    char client[16];

    make_store(3);
    r = login(NULL, "alice", 1000);
    for (i = 0; i < 200; i++) {
        snprintf(client, sizeof(client), "cl%03d", i);
        ok += ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN, client,
                              strlen(client), 1001, NULL, NULL) == OL_OK;
    }
    /* joins that do not fit fail; the session itself is never evicted */
    ck_assert_int_gt(ok, 0);
    ck_assert_int_lt(ok, 200);
    ck_assert_int_eq(find(r.handle, 1002, NULL), OL_OK);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_uint_gt(st.alloc_failures, 0);
}
END_TEST

START_TEST(test_store_arena_too_small)
{
    heap_arena tiny = {0, 64, 0, 0};
    ol_arena a = {&tiny, heap_alloc, heap_free, heap_lock, heap_unlock, NULL};

    ck_assert_ptr_null(ol_store_create(&a, 1 << 20));
}
END_TEST

START_TEST(test_store_zone_check)
{
    char junk[256];

    ck_assert_ptr_null(ol_store_incompatible(store));
    memset(junk, 0x5a, sizeof(junk));
    ck_assert_ptr_nonnull(ol_store_incompatible((ol_store *)junk));
}
END_TEST

START_TEST(test_store_bad_handles)
{
    static const char *const bad[] = {
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAA!",
        "AAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAB",
    };
    size_t i;

    login(NULL, "alice", 1000);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(find(bad[i], 1001, NULL), OL_DENIED);
        ck_assert_int_eq(
            ol_session_end(store, &arena, bad[i], strlen(bad[i]), 1001, NULL),
            OL_DENIED);
    }
}
END_TEST

START_TEST(test_store_many_sessions)
{
    enum { N = 5000 };
    static ol_login_result r[N];
    ol_store_stats st;
    int i;

    make_store(N);
    for (i = 0; i < N; i++) {
        char sub[16];
        snprintf(sub, sizeof(sub), "u%d", i % 97);
        r[i] = login(NULL, sub, 1000);
        if (i % 3 == 0) {
            ck_assert_int_eq(ol_session_join(store, &arena, r[i].handle,
                                             OL_ID_TEXT_LEN, "app", 3, 1000,
                                             NULL, NULL),
                             OL_OK);
        }
    }
    for (i = 0; i < N; i += 2) {
        ck_assert_int_eq(ol_session_end(store, &arena, r[i].handle,
                                        OL_ID_TEXT_LEN, 1001, NULL),
                         OL_OK);
    }
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(find(r[i].handle, 1002, NULL),
                         i % 2 ? OL_OK : OL_DENIED);
    }
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, N / 2);
}
END_TEST

Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("heap");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_login_creates_session);
    tcase_add_test(tc, test_store_login_same_subject_keeps_session);
    tcase_add_test(tc, test_store_login_result_always_set);
    tcase_add_test(tc, test_store_many_sessions_of_one_subject);
    tcase_add_test(tc, test_store_login_other_subject_replaces_session);
    tcase_add_test(tc, test_store_login_fresh_ids_every_time);
    tcase_add_test(tc, test_store_login_bad_subject);
    tcase_add_test(tc, test_store_login_subject_is_utf8);
    tcase_add_test(tc, test_store_join_records_clients);
    tcase_add_test(tc, test_store_join_without_session);
    tcase_add_test(tc, test_store_join_limits);
    tcase_add_test(tc, test_store_lookup_by_sid_and_sub);
    tcase_add_test(tc, test_store_end_once);
    tcase_add_test(tc, test_store_counts_deliveries);
    tcase_add_test(tc, test_store_idle_expiry);
    tcase_add_test(tc, test_store_lookup_without_touch);
    tcase_add_test(tc, test_store_lifetime_expiry);
    tcase_add_test(tc, test_store_no_timeouts);
    tcase_add_test(tc, test_store_full_evicts_least_recently_used);
    tcase_add_test(tc, test_store_eviction_is_least_recently_used);
    tcase_add_test(tc, test_store_full_drops_expired_first);
    tcase_add_test(tc, test_store_full_join_reports_evictions);
    tcase_add_test(tc, test_store_join_in_place);
    tcase_add_test(tc, test_store_full_join_keeps_own_session);
    tcase_add_test(tc, test_store_zone_check);
    tcase_add_test(tc, test_store_bad_handles);
    tcase_add_test(tc, test_store_many_sessions);
    suite_add_tcase(s, tc);

    TCase *tc_arena = tcase_create("arena");
    tcase_set_timeout(tc_arena, CHECK_TIMEOUT);
    tcase_add_test(tc_arena, test_store_arena_too_small);
    suite_add_tcase(s, tc_arena);
    return s;
}
