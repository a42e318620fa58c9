/*
 * A writer killed at any instruction of an update: a forked process runs
 * one store operation under ptrace, is single-stepped into the locked
 * section and killed there, instruction after instruction.  The lock is
 * then released for it (as nginx's master does), and the store must be
 * whole: every index consistent, and every session either as it was before
 * the operation or as the operation leaves it.  Nothing ended comes back.
 */

#include "check_suites.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION (1 << 20)
#define SLOTS 48
#define KNOWN 64
#define NOW 2000
/* when the test looks: nothing has expired yet */
#define LOOK (NOW - 350)

/* What the processes share, at the start of the mapping. */
typedef struct {
    volatile int owner; /* pid holding the lock, 0 when free */
    volatile int stop_in_lock;
    size_t bump;
    int repaired;
    int damaged;
} shared_t;

static shared_t *shared;
static char *snapshot;  /* the store as setup made it */
static char *cut_short; /* as a killed writer left it */

static void *
shm_alloc(void *data, size_t size)
{
    char *p = (char *)shared + shared->bump;

    (void)data;
    size = (size + 15) & ~(size_t)15;
    if (shared->bump + size > REGION) {
        return NULL;
    }
    shared->bump += size;
    return p;
}

static void
shm_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void
shm_lock(void *data)
{
    (void)data;
    while (!__sync_bool_compare_and_swap(&shared->owner, 0, getpid())) {
        /* only one process runs at a time here */
    }
    if (shared->stop_in_lock) {
        /* the tracer single-steps from here */
        shared->stop_in_lock = 0;
        raise(SIGSTOP);
    }
}

static void
shm_unlock(void *data)
{
    (void)data;
    shared->owner = 0;
}

static void
shm_report(void *data, int damaged, const char *what)
{
    (void)data;
    if (damaged) {
        shared->damaged++;
    } else if (strstr(what, "undid") != NULL) {
        shared->repaired++;
    } /* else deliveries given up or dropped */
}

static const ol_arena arena = {NULL,     shm_alloc,  shm_free,
                               shm_lock, shm_unlock, shm_report};
static ol_store *store;

/* Sessions the test knows by handle: live ones, expired ones and ended
 * ones. */
static char known[KNOWN][OL_ID_TEXT_LEN + 1];
static int known_count;

typedef struct {
    int present;
    ol_session_info info;
} session_view;

typedef struct {
    session_view known[KNOWN];
    size_t new_subject; /* sessions of the operation's new subject */
    uint64_t sessions;
    uint64_t pending; /* deliveries waiting in the outbox */
} store_view;

static void
remember(const char *handle)
{
    memcpy(known[known_count++], handle, OL_ID_TEXT_LEN + 1);
}

static ol_login_result
login(const char *sub, uint64_t now)
{
    ol_login_result r;

    ck_assert_int_eq(ol_session_login(store, &arena, NULL, 0, sub, strlen(sub),
                                      now, &r, NULL, 0),
                     OL_OK);
    remember(r.handle);
    return r;
}

static void
join(const char *handle, const char *client, uint64_t now)
{
    ck_assert_int_eq(ol_session_join(store, &arena, handle, OL_ID_TEXT_LEN,
                                     client, strlen(client), now, NULL, NULL),
                     OL_OK);
}

/* A full store: expired sessions at the old end, then live ones, some
 * taking two slots; two ended sessions, whose clients wait in the
 * outbox. */
