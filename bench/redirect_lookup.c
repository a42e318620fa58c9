/*
 * The cost of one redirect check (ol_allowlist_check) against lists of
 * 10, 1,000 and 100,000 registered URLs, half of them wildcards; prints
 * nanoseconds per check and the ratio to the smallest list.
 */

#define _POSIX_C_SOURCE 199309L

#include "oidc_logout_core_test.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECKS 400000

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double
ns_per_check(int registered)
{
    static char hits[16][128], misses[16][128];
    char url[128], err[256];
    ol_allowlist *list;
    double start, elapsed;
    int i, ok = 0;

    if (ol_allowlist_new(&list) != OL_OK) {
        return -1;
    }
    for (i = 0; i < registered; i++) {
        snprintf(url, sizeof(url),
                 i % 2 ? "https://*.t%d.example.com/bye"
                       : "https://h%d.example.com/bye",
                 i);
        if (ol_allowlist_add(list, url, strlen(url), err, sizeof(err)) !=
            OL_OK) {
            fprintf(stderr, "%s: %s\n", url, err);
            return -1;
        }
    }
    for (i = 0; i < 16; i++) {
        int k = (i * 7919) % registered;
        snprintf(hits[i], sizeof(hits[i]),
                 k % 2 ? "https://eu.t%d.example.com/bye?x=1"
                       : "https://h%d.example.com/bye?x=1",
                 k);
        snprintf(misses[i], sizeof(misses[i]),
                 "https://h%d.example.com/Bye?x=1", k);
    }

    start = now_ns();
    for (i = 0; i < CHECKS; i++) {
        const char *u = (i & 1) ? hits[i & 15] : misses[i & 15];
        ok += ol_allowlist_check(list, u, strlen(u), err, sizeof(err)) == OL_OK;
    }
    elapsed = now_ns() - start;
    ol_allowlist_free(list);

    if (ok != CHECKS / 2) {
        fprintf(stderr, "unexpected results: %d of %d allowed\n", ok, CHECKS);
        return -1;
    }
    return elapsed / CHECKS;
}

int
main(void)
{
    static const int sizes[] = {10, 1000, 100000};
    double base = 0;
    size_t i;

    printf("%-12s %12s %8s\n", "registered", "ns/check", "ratio");
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        double ns = ns_per_check(sizes[i]);
        if (ns < 0) {
            return 1;
        }
        if (i == 0) {
            base = ns;
        }
        printf("%-12d %12.1f %8.2f\n", sizes[i], ns, ns / base);
    }
    return 0;
}
