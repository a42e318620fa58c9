/*
 * The session store shared by processes: a shared mapping, a
 * process-shared lock, several processes logging in, joining, looking up
 * and ending sessions at once; then every invariant is checked.
 */

#include "check_suites.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCS 4
#define PER_PROC 2000
#define REGION (32 << 20)
#define CLASSES 22

/* Everything processes share, at the start of the mapping. */
typedef struct {
    pthread_mutex_t mutex;
    size_t bump;                       /* offset of the first unused byte */
    void *free_list[CLASSES];          /* blocks of 16 << class bytes */
    atomic_int ready;                  /* processes done with their logins */
    atomic_int ended[PROCS][PER_PROC]; /* OL_OK ends of each session */
    atomic_int failures;               /* broken expectations, by any process */
    char handle[PROCS][PER_PROC][OL_ID_TEXT_LEN + 1];
} shared_t;

static shared_t *shared;

static void *
shm_alloc(void *data, size_t size)
{
    int c = 0;
    size_t *p;

    (void)data;
    while ((size_t)16 << c < size + 16) {
        c++;
    }
    if (c >= CLASSES) {
        return NULL;
    }
    if (shared->free_list[c] != NULL) {
        p = shared->free_list[c];
        shared->free_list[c] = *(void **)(p + 2);
    } else {
        if (shared->bump + ((size_t)16 << c) > REGION) {
            return NULL;
        }
        p = (size_t *)((char *)shared + shared->bump);
        shared->bump += (size_t)16 << c;
    }
    p[0] = (size_t)c;
    return p + 2;
}

static void
shm_free(void *data, void *ptr)
{
    size_t *p = (size_t *)ptr - 2;

    (void)data;
    *(void **)ptr = shared->free_list[p[0]];
    shared->free_list[p[0]] = p;
}

static void
shm_lock(void *data)
{
    (void)data;
    pthread_mutex_lock(&shared->mutex);
}

static void
shm_unlock(void *data)
{
    (void)data;
    pthread_mutex_unlock(&shared->mutex);
}

static const ol_arena arena = {NULL,     shm_alloc,  shm_free,
                               shm_lock, shm_unlock, NULL};

static void
expect(int ok)
{
    if (!ok) {
        atomic_fetch_add(&shared->failures, 1);
    }
}

/* One process: its logins and joins, then ending everybody's sessions. */
static void
worker(ol_store *store, int me)
{
    int i, p, k;
    char sub[32];
    ol_login_result r;
    ol_session_info info;

    for (i = 0; i < PER_PROC; i++) {
        snprintf(sub, sizeof(sub), "proc%d-user%02d", me, i % 50);
        expect(ol_session_login(store, &arena, NULL, 0, sub, strlen(sub), 1000,
                                &r, NULL, 0) == OL_OK);
        memcpy(shared->handle[me][i], r.handle, OL_ID_TEXT_LEN + 1);
        expect(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN, "app1",
                               4, 1000, NULL, NULL) == OL_OK);
        expect(ol_session_join(store, &arena, r.handle, OL_ID_TEXT_LEN,
                               "app-two", 7, 1000, &info, NULL) == OL_OK);
        expect(info.client_count == 2 && strcmp(info.sub, sub) == 0);
    }
    atomic_fetch_add(&shared->ready, 1);
    while (atomic_load(&shared->ready) < PROCS) {
        sched_yield();
    }

    /* every process races to end every session, each in its own order */
    for (k = 0; k < PROCS * PER_PROC; k++) {
        int n = (k * 7919 + me * 104729) % (PROCS * PER_PROC);
        const char *h;

        p = n / PER_PROC;
        i = n % PER_PROC;
        h = shared->handle[p][i];
        ol_session_find(store, &arena, h, OL_ID_TEXT_LEN, 1001, 1, NULL);
        if (ol_session_end(store, &arena, h, OL_ID_TEXT_LEN, 1001, NULL) ==
            OL_OK) {
            atomic_fetch_add(&shared->ended[p][i], 1);
        }
        /* once ended, by anyone, it never passes again */
        expect(ol_session_find(store, &arena, h, OL_ID_TEXT_LEN, 1002, 1,
                               NULL) == OL_DENIED);
        expect(ol_session_join(store, &arena, h, OL_ID_TEXT_LEN, "app3", 4,
                               1002, NULL, NULL) == OL_DENIED);
    }
}

START_TEST(test_store_shared_by_processes)
{
    pthread_mutexattr_t attr;
    ol_store *store;
    ol_store_stats st;
    pid_t pids[PROCS];
    int i, p, status;

    shared = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(shared, MAP_FAILED);
    memset(shared, 0, sizeof(*shared));
    shared->bump = (sizeof(*shared) + 15) & ~(size_t)15;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&shared->mutex, &attr);

    store = ol_store_create(&arena, REGION);
    ck_assert_ptr_nonnull(store);
    ol_store_configure(store, &arena, 1800, 28800, 1);

    for (p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            worker(store, p);
            _exit(0);
        }
    }
    for (p = 0; p < PROCS; p++) {
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "process %d failed", p);
    }

    ck_assert_int_eq(atomic_load(&shared->failures), 0);
    for (p = 0; p < PROCS; p++) {
        for (i = 0; i < PER_PROC; i++) {
            ck_assert_msg(atomic_load(&shared->ended[p][i]) == 1,
                          "session %d/%d ended %d times", p, i,
                          atomic_load(&shared->ended[p][i]));
        }
    }
    ck_assert_ptr_null(ol_store_verify(store, &arena));
    ol_store_get_stats(store, &arena, &st);
    ck_assert_uint_eq(st.created, PROCS * PER_PROC);
    ck_assert_uint_eq(st.ended, PROCS * PER_PROC);
    ck_assert_uint_eq(st.sessions, 0);
    ck_assert_uint_eq(st.evicted + st.alloc_failures, 0);
    munmap(shared, REGION);
}
END_TEST

Suite *
store_shared_suite(void)
{
    Suite *s = suite_create("store_shared");
    TCase *tc = tcase_create("processes");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_store_shared_by_processes);
    suite_add_tcase(s, tc);
    return s;
}