static void
setup(void)
{
    char sub[256];
    ol_store_stats st;
    int i;

    shared = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(shared, MAP_FAILED);
    memset(shared, 0, sizeof(*shared));
    shared->bump = 64;
    store = ol_store_create(&arena, SLOTS * 256);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 300, 0, 1);
    known_count = 0;

    for (i = 0; i < 3; i++) {
        login("expired-user", NOW - 400);
        join(known[known_count - 1], "app-one", NOW - 400);
    }
    for (i = 0; i < 2; i++) {
        ol_login_result r = login("ended-user", NOW - 100);
        join(r.handle, "app-one", NOW - 100);
        join(r.handle, "app-two", NOW - 100);
        ck_assert_int_eq(ol_session_end(store, &arena, r.handle, OL_ID_TEXT_LEN,
                                        NOW - 100, NULL),
                         OL_OK);
    }
    /* full: every slot taken */
    ol_store_get_stats(store, &arena, &st);
    for (i = 0; st.slots_free > 0; i++) {
        size_t len = st.slots_free >= 2 && i % 6 == 0 ? 180 : 8;
        ck_assert_int_lt(known_count, KNOWN);
        memset(sub, 'a' + i % 26, len);
        sub[len] = '\0';
        login(sub, NOW - 200 + i);
        if (i % 4 == 0) {
            join(known[known_count - 1], "app-one", NOW - 200 + i);
        }
        ol_store_get_stats(store, &arena, &st);
    }
    ck_assert_ptr_null(ol_store_verify(store, &arena));

    snapshot = malloc(REGION);
    ck_assert_ptr_nonnull(snapshot);
    memcpy(snapshot, shared, REGION);
    cut_short = malloc(REGION);
    ck_assert_ptr_nonnull(cut_short);
}

static void
teardown(void)
{
    free(snapshot);
    free(cut_short);
    munmap(shared, REGION);
}

/* A copy of the store back; the counters of the shared header stay. */
static void
restore_from(const char *copy)
{
    memcpy((char *)shared + 64, copy + 64, REGION - 64);
}

static void
restore(void)
{
    restore_from(snapshot);
}

static void
view(store_view *v, const char *new_subject)
{
    ol_store_stats st;
    int i;

    memset(v, 0, sizeof(*v));
    for (i = 0; i < known_count; i++) {
        v->known[i].present =
            ol_session_find(store, &arena, known[i], OL_ID_TEXT_LEN, LOOK, 0,
                            &v->known[i].info) == OL_OK;
    }
    v->new_subject = ol_session_list_by_sub(store, &arena, new_subject,
                                            strlen(new_subject), LOOK, NULL, 1);
    ol_store_get_stats(store, &arena, &st);
    v->sessions = st.sessions;
    v->pending = st.pending;
}

/* The subject whose new session the operation gives a random sid (on the
 * same handle): the run that was not killed made another one.  NULL when
 * sids are to match. */
static const char *random_sid_of;

static int
same_session(const session_view *a, const session_view *b)
{
    if (a->present != b->present) {
        return 0;
    }
    return !a->present || ((strcmp(a->info.sid, b->info.sid) == 0 ||
                            (random_sid_of != NULL &&
                             strcmp(b->info.sub, random_sid_of) == 0)) &&
                           strcmp(a->info.sub, b->info.sub) == 0 &&
                           a->info.last_used == b->info.last_used &&
                           a->info.client_count == b->info.client_count &&
                           memcmp(a->info.clients, b->info.clients,
                                  sizeof(a->info.clients)) == 0 &&
                           memcmp(a->info.provider_sids, b->info.provider_sids,
                                  sizeof(a->info.provider_sids)) == 0);
}

typedef enum {
    OP_LOGIN_NEW,      /* two slots: drops expired sessions for them */
    OP_LOGIN_EVICT,    /* two slots, nothing expires: forces out the oldest */
    OP_LOGIN_SAME,     /* a fresh handle for the same session */
    OP_LOGIN_OTHER,    /* ends the cookie's session, starts another */
    OP_JOIN_GROW,      /* one more slot: drops an expired session for it */
    OP_JOIN_EVICT,     /* one more slot, nothing expires: forces one out */
    OP_JOIN_IN_PLACE,  /* fits its slot */
    OP_END,            /* logout */
    OP_TOUCH,          /* moves to the newest end */
    OP_EXPIRED_LOOKUP, /* drops expired sessions on the way */
    OP_LEARN_BIND,     /* a provider sid: the session moves to new slots */
    OP_LEARN_OTHER,    /* another subject: a new session on the handle */
    OP_SWEEP,          /* expired sessions into the outbox */
    OP_CLAIM,          /* a worker takes the outbox's due sessions */
    OP_SETTLE_PART,    /* one client through: the rest in fresh slots */
    OP_GIVE_UP,        /* too old: the outbox drops them */
    OP_VERIFY,         /* takes the lock: repairs what is left */
} operation;

