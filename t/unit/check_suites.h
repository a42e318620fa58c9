/*
 * Check suites of the core, driven through its C ABI; one suite per area.
 */

#ifndef CHECK_SUITES_H
#define CHECK_SUITES_H

#include <check.h>

#include "oidc_logout_core_test.h"

Suite *url_suite(void);
Suite *allowlist_suite(void);
Suite *clients_suite(void);
Suite *endpoint_suite(void);
Suite *open_redirect_suite(void);
Suite *store_suite(void);
Suite *store_shared_suite(void);
Suite *store_crash_suite(void);
Suite *store_outbox_suite(void);
Suite *store_cluster_suite(void);
Suite *jose_suite(void);
Suite *logout_suite(void);
Suite *frontchannel_suite(void);
Suite *backchannel_suite(void);
Suite *decide_suite(void);
Suite *provider_suite(void);
Suite *keys_url_suite(void);
Suite *metrics_suite(void);
Suite *received_logout_suite(void);

/* Helpers shared by the suites (check_util.c). */

/* A registry from inline JSON; fails the test when it does not load. */
ol_clients *clients_from(const char *json);

/* The logout response to params (a query string). */
ol_response *logout(ol_mode mode, const ol_clients *clients,
                    const ol_allowlist *tenant, const char *params);

/* The value of a response header as a new string, or NULL. */
char *response_header(const ol_response *resp, const char *name);

/* The body (or log reason) of a response as a new string. */
char *response_body(const ol_response *resp);
char *response_log(const ol_response *resp);

/* A session as ol_session_end reports it: sid, sub and count client ids
 * given as "a\0b" (ids_len bytes). */
void session_info(ol_session_info *info, const char *sid, const char *sub,
                  const char *ids, size_t ids_len, size_t count);
/* The ids argument of session_info from a literal: "a\0b" and its size. */
#define IDS(literal) literal, sizeof(literal)

/* Percent-encodes every byte but unreserved ones, into a new string. */
char *url_encode(const char *in);

struct _cjose_jwk_int;
/* A new random RSA key of 2048 bits with kid. */
struct _cjose_jwk_int *rsa_key(const char *kid);
/* A JWK as JSON, with its private members when with_private.  A new
 * string. */
char *jwk_json(struct _cjose_jwk_int *key, int with_private);

/* A compact JWS of claims signed by key (a cjose_jwk_t) with alg; the
 * key's kid goes in the header.  A new string. */
char *mint_token(struct _cjose_jwk_int *key, const char *alg,
                 const char *claims);
/* The same with claims of len bytes (which may hold a NUL). */
char *mint_token_n(struct _cjose_jwk_int *key, const char *alg,
                   const char *claims, size_t len);
/* mint_token with typ in the header. */
char *mint_typed_token(struct _cjose_jwk_int *key, const char *alg,
                       const char *typ, const char *claims);
/* header.claims.signature of the JSON texts header and claims, with an
 * HMAC-SHA256 signature under secret, or an empty signature when secret is
 * NULL.  A new string. */
char *forge_token(const char *header, const char *claims, const char *secret);

/* Writes text to a new temporary file and returns its path (a static
 * buffer, overwritten by the next call); the caller unlinks it. */
const char *temp_file(const char *text);

/* A process-local arena (malloc, and a lock nobody else takes) whose
 * blocks test_arena_clear frees. */
extern ol_arena test_arena;
/* A key set of one private EC P-256 key of kid, which signs. */
ol_keys *ec_signing_keys(const char *kid);
void test_arena_clear(void);

/* Per-test timeout of every case, in seconds. */
#define CHECK_TIMEOUT 20

#endif /* CHECK_SUITES_H */
