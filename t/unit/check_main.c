/*
 * The unit test runner: every suite of the core; exits non-zero on failure.
 */

#include "check_suites.h"

#include <stdlib.h>

int
main(void)
{
    int failed;
    SRunner *sr = srunner_create(url_suite());

    srunner_add_suite(sr, allowlist_suite());
    srunner_add_suite(sr, clients_suite());
    srunner_add_suite(sr, endpoint_suite());
    srunner_add_suite(sr, open_redirect_suite());
    srunner_add_suite(sr, store_suite());
    srunner_add_suite(sr, store_shared_suite());
    srunner_add_suite(sr, store_crash_suite());
    srunner_add_suite(sr, store_outbox_suite());
    srunner_add_suite(sr, store_cluster_suite());
    srunner_add_suite(sr, jose_suite());
    srunner_add_suite(sr, logout_suite());
    srunner_add_suite(sr, frontchannel_suite());
    srunner_add_suite(sr, backchannel_suite());
    srunner_add_suite(sr, decide_suite());
    srunner_add_suite(sr, provider_suite());
    srunner_add_suite(sr, keys_url_suite());
    srunner_add_suite(sr, metrics_suite());
    srunner_add_suite(sr, received_logout_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