/* the pending session claimed by prepare(), for OP_SETTLE_PART */
static uint64_t claimed_ref;

/* two slots' worth */
static const char *const op_subject =
    "crash-test-subject-0123456789-0123456789-0123456789-0123456789-"
    "0123456789-0123456789-0123456789-0123456789-0123456789-0123456789-"
    "0123456789-0123456789-0123456789-0123456789";

/* What an operation needs first, outside the stop in its lock. */
static void
prepare(operation op, ol_session_info *info)
{
    if (op == OP_LOGIN_SAME || op == OP_LOGIN_OTHER || op == OP_LEARN_BIND) {
        ck_assert_int_eq(ol_session_find(store, &arena, known[known_count - 6],
                                         OL_ID_TEXT_LEN, LOOK, 0, info),
                         OL_OK);
    }
    if (op == OP_LOGIN_EVICT || op == OP_JOIN_EVICT) {
        ol_store_configure(store, &arena, 0, 0, 1);
    }
    if (op == OP_SETTLE_PART) {
        ck_assert_uint_eq(ol_pending_claim(store, &arena, NOW, 30, 0, 1,
                                           &claimed_ref, NULL, info),
                          1);
        ck_assert_uint_eq(info->client_count, 2);
    }
}

static void
run(operation op, ol_session_info *info)
{
    const char *live = known[known_count - 6];
    const char *oldest_live = known[5];
    char client[201];
    ol_login_result r;

    switch (op) {
    case OP_LOGIN_NEW:
    case OP_LOGIN_EVICT:
        ol_session_login(store, &arena, NULL, 0, op_subject, strlen(op_subject),
                         NOW, &r, NULL, 0);
        break;
    case OP_LOGIN_SAME:
        ol_session_login(store, &arena, live, OL_ID_TEXT_LEN, info->sub,
                         info->sub_len, NOW, &r, NULL, 0);
        break;
    case OP_LOGIN_OTHER:
        ol_session_login(store, &arena, live, OL_ID_TEXT_LEN, op_subject,
                         strlen(op_subject), NOW, &r, NULL, 0);
        break;
    case OP_JOIN_GROW:
    case OP_JOIN_EVICT:
        memset(client, 'c', 200);
        ol_session_join(store, &arena, live, OL_ID_TEXT_LEN, client, 200, NOW,
                        NULL, NULL);
        break;
    case OP_JOIN_IN_PLACE:
        ol_session_join(store, &arena, live, OL_ID_TEXT_LEN, "app-two", 7, NOW,
                        NULL, NULL);
        break;
    case OP_END:
        ol_session_end(store, &arena, live, OL_ID_TEXT_LEN, NOW, NULL);
        break;
    case OP_TOUCH:
        ol_session_find(store, &arena, oldest_live, OL_ID_TEXT_LEN, NOW, 1,
                        NULL);
        break;
    case OP_EXPIRED_LOOKUP:
        ol_session_list_by_sub(store, &arena, "expired-user", 12, NOW, NULL, 8);
        break;
    case OP_LEARN_BIND:
        memset(client, 'p', 200);
        ol_session_learn(store, &arena, live, OL_ID_TEXT_LEN, "app-two", 7,
                         client, 200, info->sub, info->sub_len, NOW);
        break;
    case OP_LEARN_OTHER:
        ol_session_learn(store, &arena, live, OL_ID_TEXT_LEN, "app-two", 7,
                         "provider-sid", 12, op_subject, strlen(op_subject),
                         NOW);
        break;
    case OP_SWEEP:
        ol_store_sweep(store, &arena, NOW, 1 << 20);
        break;
    case OP_CLAIM:
        ol_pending_claim(store, &arena, NOW, 30, 0, 1, &claimed_ref, NULL,
                         info);
        break;
    case OP_SETTLE_PART: {
        const char *done[] = {"app-one"};
        ol_pending_settle(store, &arena, claimed_ref, 0, info->sid, done, 1,
                          NOW + 10);
        break;
    }
    case OP_GIVE_UP:
        ol_pending_claim(store, &arena, NOW, 30, 50, 1, &claimed_ref, NULL,
                         info);
        break;
    case OP_VERIFY:
        ol_store_verify(store, &arena);
        break;
    }
}

static void
child(operation op)
{
    ol_session_info info;

    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    prepare(op, &info);
    shared->stop_in_lock = 1;
    run(op, &info);
    _exit(0);
}

/* Runs op in a traced child; kills it after steps instructions of its
 * locked section (never, when steps < 0).  Returns the instructions it
 * took inside, counted to its exit, or -1 when it was killed. */
static long
traced(operation op, long steps)
{
    int status;
    long n = 0;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child(op);
    }
    /* the stop before the operation, then the stop in its lock */
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSTOPPED(status));
    ck_assert_int_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    ck_assert_int_eq(shared->owner, pid);

    while (steps < 0 || n < steps) {
        if (shared->owner != pid && steps < 0) {
            break; /* out of the locked section: counted */
        }
        ck_assert_int_eq(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            return n;
        }
        n++;
    }
    if (steps < 0) {
        ptrace(PTRACE_CONT, pid, NULL, NULL);
        waitpid(pid, &status, 0);
        return n;
    }
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* what nginx's master does for a worker that died holding a lock */
    __sync_bool_compare_and_swap(&shared->owner, pid, 0);
    return -1;
}

/* The kill point after step: stride on, and each of the last five steps
 * (the commit, the unlock) whatever the stride. */
static long
next_step(long step, long stride, long total)
{
    long tail = total - 5;

    if (step >= tail) {
        return step + 1;
    }
    return step + stride > tail ? tail : step + stride;
}

static void
kill_everywhere(operation op)
{
    store_view before, after, now;
    long total, step, stride;
    int i, kills = 0, repaired_before;

    random_sid_of = op == OP_LEARN_OTHER ? op_subject : NULL;
    view(&before, op_subject);
    restore();
    total = traced(op, -1);
    ck_assert_int_gt(total, 10);
    ck_assert_ptr_null(ol_store_verify(store, &arena));
    view(&after, op_subject);
    restore();
    if (op == OP_LOGIN_EVICT || op == OP_JOIN_EVICT || op == OP_LOGIN_NEW ||
        op == OP_JOIN_GROW) {
        /* the store was full: the operation made room */
        int gone = 0;
        for (i = 0; i < known_count; i++) {
            gone += before.known[i].present && !after.known[i].present;
        }
        ck_assert_int_gt(gone, 0);
    }

    /* every instruction of short sections, about 400 points of long ones */
    /* kill points spread evenly: about 60,000 single steps an operation
     * (a step costs a few microseconds), so every instruction of sections
     * under 350 instructions, every 4th of one of 1,000 */
    stride = total * total / 120000 + 1;
    for (step = 1; step <= total; step = next_step(step, stride, total)) {
        repaired_before = shared->repaired;
        if (traced(op, step) != -1) {
            continue;
        }
        kills++;
        /* the next lock holder repairs, and the store is whole */
        ck_assert_msg(ol_store_verify(store, &arena) == NULL,
                      "op %d killed at step %ld of %ld: %s", op, step, total,
                      ol_store_verify(store, &arena));
        ck_assert_int_eq(shared->damaged, 0);
        ck_assert_int_le(shared->repaired, repaired_before + 1);
        view(&now, op_subject);
        for (i = 0; i < known_count; i++) {
            ck_assert_msg(same_session(&now.known[i], &before.known[i]) ||
                              same_session(&now.known[i], &after.known[i]),
                          "op %d killed at step %ld of %ld: session %d is "
                          "neither as before nor as after",
                          op, step, total, i);
        }
        ck_assert_uint_le(now.new_subject, after.new_subject);
        /* the outbox is as before, as after, or on its way */
        ck_assert_uint_ge(now.pending, before.pending < after.pending
                                           ? before.pending
                                           : after.pending);
        ck_assert_uint_le(now.pending, before.pending > after.pending
                                           ? before.pending
                                           : after.pending);
        /* nothing is counted that is not there, nothing there uncounted */
        {
            uint64_t present = now.new_subject;
            for (i = 0; i < known_count; i++) {
                present += (uint64_t)now.known[i].present;
            }
            if (op == OP_LEARN_OTHER) {
                /* the cookie's new session is both a known one and the
                 * new subject's */
                ck_assert_uint_eq(now.sessions, present - now.new_subject);
            } else if (op != OP_LOGIN_SAME) {
                ck_assert_uint_eq(now.sessions, present);
            } else {
                ck_assert_uint_ge(now.sessions, present);
            }
        }
        restore();
    }
    ck_assert_int_gt(kills, 0);
    ck_assert_int_gt(shared->repaired, 0);
}

START_TEST(test_store_crash_login_new)
{
    kill_everywhere(OP_LOGIN_NEW);
}
END_TEST

START_TEST(test_store_crash_learn_bind)
{
    kill_everywhere(OP_LEARN_BIND);
}
END_TEST

START_TEST(test_store_crash_learn_other)
{
    kill_everywhere(OP_LEARN_OTHER);
}
END_TEST

START_TEST(test_store_crash_login_same)
{
    kill_everywhere(OP_LOGIN_SAME);
}
END_TEST

START_TEST(test_store_crash_login_other)
{
    kill_everywhere(OP_LOGIN_OTHER);
}
END_TEST

START_TEST(test_store_crash_join_grow)
{
    kill_everywhere(OP_JOIN_GROW);
}
END_TEST

START_TEST(test_store_crash_join_in_place)
{
    kill_everywhere(OP_JOIN_IN_PLACE);
}
END_TEST

START_TEST(test_store_crash_end)
{
    kill_everywhere(OP_END);
}
END_TEST

START_TEST(test_store_crash_touch)
{
    kill_everywhere(OP_TOUCH);
}
END_TEST

START_TEST(test_store_crash_expired_lookup)
{
    kill_everywhere(OP_EXPIRED_LOOKUP);
}
END_TEST

START_TEST(test_store_crash_login_evict)
{
    kill_everywhere(OP_LOGIN_EVICT);
}
END_TEST

START_TEST(test_store_crash_join_evict)
{
    kill_everywhere(OP_JOIN_EVICT);
}
END_TEST

START_TEST(test_store_crash_sweep)
{
    kill_everywhere(OP_SWEEP);
}
END_TEST

START_TEST(test_store_crash_claim)
{
    kill_everywhere(OP_CLAIM);
}
END_TEST

START_TEST(test_store_crash_settle_part)
{
    kill_everywhere(OP_SETTLE_PART);
}
END_TEST

START_TEST(test_store_crash_give_up)
{
    kill_everywhere(OP_GIVE_UP);
}
END_TEST

/* A writer dies half-way through a logout; then the process that repairs
 * the store dies too, at many points of the repair: the next one finishes
 * it, and the logout is undone. */
START_TEST(test_store_crash_in_repair)
{
    store_view before, now;
    long total, step, stride, repair = 0;
    int i, repaired, kills = 0;

    view(&before, op_subject);
    restore();
    total = traced(OP_END, -1);
    for (step = total / 2; step < total && repair == 0; step++) {
        restore();
        if (traced(OP_END, step) != -1) {
            continue;
        }
        memcpy(cut_short, shared, REGION);
        repaired = shared->repaired;
        total = traced(OP_VERIFY, -1);
        if (shared->repaired > repaired) {
            repair = total;
        }
    }
    ck_assert_int_gt(repair, 10);
    stride = repair * repair / 120000 + 1;
    for (step = 1; step <= repair; step += stride) {
        restore_from(cut_short);
        if (traced(OP_VERIFY, step) != -1) {
            continue;
        }
        kills++;
        ck_assert_ptr_null(ol_store_verify(store, &arena));
        ck_assert_int_eq(shared->damaged, 0);
        view(&now, op_subject);
        for (i = 0; i < known_count; i++) {
            ck_assert_msg(same_session(&now.known[i], &before.known[i]),
                          "repair killed at step %ld of %ld: session %d "
                          "changed",
                          step, repair, i);
        }
    }
    ck_assert_int_gt(kills, 0);
}
END_TEST

/* The 16 bytes of a session id as the store keeps them. */
static void
raw_sid(const char *text, unsigned char out[16])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long bits = 0;
    int have = 0, n = 0;

    for (const char *p = text; *p && n < 16; p++) {
        bits = bits << 6 | (unsigned long)(strchr(alphabet, *p) - alphabet);
        have += 6;
        if (have >= 8) {
            have -= 8;
            out[n++] = (unsigned char)(bits >> have);
        }
    }
}

/* A writer dies, and the store is found damaged besides (a session's LRU
 * link points nowhere): the next lock holder empties it, says so, and the
 * store works again; no session comes back. */
START_TEST(test_store_crash_damage_empties)
{
    ol_session_info info;
    ol_store_stats st;
    unsigned char sid[16];
    char *slot = NULL;
    long total, step;
    int i;

    total = traced(OP_TOUCH, -1);
    for (step = total / 3; step < total && shared->damaged == 0; step++) {
        restore();
        ck_assert_int_eq(ol_session_find(store, &arena, known[20],
                                         OL_ID_TEXT_LEN, NOW, 0, &info),
                         OL_OK);
        if (traced(OP_TOUCH, step) != -1) {
            continue;
        }
        raw_sid(info.sid, sid);
        for (size_t off = 0; off + 16 <= REGION && slot == NULL; off += 8) {
            if (memcmp((char *)shared + off, sid, 16) == 0) {
                slot = (char *)shared + off - 72; /* the sid's offset */
            }
        }
        ck_assert_ptr_nonnull(slot);
        memset(slot + 40, 0x7f, 8); /* lru_older */
        slot = NULL;
        /* the damage is looked for when a change was cut short */
        const char *why = ol_store_verify(store, &arena);
        ck_assert_msg(why == NULL || shared->damaged == 0, "step %ld: %s", step,
                      why);
    }
    ck_assert_int_eq(shared->damaged, 1);
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.sessions, 0);
    ck_assert_uint_eq(st.rebuilt, 1);
    ck_assert_uint_eq(st.slots_free, st.slots);
    for (i = 0; i < known_count; i++) {
        ck_assert_int_eq(ol_session_find(store, &arena, known[i],
                                         OL_ID_TEXT_LEN, NOW, 0, NULL),
                         OL_DENIED);
    }
    login("after-the-damage", NOW);
    ck_assert_ptr_null(ol_store_verify(store, &arena));
}
END_TEST

Suite *
store_crash_suite(void)
{
    Suite *s = suite_create("store_crash");
    TCase *tc = tcase_create("killed");

    tcase_set_timeout(tc, CHECK_TIMEOUT * 4);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_crash_login_new);
    tcase_add_test(tc, test_store_crash_login_evict);
    tcase_add_test(tc, test_store_crash_login_same);
    tcase_add_test(tc, test_store_crash_login_other);
    tcase_add_test(tc, test_store_crash_join_grow);
    tcase_add_test(tc, test_store_crash_join_evict);
    tcase_add_test(tc, test_store_crash_join_in_place);
    tcase_add_test(tc, test_store_crash_end);
    tcase_add_test(tc, test_store_crash_touch);
    tcase_add_test(tc, test_store_crash_expired_lookup);
    tcase_add_test(tc, test_store_crash_learn_bind);
    tcase_add_test(tc, test_store_crash_learn_other);
    tcase_add_test(tc, test_store_crash_sweep);
    tcase_add_test(tc, test_store_crash_claim);
    tcase_add_test(tc, test_store_crash_settle_part);
    tcase_add_test(tc, test_store_crash_give_up);
    tcase_add_test(tc, test_store_crash_in_repair);
    tcase_add_test(tc, test_store_crash_damage_empties);
    suite_add_tcase(s, tc);
    return s;
}
